"""The database schema, as a registry of numbered migrations, oldest first.

Each migration is a function applied once, in number order, inside one transaction, and
recorded in the ``migrations`` table (``letsnode.store.db.migrate``). A released migration
never changes: a change of schema is a new number. The ledger's tables (``log`` is the
truth; ``accounts``, ``payments``, ``lines``, ``holds``, ``cleared_rounds`` are derived
from it and can be recomputed, which ``letsnode audit`` does) and the node's own tables
(federation protocol state, clearing rounds, the web wallet's tables: never ledger state)
live in one SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable

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


@migration(3, "lines and holds")
def _lines_and_holds(db: sqlite_utils.Database) -> None:
    # Credit lines and the legs of conditional transfers (letsnode/core/rules/lines.py, holds.py),
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


@migration(4, "federation")
def _federation(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE line_proposals (
            id TEXT PRIMARY KEY,
            line_id BLOB NOT NULL,
            version INTEGER NOT NULL,
            partner BLOB NOT NULL,
            direction TEXT NOT NULL,
            terms BLOB NOT NULL,
            sig_mine BLOB,
            sig_theirs BLOB,
            state TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE outbox (
            transfer_id BLOB PRIMARY KEY,
            peer BLOB NOT NULL,
            prepare BLOB NOT NULL,
            signature BLOB NOT NULL,
            expiry_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE peers (
            community_id BLOB PRIMARY KEY,
            addrs TEXT NOT NULL,
            last_seen_ms INTEGER NOT NULL
        ) STRICT""")


@migration(5, "cleared rounds")
def _cleared_rounds(db: sqlite_utils.Database) -> None:
    # Clearing rounds applied to this ledger (``clear`` entries), derived from the log.
    db.execute("""
        CREATE TABLE cleared_rounds (
            round_id BLOB PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE
        ) STRICT""")


@migration(6, "clearing rounds")
def _clearing(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE clearing_rounds (
            nonce BLOB PRIMARY KEY,
            round_id BLOB,
            role TEXT NOT NULL,
            coordinator BLOB NOT NULL,
            state TEXT NOT NULL,
            snapshot BLOB,
            proposal BLOB,
            votes BLOB,
            cleared INTEGER NOT NULL,
            reason TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            decided_ms INTEGER
        ) STRICT""")
    db.execute("CREATE INDEX clearing_rounds_state ON clearing_rounds (state)")
    db.execute("""
        CREATE TABLE clearing_settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT""")


@migration(20, "web wallet")
def _web(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE web_join_requests (
            id INTEGER PRIMARY KEY,
            handle TEXT NOT NULL,
            key BLOB NOT NULL,
            created_ms INTEGER NOT NULL,
            status TEXT NOT NULL,
            decided_by TEXT,
            decided_ms INTEGER
        ) STRICT""")
    db.execute("CREATE INDEX web_join_requests_status ON web_join_requests (status, id)")
    db.execute("""
        CREATE TABLE web_invites (
            code_hash BLOB PRIMARY KEY,
            created_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL,
            uses_left INTEGER NOT NULL,
            steward INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE web_sessions (
            token_hash BLOB PRIMARY KEY,
            key BLOB NOT NULL,
            created_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE web_stewards (handle TEXT PRIMARY KEY, added_ms INTEGER NOT NULL) STRICT""")
    db.execute("""
        CREATE TABLE web_members (handle TEXT PRIMARY KEY, lang TEXT NOT NULL) STRICT""")
    db.execute("""
        CREATE TABLE web_directory (
            id INTEGER PRIMARY KEY,
            handle TEXT NOT NULL,
            kind TEXT NOT NULL,
            category TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            contact TEXT NOT NULL,
            status TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        )""")
    db.execute("CREATE INDEX web_directory_handle ON web_directory (handle, id)")
    db.table("web_directory").enable_fts(
        ["title", "description", "category"], fts_version="FTS5", create_triggers=True
    )


@migration(21, "web unit names and join tokens")
def _web_units(db: sqlite_utils.Database) -> None:
    # What members call the community's unit in each language ("1 hour", "2,5 horas"), as
    # the stewards set it: a JSON object of CLDR plural categories (one, other, ...) to
    # words. Display only: amounts in the log keep the genesis unit code.
    db.execute("""
        CREATE TABLE web_unit_names (
            lang TEXT PRIMARY KEY,
            forms TEXT NOT NULL,
            updated_ms INTEGER NOT NULL
        ) STRICT""")
    # A waiting joiner's browser holds a token (its hash is kept here) with which it hears
    # of the stewards' decision without a session.
    db.execute("ALTER TABLE web_join_requests ADD COLUMN token_hash BLOB")
    db.execute("CREATE INDEX web_join_requests_token ON web_join_requests (token_hash)")
