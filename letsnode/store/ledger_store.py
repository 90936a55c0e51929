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

from letsnode.core.entries import Admit, Entry, Genesis, Limits, Payment, Status
from letsnode.core.ledger import Account, Ledger


@dataclass(frozen=True, slots=True)
class PaymentRow:
    seq: int
    timestamp_ms: int
    payer: str
    payee: str
    amount: int
    memo: str


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
        return Ledger.from_snapshot(genesis, self.accounts(), last[0] + 1, last[1], last[2])

    def accounts(self) -> list[Account]:
        rows = self.conn.execute(
            "SELECT handle, key, kind, floor, ceiling, status, balance, last_nonce "
            "FROM accounts ORDER BY handle"
        )
        return [Account(*row) for row in rows]

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
        touched: set[str] = set()
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
                touched.update(touched_handles(entry))
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
            admitted = {e.body.handle: e.seq for e in entries if isinstance(e.body, Admit)}
            for handle in sorted(touched):
                a = ledger.accounts[handle]
                if handle in admitted:
                    conn.execute(
                        "INSERT INTO accounts (handle, key, kind, floor, ceiling, status, "
                        "balance, last_nonce, admitted_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            a.handle,
                            a.key,
                            a.kind,
                            a.floor,
                            a.ceiling,
                            a.status,
                            a.balance,
                            a.last_nonce,
                            admitted[handle],
                        ),
                    )
                else:
                    conn.execute(
                        "UPDATE accounts SET floor = ?, ceiling = ?, status = ?, balance = ?, "
                        "last_nonce = ? WHERE handle = ?",
                        (a.floor, a.ceiling, a.status, a.balance, a.last_nonce, a.handle),
                    )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
