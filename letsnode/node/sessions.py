"""Signing in with a key: challenges, sessions and who holds them.

The node hands out a random challenge for a key; the member's browser signs
``DOMAIN_SESSION || community_id || challenge`` and gets a session token. A challenge is
good for ``CHALLENGE_SECONDS`` and for one use (signing in or joining). Only the hash of a
token is stored (``WebStore``), so a copy of the database lets nobody sign in.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from letsnode.core.crypto import DOMAIN_SESSION, KEY_BYTES, is_valid_signature
from letsnode.core.errors import (
    BadSignature,
    Forbidden,
    InvalidInput,
    JoinPending,
    LedgerRefusal,
    Unauthenticated,
)
from letsnode.core.rules.ledger import Ledger
from letsnode.store.web_store import WebStore
from letsnode.web.port import NODE_HANDLE, SESSION_SECONDS, Principal

CHALLENGE_SECONDS = 120
MAX_CHALLENGES = 10_000


class Sessions:
    """Challenges (in memory) and sessions (in the web tables) of one community."""

    def __init__(
        self,
        community_id: bytes,
        ledger: Callable[[], Ledger],
        web: WebStore,
        clock: Callable[[], int],
    ) -> None:
        self.community_id = community_id
        self._ledger = ledger  # the current state (the node may reload it)
        self.web = web
        self.clock = clock
        self._challenges: dict[bytes, tuple[bytes, float]] = {}

    def new_challenge(self, key: bytes) -> bytes:
        if len(key) != KEY_BYTES:
            raise InvalidInput("key must be a 32-byte Ed25519 public key")
        now = time.monotonic()
        if len(self._challenges) >= MAX_CHALLENGES:
            self._challenges = {c: v for c, v in self._challenges.items() if v[1] > now}
            if len(self._challenges) >= MAX_CHALLENGES:
                raise LedgerRefusal("too many open challenges; try again", code="rate_limited")
        challenge = secrets.token_bytes(32)
        self._challenges[challenge] = (key, now + CHALLENGE_SECONDS)
        return challenge

    def take_challenge(self, key: bytes, challenge: bytes) -> None:
        """Spend ``challenge`` (once only); it must have been issued to ``key``."""
        issued = self._challenges.pop(challenge, None)
        if issued is None or issued[0] != key or issued[1] < time.monotonic():
            raise BadSignature("the challenge is unknown, expired or issued to another key")

    def principal_for_key(self, key: bytes) -> Principal:
        if key == self.community_id:
            return Principal(NODE_HANDLE, key, True)
        handle = self._ledger().keys.get(key)
        if handle is None:
            if self.web.pending_for(key=key):
                raise JoinPending("your request to join is waiting for a steward's approval")
            raise Unauthenticated("this key has no account here: ask to join first")
        return Principal(handle, key, self.web.is_steward(handle))

    def open_session(self, key: bytes, challenge: bytes, signature: bytes) -> tuple[str, Principal]:
        """Check the signed challenge and return a new session token and its holder."""
        self.take_challenge(key, challenge)
        message = self.community_id + challenge
        if not is_valid_signature(key, DOMAIN_SESSION, message, signature):
            raise BadSignature("the challenge signature does not verify")
        principal = self.principal_for_key(key)
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.web.add_session(token, key, now, now + SESSION_SECONDS * 1000)
        return token, principal

    def session(self, token: str) -> Principal:
        key = self.web.session_key(token, self.clock())
        if key is None:
            raise Unauthenticated("sign in again: the session is unknown or has expired")
        principal = self.principal_for_key(key)
        closed = principal.handle != NODE_HANDLE and (
            self._ledger().account(principal.handle).status == "closed"
        )
        if closed:
            raise Forbidden(f"account {principal.handle} is closed")
        return principal

    def close_session(self, token: str) -> None:
        self.web.drop_session(token)
