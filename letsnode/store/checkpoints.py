"""The ``checkpoints`` table: signed audit checkpoints of a data folder (migration 2)."""

from __future__ import annotations

import sqlite3

from letsnode.core.checkpoint import SignedCheckpoint


def save_checkpoint(
    conn: sqlite3.Connection, seq: int, signed: SignedCheckpoint, created_ms: int
) -> None:
    """Store ``signed`` (replacing any checkpoint at the same seq) in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT OR REPLACE INTO checkpoints (seq, data, signature, state, created_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (seq, signed.data, signed.signature, signed.state, created_ms),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def latest_checkpoint(conn: sqlite3.Connection) -> tuple[int, SignedCheckpoint] | None:
    """The checkpoint with the highest seq, unchecked (see core.checkpoint.open_checkpoint)."""
    row = conn.execute(
        "SELECT seq, data, signature, state FROM checkpoints ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), SignedCheckpoint(bytes(row[1]), bytes(row[2]), bytes(row[3]))
