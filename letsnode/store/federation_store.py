"""Federation tables that are not the ledger: line proposals, sent prepares, known peers.

The ledger's own line and hold state lives in ``lines`` and ``holds`` (derived from the log,
see ledger_store.py). These tables hold what a node must remember to finish its part of a
protocol after a restart: proposals awaiting an operator, prepares it must re-send, and the
addresses of peers it has met.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Proposal:
    id: str
    line_id: bytes
    version: int
    partner: bytes
    direction: str  # "out": we proposed; "in": the partner proposed
    terms: bytes
    sig_mine: bytes | None
    sig_theirs: bytes | None
    state: str  # pending, accepted (agreement logged), refused
    created_ms: int


def proposal_id(line_id: bytes, version: int) -> str:
    return f"{line_id.hex()[:12]}-{version}"


class FederationStore:
    """Give it a connection of its own in a running node: the ledger's connection belongs
    to the ledger writer (its transactions run in a worker thread)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _write(self, sql: str, args: tuple[object, ...]) -> None:
        with self.conn:
            self.conn.execute(sql, args)

    # -- proposals -------------------------------------------------------------------

    def save_proposal(self, p: Proposal) -> None:
        self._write(
            "INSERT INTO line_proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET sig_mine = excluded.sig_mine, "
            "sig_theirs = excluded.sig_theirs, state = excluded.state",
            (
                p.id,
                p.line_id,
                p.version,
                p.partner,
                p.direction,
                p.terms,
                p.sig_mine,
                p.sig_theirs,
                p.state,
                p.created_ms,
            ),
        )

    def proposals(self) -> list[Proposal]:
        rows = self.conn.execute("SELECT * FROM line_proposals ORDER BY created_ms, id")
        return [Proposal(*row) for row in rows]

    def proposal(self, pid: str) -> Proposal | None:
        row = self.conn.execute("SELECT * FROM line_proposals WHERE id = ?", (pid,)).fetchone()
        return None if row is None else Proposal(*row)

    def hold_row(self, transfer_id: bytes, role: str) -> dict[str, Any] | None:
        """A leg (pending or ended) as stored, with its state and preimage if settled."""
        cur = self.conn.execute(
            "SELECT * FROM holds WHERE transfer_id = ? AND role = ?", (transfer_id, role)
        )
        row = cur.fetchone()
        return None if row is None else dict(zip([c[0] for c in cur.description], row, strict=True))

    # -- prepares we sent and may have to send again ------------------------------------

    def save_outgoing(
        self, transfer_id: bytes, peer: bytes, prepare: bytes, sig: bytes, expiry_ms: int
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO outbox VALUES (?, ?, ?, ?, ?)",
            (transfer_id, peer, prepare, sig, expiry_ms),
        )

    def outgoing(self, transfer_id: bytes) -> tuple[bytes, bytes, bytes] | None:
        row = self.conn.execute(
            "SELECT peer, prepare, signature FROM outbox WHERE transfer_id = ?", (transfer_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    # -- peers -------------------------------------------------------------------------

    def remember_peer(self, community_id: bytes, addrs: list[str], now_ms: int) -> None:
        self._write(
            "INSERT INTO peers VALUES (?, ?, ?) ON CONFLICT (community_id) DO UPDATE SET "
            "addrs = excluded.addrs, last_seen_ms = excluded.last_seen_ms",
            (community_id, json.dumps(sorted(addrs)), now_ms),
        )

    def known_peers(self, only: Collection[bytes] | None = None) -> list[tuple[bytes, list[str]]]:
        """Remembered peers and their addresses, by community id; only those of ``only``."""
        rows = self.conn.execute("SELECT community_id, addrs FROM peers ORDER BY community_id")
        wanted = None if only is None else set(only)
        return [
            (row[0], list(json.loads(row[1]))) for row in rows if wanted is None or row[0] in wanted
        ]

    def forget_strangers(self, keep: Collection[bytes], limit: int) -> None:
        """Keep the rows of ``keep`` and at most ``limit`` others, the most recently seen."""
        keep = set(keep)
        rows = self.conn.execute(
            "SELECT community_id FROM peers ORDER BY last_seen_ms DESC, community_id"
        ).fetchall()
        others = [row[0] for row in rows if row[0] not in keep]
        with self.conn:
            self.conn.executemany(
                "DELETE FROM peers WHERE community_id = ?", [(c,) for c in others[limit:]]
            )
