"""The web wallet's tables: join requests, invites, sessions, stewards, the directory of
offers and wants (with an FTS5 index), members' language preferences and the names of the
community's unit in each language.

None of this is ledger state: it never enters the log and an audit ignores it (its tables
are migrations 20 and 21 of ``letsnode.store.schema``). Secrets (invite codes, session tokens)
are stored only as BLAKE2b hashes, so a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils


def secret_hash(secret: str) -> bytes:
    return hashlib.blake2b(secret.encode(), digest_size=32, person=b"letsnode-web").digest()


@dataclass(frozen=True, slots=True)
class JoinRequest:
    id: int
    handle: str
    key: bytes
    created_ms: int
    status: str


@dataclass(frozen=True, slots=True)
class Listing:
    """An offer or a want in the directory."""

    id: int
    handle: str
    kind: str
    category: str
    title: str
    description: str
    contact: str
    status: str
    created_ms: int
    updated_ms: int


_LISTING_COLUMNS = (
    "id, handle, kind, category, title, description, contact, status, created_ms, updated_ms"
)


def fts_query(text: str) -> str:
    """A user's words as an FTS5 query: each word a quoted prefix term, all required."""
    words = [w.replace('"', "") for w in text.split()]
    return " ".join(f'"{w}"*' for w in words if w)


class WebStore:
    """Reads and writes of the web tables. Every write is one autocommitted statement."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.conn = db.conn

    def close(self) -> None:
        self.conn.close()

    # -- join requests ---------------------------------------------------------------

    def add_join_request(self, handle: str, key: bytes, now_ms: int) -> int:
        cur = self.conn.execute(
            "INSERT INTO web_join_requests (handle, key, created_ms, status) "
            "VALUES (?, ?, ?, 'pending')",
            (handle, key, now_ms),
        )
        return int(cur.lastrowid or 0)

    def join_requests(self, status: str = "pending") -> list[JoinRequest]:
        rows = self.conn.execute(
            "SELECT id, handle, key, created_ms, status FROM web_join_requests "
            "WHERE status = ? ORDER BY id",
            (status,),
        )
        return [JoinRequest(*row) for row in rows]

    def join_request(self, request_id: int) -> JoinRequest | None:
        row = self.conn.execute(
            "SELECT id, handle, key, created_ms, status FROM web_join_requests WHERE id = ?",
            (request_id,),
        ).fetchone()
        return None if row is None else JoinRequest(*row)

    def pending_for(self, *, handle: str | None = None, key: bytes | None = None) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM web_join_requests WHERE status = 'pending' AND (handle = ? OR key = ?)",
            (handle, key),
        ).fetchone()
        return row is not None

    def set_join_token(self, request_id: int, token: str) -> None:
        """Let whoever holds ``token`` (the joiner's browser) read the request's status."""
        self.conn.execute(
            "UPDATE web_join_requests SET token_hash = ? WHERE id = ?",
            (secret_hash(token), request_id),
        )

    def join_request_by_token(self, token: str) -> JoinRequest | None:
        row = self.conn.execute(
            "SELECT id, handle, key, created_ms, status FROM web_join_requests "
            "WHERE token_hash = ? ORDER BY id DESC LIMIT 1",
            (secret_hash(token),),
        ).fetchone()
        return None if row is None else JoinRequest(*row)

    def decide_join_request(self, request_id: int, status: str, by: str, now_ms: int) -> None:
        self.conn.execute(
            "UPDATE web_join_requests SET status = ?, decided_by = ?, decided_ms = ? WHERE id = ?",
            (status, by, now_ms, request_id),
        )

    # -- invites ---------------------------------------------------------------------

    def add_invite(
        self, code: str, now_ms: int, expires_ms: int, uses: int, steward: bool = False
    ) -> None:
        self.conn.execute(
            "INSERT INTO web_invites (code_hash, created_ms, expires_ms, uses_left, steward) "
            "VALUES (?, ?, ?, ?, ?)",
            (secret_hash(code), now_ms, expires_ms, uses, int(steward)),
        )

    def use_invite(self, code: str, now_ms: int) -> bool | None:
        """Spend one use of ``code``: None if it is unknown, expired or used up, else whether
        it makes its user a steward."""
        row = self.conn.execute(
            "UPDATE web_invites SET uses_left = uses_left - 1 "
            "WHERE code_hash = ? AND uses_left > 0 AND expires_ms > ? RETURNING steward",
            (secret_hash(code), now_ms),
        ).fetchone()
        return None if row is None else bool(row[0])

    def refund_invite(self, code: str) -> None:
        self.conn.execute(
            "UPDATE web_invites SET uses_left = uses_left + 1 WHERE code_hash = ?",
            (secret_hash(code),),
        )

    # -- sessions --------------------------------------------------------------------

    def add_session(self, token: str, key: bytes, now_ms: int, expires_ms: int) -> None:
        self.conn.execute("DELETE FROM web_sessions WHERE expires_ms <= ?", (now_ms,))
        self.conn.execute(
            "INSERT INTO web_sessions (token_hash, key, created_ms, expires_ms) "
            "VALUES (?, ?, ?, ?)",
            (secret_hash(token), key, now_ms, expires_ms),
        )

    def session_key(self, token: str, now_ms: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT key FROM web_sessions WHERE token_hash = ? AND expires_ms > ?",
            (secret_hash(token), now_ms),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def drop_session(self, token: str) -> None:
        self.conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (secret_hash(token),))

    # -- stewards and preferences ----------------------------------------------------

    def add_steward(self, handle: str, now_ms: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO web_stewards (handle, added_ms) VALUES (?, ?)", (handle, now_ms)
        )

    def remove_steward(self, handle: str) -> None:
        self.conn.execute("DELETE FROM web_stewards WHERE handle = ?", (handle,))

    def is_steward(self, handle: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM web_stewards WHERE handle = ?", (handle,))
        return row.fetchone() is not None

    def stewards(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT handle FROM web_stewards ORDER BY handle")]

    def language(self, handle: str) -> str | None:
        row = self.conn.execute("SELECT lang FROM web_members WHERE handle = ?", (handle,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def set_language(self, handle: str, lang: str) -> None:
        self.conn.execute(
            "INSERT INTO web_members (handle, lang) VALUES (?, ?) "
            "ON CONFLICT (handle) DO UPDATE SET lang = excluded.lang",
            (handle, lang),
        )

    # -- names of the unit ------------------------------------------------------------

    def unit_names(self) -> dict[str, dict[str, str]]:
        """The stewards' names of the unit: language -> plural category -> word."""
        rows = self.conn.execute("SELECT lang, forms FROM web_unit_names ORDER BY lang")
        return {lang: dict(json.loads(forms)) for lang, forms in rows}

    def set_unit_names(self, lang: str, forms: dict[str, str], now_ms: int) -> None:
        self.conn.execute(
            "INSERT INTO web_unit_names (lang, forms, updated_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (lang) DO UPDATE SET forms = excluded.forms, "
            "updated_ms = excluded.updated_ms",
            (lang, json.dumps(forms, ensure_ascii=False, sort_keys=True), now_ms),
        )

    def clear_unit_names(self, lang: str) -> None:
        self.conn.execute("DELETE FROM web_unit_names WHERE lang = ?", (lang,))

    # -- the directory of offers and wants -------------------------------------------

    def add_listing(
        self,
        handle: str,
        kind: str,
        category: str,
        title: str,
        description: str,
        contact: str,
        now_ms: int,
    ) -> Listing:
        cur = self.conn.execute(
            "INSERT INTO web_directory (handle, kind, category, title, description, contact, "
            "status, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
            (handle, kind, category, title, description, contact, now_ms, now_ms),
        )
        listing = self.listing(int(cur.lastrowid or 0))
        assert listing is not None
        return listing

    def listing(self, listing_id: int) -> Listing | None:
        row = self.conn.execute(
            f"SELECT {_LISTING_COLUMNS} FROM web_directory WHERE id = ?", (listing_id,)
        ).fetchone()
        return None if row is None else Listing(*row)

    def update_listing(self, listing_id: int, fields: dict[str, Any], now_ms: int) -> None:
        allowed = {"kind", "category", "title", "description", "contact", "status"}
        names = sorted(k for k in fields if k in allowed)
        if not names:
            return
        sets = ", ".join(f"{name} = ?" for name in names)
        self.conn.execute(
            f"UPDATE web_directory SET {sets}, updated_ms = ? WHERE id = ?",
            (*[fields[n] for n in names], now_ms, listing_id),
        )

    def search_listings(
        self,
        text: str = "",
        *,
        kind: str | None = None,
        category: str | None = None,
        handle: str | None = None,
        limit: int = 100,
    ) -> list[Listing]:
        """Open listings, best match first when ``text`` is given, else newest first."""
        where = ["d.status = 'open'"]
        args: list[Any] = []
        if kind:
            where.append("d.kind = ?")
            args.append(kind)
        if category:
            where.append("d.category = ?")
            args.append(category)
        if handle:
            where.append("d.handle = ?")
            args.append(handle)
        columns = ", ".join(f"d.{c.strip()}" for c in _LISTING_COLUMNS.split(","))
        query = fts_query(text)
        if query:
            sql = (
                f"SELECT {columns} FROM web_directory d "
                "JOIN web_directory_fts f ON f.rowid = d.id "
                f"WHERE web_directory_fts MATCH ? AND {' AND '.join(where)} "
                "ORDER BY f.rank LIMIT ?"
            )
            args = [query, *args, limit]
        else:
            sql = (
                f"SELECT {columns} FROM web_directory d WHERE {' AND '.join(where)} "
                "ORDER BY d.id DESC LIMIT ?"
            )
            args.append(limit)
        return [Listing(*row) for row in self.conn.execute(sql, args)]
