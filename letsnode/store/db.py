"""Opening the database: durability pragmas and the migration registry.

Durability: WAL journal with ``synchronous=FULL``, so a transaction that has committed is
on disk (the WAL is fsynced at every commit) and a crash at any instant loses no
acknowledged entry. ``durable=False`` (simulations, where a data folder lives as long as
one run and a lost machine loses the run anyway) keeps WAL but skips the fsyncs
(``synchronous=OFF``): what a connection commits is still seen by every other connection
to the file, and a process that stops or is cancelled loses nothing.

The schema's migrations (``letsnode.store.schema``) are applied once each, in order, inside
one transaction, and recorded in the ``migrations`` table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from letsnode.store.schema import MIGRATIONS


def connect(path: Path, *, durable: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database at ``path``; ``durable=False``
    only where the data need not survive the machine (see above)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=OFF")
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
