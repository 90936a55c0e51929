"""Opening the database: durability pragmas and the migration registry.

Durability: WAL journal with ``synchronous=FULL``, so a transaction that has committed is
on disk (the WAL is fsynced at every commit) and a crash at any instant loses no
acknowledged entry. Migrations are numbered functions applied once each, in order, inside
one transaction, and recorded in the ``migrations`` table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(number: int, name: str) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        MIGRATIONS.append((number, name, fn))
        return fn

    return register


@migration(1, "ledger")
def _ledger(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) STRICT""")
    db.execute("""
        CREATE TABLE log (
            seq INTEGER PRIMARY KEY,
            hash BLOB NOT NULL UNIQUE,
            timestamp_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            data BLOB NOT NULL,
            signature BLOB NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE accounts (
            handle TEXT PRIMARY KEY,
            key BLOB NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            floor INTEGER NOT NULL,
            ceiling INTEGER,
            status TEXT NOT NULL,
            balance INTEGER NOT NULL,
            last_nonce INTEGER NOT NULL,
            admitted_seq INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE payments (
            seq INTEGER PRIMARY KEY,
            timestamp_ms INTEGER NOT NULL,
            payer TEXT NOT NULL,
            payee TEXT NOT NULL,
            amount INTEGER NOT NULL,
            nonce INTEGER NOT NULL,
            memo TEXT NOT NULL
        ) STRICT""")
    db.execute("CREATE INDEX payments_payer ON payments (payer, seq)")
    db.execute("CREATE INDEX payments_payee ON payments (payee, seq)")


def connect(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database at ``path``."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> None:
    conn = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT number FROM migrations")}
    for number, name, fn in sorted(MIGRATIONS, key=lambda m: m[0]):
        if number in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            conn.execute("INSERT INTO migrations (number, name) VALUES (?, ?)", (number, name))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


# The web wallet keeps its tables in its own module; importing it registers its migrations,
# so they run on every ``connect`` too.
from letsnode.store import clearing_store, federation_store, web_store  # noqa: E402, F401


@migration(2, "checkpoints")
def _checkpoints(db: sqlite_utils.Database) -> None:
    # Signed audit checkpoints (letsnode/core/checkpoint.py): the log up to ``seq`` was
    # verified in full and left ``state``. Written only by ``letsnode audit
    # --write-checkpoint``; read only by ``--since-checkpoint``, which checks them first.
    db.execute("""
        CREATE TABLE checkpoints (
            seq INTEGER PRIMARY KEY,
            data BLOB NOT NULL,
            signature BLOB NOT NULL,
            state BLOB NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")


@migration(5, "cleared rounds")
def _cleared_rounds(db: sqlite_utils.Database) -> None:
    # Clearing rounds applied to this ledger (``clear`` entries), derived from the log.
    db.execute("""
        CREATE TABLE cleared_rounds (
            round_id BLOB PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE
        ) STRICT""")


@migration(3, "lines and holds")
def _lines_and_holds(db: sqlite_utils.Database) -> None:
    # Credit lines and the legs of conditional transfers (letsnode/core/federation_*.py),
    # derived from the log like ``accounts``; ``held_*`` are what pending legs reserve.
    db.execute("ALTER TABLE accounts ADD COLUMN held_out INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE accounts ADD COLUMN held_in INTEGER NOT NULL DEFAULT 0")
    db.execute("""
        CREATE TABLE lines (
            line_id BLOB PRIMARY KEY,
            handle TEXT NOT NULL UNIQUE,
            partner BLOB NOT NULL UNIQUE,
            version INTEGER NOT NULL,
            terms BLOB NOT NULL,
            sig_a BLOB,
            sig_b BLOB,
            seq INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE holds (
            transfer_id BLOB NOT NULL,
            role TEXT NOT NULL,
            debit TEXT NOT NULL,
            credit TEXT NOT NULL,
            amount INTEGER NOT NULL,
            condition BLOB NOT NULL,
            expiry_ms INTEGER NOT NULL,
            revealed INTEGER NOT NULL,
            state TEXT NOT NULL,
            preimage BLOB,
            created_seq INTEGER NOT NULL,
            ended_seq INTEGER,
            PRIMARY KEY (transfer_id, role)
        ) STRICT""")
    db.execute("CREATE INDEX holds_pending ON holds (state, expiry_ms)")
