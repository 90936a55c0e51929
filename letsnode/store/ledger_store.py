"""The ledger's tables: the log (the truth) and what is derived from it for fast reads.

``log`` holds every record exactly as signed. ``accounts`` (balances, limits, nonces) and
``payments`` (for history) are derived and kept incrementally in the same transaction as
the log rows they come from, so they can always be recomputed from the log; ``letsnode
audit`` does exactly that and compares.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import Account, HoldState, LineState
from letsnode.core.wire.bodies import Clear, Hold, LineAgreement, Release, Reveal, Settle
from letsnode.core.wire.clearing import round_key
from letsnode.core.wire.entries import Admit, Entry, Genesis, Limits, Payment, Status
from letsnode.core.wire.lines import TRANSIT, LineTerms


@dataclass(frozen=True, slots=True)
class PaymentRow:
    seq: int
    timestamp_ms: int
    payer: str
    payee: str
    amount: int
    memo: str


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a cross-community transfer as the log records it."""

    transfer_id: bytes
    role: str  # "out": the leg this node sent; "in": the leg it received
    amount: int
    state: str  # pending, settled, rejected, expired
    created: Entry  # the hold entry
    ended: Entry | None  # the settle or release entry, once there is one


def touched_handles(entry: Entry) -> tuple[str, ...]:
    body = entry.body
    if isinstance(body, Payment):
        return (body.order.payer, body.order.payee)
    if isinstance(body, Admit | Limits | Status):
        return (body.handle,)
    return ()


class LedgerStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.conn = db.conn

    # -- reading ---------------------------------------------------------------------

    def is_empty(self) -> bool:
        return self.conn.execute("SELECT 1 FROM log LIMIT 1").fetchone() is None

    def load(self) -> Ledger | None:
        """The ledger state from the derived tables, or None for an empty store."""
        first = self.conn.execute("SELECT data, signature FROM log WHERE seq = 0").fetchone()
        if first is None:
            return None
        genesis = Entry.decode(first[0], first[1]).body
        assert isinstance(genesis, Genesis)
        last = self.conn.execute(
            "SELECT seq, hash, timestamp_ms FROM log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return Ledger.from_snapshot(
            genesis,
            self.accounts(),
            last[0] + 1,
            last[1],
            last[2],
            holds=self.pending_holds(),
            lines=self.lines(),
            finished=self.finished_transfers(),
        )

    def pending_holds(self) -> list[HoldState]:
        rows = self.conn.execute(
            "SELECT transfer_id, role, debit, credit, amount, condition, expiry_ms, revealed "
            "FROM holds WHERE state = 'pending' ORDER BY expiry_ms, transfer_id, role"
        )
        return [
            HoldState(tid, role, debit, credit, amount, condition, expiry, bool(revealed))
            for tid, role, debit, credit, amount, condition, expiry, revealed in rows
        ]

    def finished_transfers(self) -> list[bytes]:
        """The ledger's ``finished`` set: ids of ended transfers, and the keys of applied
        clearing rounds (``round_key``)."""
        rows = self.conn.execute("SELECT DISTINCT transfer_id FROM holds WHERE state != 'pending'")
        rounds = self.conn.execute("SELECT round_id FROM cleared_rounds")
        return [row[0] for row in rows] + [round_key(row[0]) for row in rounds]

    def cleared_rounds(self) -> list[tuple[bytes, int]]:
        """``(round_id, seq)`` of every clearing round this ledger applied, oldest first."""
        rows = self.conn.execute("SELECT round_id, seq FROM cleared_rounds ORDER BY seq")
        return [(row[0], row[1]) for row in rows]

    def lines(self) -> list[LineState]:
        rows = self.conn.execute("SELECT terms, handle, partner FROM lines ORDER BY handle")
        return [LineState(LineTerms.decode(row[0]), row[1], row[2]) for row in rows]

    def accounts(self) -> list[Account]:
        rows = self.conn.execute(
            "SELECT handle, key, kind, floor, ceiling, status, balance, last_nonce, held_out, "
            "held_in "
            "FROM accounts ORDER BY handle"
        )
        return [Account(*row) for row in rows]

    def last_seq(self) -> int | None:
        row = self.conn.execute("SELECT seq FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def head(self) -> bytes | None:
        """The hash of the last entry stored, or None for an empty log."""
        row = self.conn.execute("SELECT hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else bytes(row[0])

    def entries_at(self, seqs: set[int]) -> dict[int, Entry]:
        """The entries at ``seqs`` (decoded, not verified), by seq."""
        if not seqs:
            return {}
        marks = ",".join("?" * len(seqs))
        rows = self.conn.execute(
            f"SELECT data, signature FROM log WHERE seq IN ({marks})", sorted(seqs)
        )
        entries = (Entry.decode(data, sig) for data, sig in rows)
        return {e.seq: e for e in entries}

    def legs(self, handle: str, limit: int) -> list[Leg]:
        """The legs that debit or credit ``handle`` (at most ``limit``), newest first."""
        rows = self.conn.execute(
            "SELECT transfer_id, role, amount, state, created_seq, ended_seq FROM holds "
            "WHERE (role = 'out' AND debit = ?) OR (role = 'in' AND credit = ?) "
            "ORDER BY created_seq DESC LIMIT ?",
            (handle, handle, limit),
        ).fetchall()
        entries = self.entries_at({r[4] for r in rows} | {r[5] for r in rows if r[5] is not None})
        return [
            Leg(tid, role, amount, state, entries[created], entries.get(ended))
            for tid, role, amount, state, created, ended in rows
        ]

    def admission(self, handle: str) -> tuple[bytes, int] | None:
        """The key ``handle`` was admitted with and the seq of its admission, if it was."""
        row = self.conn.execute(
            "SELECT key, admitted_seq FROM accounts WHERE handle = ?", (handle,)
        ).fetchone()
        return None if row is None else (bytes(row[0]), int(row[1]))

    def entry_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM log").fetchone()[0])

    def records(self, start: int = 0, batch: int = 4096) -> Iterator[tuple[bytes, bytes]]:
        """Stream ``(entry_bytes, signature)`` from seq ``start`` on, in seq order."""
        seq = start
        while True:
            rows = self.conn.execute(
                "SELECT seq, data, signature FROM log WHERE seq >= ? ORDER BY seq LIMIT ?",
                (seq, batch),
            ).fetchall()
            for row in rows:
                yield row[1], row[2]
            if len(rows) < batch:
                return
            seq = rows[-1][0] + 1

    def history(self, handle: str | None = None, limit: int | None = None) -> list[PaymentRow]:
        """Payments, newest first; only those of ``handle`` if given."""
        sql = "SELECT seq, timestamp_ms, payer, payee, amount, memo FROM payments"
        args: list[Any] = []
        if handle is not None:
            sql += " WHERE payer = ? OR payee = ?"
            args += [handle, handle]
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [PaymentRow(*row) for row in self.conn.execute(sql, args)]

    # -- writing ---------------------------------------------------------------------

    def commit(self, entries: Sequence[Entry], ledger: Ledger) -> None:
        """Write ``entries`` (already applied to ``ledger``) in one durable transaction.

        When this returns, the entries are on disk: this is the acknowledgement point.
        """
        touched: dict[str, int] = {}  # handle -> first seq that touched it
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO log (seq, hash, timestamp_ms, kind, data, signature) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (e.seq, e.hash, e.timestamp_ms, e.body.KIND, e.data, e.signature)
                    for e in entries
                ],
            )
            payments = []
            for entry in entries:
                for handle in touched_handles(entry):
                    touched.setdefault(handle, entry.seq)
                if isinstance(entry.body, Payment):
                    o = entry.body.order
                    payments.append(
                        (entry.seq, entry.timestamp_ms, o.payer, o.payee, o.amount, o.nonce, o.memo)
                    )
            if payments:
                conn.executemany(
                    "INSERT INTO payments (seq, timestamp_ms, payer, payee, amount, nonce, memo)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    payments,
                )
            for entry in entries:
                for handle in self._write_federation(entry, ledger):
                    touched.setdefault(handle, entry.seq)
            for handle, first_seq in sorted(touched.items()):
                a = ledger.accounts[handle]
                conn.execute(
                    "INSERT INTO accounts (handle, key, kind, floor, ceiling, status, balance, "
                    "last_nonce, held_out, held_in, admitted_seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (handle) DO UPDATE SET "
                    "floor = excluded.floor, ceiling = excluded.ceiling, "
                    "status = excluded.status, balance = excluded.balance, "
                    "last_nonce = excluded.last_nonce, held_out = excluded.held_out, "
                    "held_in = excluded.held_in",
                    (
                        a.handle,
                        a.key,
                        a.kind,
                        a.floor,
                        a.ceiling,
                        a.status,
                        a.balance,
                        a.last_nonce,
                        a.held_out,
                        a.held_in,
                        first_seq,
                    ),
                )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _write_federation(self, entry: Entry, ledger: Ledger) -> tuple[str, ...]:
        """Store what a line or transfer entry changed; return the accounts it touched."""
        body, conn = entry.body, self.conn
        if isinstance(body, LineAgreement):
            terms = body.signed.terms
            line = ledger.lines[terms.line_id]
            conn.execute(
                "INSERT INTO lines (line_id, handle, partner, version, terms, sig_a, sig_b, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (line_id) DO UPDATE SET "
                "version = excluded.version, terms = excluded.terms, sig_a = excluded.sig_a, "
                "sig_b = excluded.sig_b, seq = excluded.seq",
                (
                    terms.line_id,
                    line.handle,
                    line.partner,
                    terms.version,
                    body.signed.data,
                    body.signed.sig_a,
                    body.signed.sig_b,
                    entry.seq,
                ),
            )
            return (line.handle, TRANSIT)
        if isinstance(body, Hold):
            conn.execute(
                "INSERT INTO holds (transfer_id, role, debit, credit, amount, condition, "
                "expiry_ms, revealed, state, created_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 0, "
                "'pending', ?)",
                (
                    body.transfer_id,
                    body.role,
                    body.debit,
                    body.credit,
                    body.amount,
                    body.condition,
                    body.expiry_ms,
                    entry.seq,
                ),
            )
            return (body.debit, body.credit)
        if isinstance(body, Reveal):
            conn.execute(
                "UPDATE holds SET revealed = 1, preimage = ? WHERE transfer_id = ? AND role = 'in'",
                (body.preimage, body.transfer_id),
            )
            return ()
        if isinstance(body, Settle | Release):
            state = "settled" if isinstance(body, Settle) else body.reason
            preimage = body.preimage if isinstance(body, Settle) else None
            row = conn.execute(
                "SELECT debit, credit FROM holds WHERE transfer_id = ? AND role = ?",
                (body.transfer_id, body.role),
            ).fetchone()
            conn.execute(
                "UPDATE holds SET state = ?, preimage = coalesce(?, preimage), ended_seq = ? "
                "WHERE transfer_id = ? AND role = ?",
                (state, preimage, entry.seq, body.transfer_id, body.role),
            )
            return (row[0], row[1])
        if isinstance(body, Clear):
            conn.execute(
                "INSERT INTO cleared_rounds (round_id, seq) VALUES (?, ?)",
                (body.round_id, entry.seq),
            )
            me = ledger.community.community_id
            handles = []
            for item in body.proposal.items_of(me):
                handles.append(ledger.lines[item.line_id].handle)
            return tuple(handles)
        return ()
