"""What a node remembers about clearing rounds, outside the signed log.

A coordinator keeps the snapshot and proposal of every round it runs and the decision it
took; a participant keeps the proposal it signed until it learns the decision, so that
after a restart it still honours its vote and still holds its lines for the round. The
applied rounds themselves are ``clear`` entries in the log (``cleared_rounds``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

from letsnode.core.errors import InvalidInput

POLICIES = ("accept", "refuse")
STATES = ("empty", "proposing", "voted", "refused", "committed", "aborted")


@dataclass(frozen=True, slots=True)
class RoundRow:
    nonce: bytes
    round_id: bytes | None
    role: str  # "coordinator" or "participant"
    coordinator: bytes
    state: str  # see STATES
    snapshot: bytes | None  # packed [[statement, signature], ...]
    proposal: bytes | None
    votes: bytes | None  # packed [[community_id, signature], ...]
    cleared: int  # the round's total set-off, in minor units
    reason: str  # why it was refused or aborted
    created_ms: int
    decided_ms: int | None

    def decided(self, state: str, now_ms: int, reason: str = "", **changes: object) -> RoundRow:
        return replace(self, state=state, reason=reason, decided_ms=now_ms, **changes)  # type: ignore[arg-type]


class ClearingStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def save(self, row: RoundRow) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO clearing_rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (nonce) DO UPDATE SET round_id = excluded.round_id, "
                "state = excluded.state, snapshot = excluded.snapshot, "
                "proposal = excluded.proposal, votes = excluded.votes, "
                "cleared = excluded.cleared, reason = excluded.reason, "
                "decided_ms = excluded.decided_ms",
                (
                    row.nonce,
                    row.round_id,
                    row.role,
                    row.coordinator,
                    row.state,
                    row.snapshot,
                    row.proposal,
                    row.votes,
                    row.cleared,
                    row.reason,
                    row.created_ms,
                    row.decided_ms,
                ),
            )

    def get(self, nonce: bytes) -> RoundRow | None:
        row = self.conn.execute(
            "SELECT * FROM clearing_rounds WHERE nonce = ?", (nonce,)
        ).fetchone()
        return None if row is None else RoundRow(*row)

    def find(self, prefix: str) -> RoundRow | None:
        """The round whose nonce or round id (hex) starts with ``prefix``; None if none or
        more than one."""
        if any(c not in "0123456789abcdefABCDEF" for c in prefix):
            return None
        pattern = prefix.upper() + "%"
        rows = self.conn.execute(
            "SELECT * FROM clearing_rounds WHERE hex(nonce) LIKE ? OR hex(round_id) LIKE ? LIMIT 2",
            (pattern, pattern),
        ).fetchall()
        return RoundRow(*rows[0]) if len(rows) == 1 else None

    def rounds(self, limit: int = 100) -> list[RoundRow]:
        rows = self.conn.execute(
            "SELECT * FROM clearing_rounds ORDER BY created_ms DESC, nonce LIMIT ?", (limit,)
        )
        return [RoundRow(*row) for row in rows]

    def in_state(self, state: str, role: str) -> list[RoundRow]:
        rows = self.conn.execute(
            "SELECT * FROM clearing_rounds WHERE state = ? AND role = ? ORDER BY created_ms",
            (state, role),
        )
        return [RoundRow(*row) for row in rows]

    def policy(self) -> str:
        row = self.conn.execute(
            "SELECT value FROM clearing_settings WHERE key = 'policy'"
        ).fetchone()
        return "accept" if row is None else str(row[0])

    def set_policy(self, policy: str) -> None:
        if policy not in POLICIES:
            raise InvalidInput(
                f"the clearing policy is one of {', '.join(POLICIES)}, not {policy!r}"
            )
        with self.conn:
            self.conn.execute(
                "INSERT INTO clearing_settings VALUES ('policy', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (policy,),
            )
