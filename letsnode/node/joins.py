"""Joining a community: invites, join requests that stewards decide, and stewards.

A joiner signs ``DOMAIN_JOIN || community_id || challenge || handle`` with the key it asks
to be admitted with, which proves it holds that key. With a valid invite it is admitted at
once (an invite may also make it a steward); otherwise its request waits for a steward.
Invite codes are stored only as hashes (``WebStore``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from letsnode.core.crypto import DOMAIN_JOIN, is_valid_signature
from letsnode.core.errors import BadSignature, InvalidInput, LedgerRefusal, NotFound
from letsnode.core.names import check_slug
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.entries import Entry
from letsnode.node.events import Broadcast
from letsnode.node.sessions import Sessions
from letsnode.store.web_store import JoinRequest, WebStore
from letsnode.web.port import Joined

Admit = Callable[[str, bytes], Awaitable[Entry]]


class Joins:
    def __init__(
        self,
        sessions: Sessions,
        ledger: Callable[[], Ledger],
        web: WebStore,
        events: Broadcast,
        admit: Admit,
        clock: Callable[[], int],
    ) -> None:
        self.sessions = sessions
        self._ledger = ledger
        self.web = web
        self.events = events
        self._admit = admit
        self.clock = clock

    def create_invite(self, uses: int = 1, hours: float = 72, *, steward: bool = False) -> str:
        """A fresh invite code; with ``steward`` whoever joins with it becomes a steward."""
        if not 1 <= uses <= 1000 or not 0 < hours <= 24 * 365:
            raise InvalidInput("an invite is good for 1 to 1000 uses and up to a year")
        code = secrets.token_urlsafe(18)
        now = self.clock()
        self.web.add_invite(code, now, now + int(hours * 3600 * 1000), uses, steward)
        return code

    async def join(
        self,
        handle: str,
        key: bytes,
        challenge: bytes,
        signature: bytes,
        invite: str | None = None,
    ) -> Joined:
        """Admit ``handle`` at once with a valid invite, else file a join request."""
        check_slug(handle)
        community_id = self.sessions.community_id
        self.sessions.take_challenge(key, challenge)
        message = community_id + challenge + handle.encode()
        if not is_valid_signature(key, DOMAIN_JOIN, message, signature):
            raise BadSignature("the join request is not signed by this key")
        ledger = self._ledger()
        if handle in ledger.accounts or self.web.pending_for(handle=handle):
            raise LedgerRefusal(f"the handle {handle} is already taken", code="handle_taken")
        if key in ledger.keys or key == community_id or self.web.pending_for(key=key):
            raise LedgerRefusal("this key already has an account or a request", code="key_taken")
        if invite:
            makes_steward = self.web.use_invite(invite, self.clock())
            if makes_steward is None:
                raise LedgerRefusal(
                    "the invite code is unknown, expired or used up", code="invalid_invite"
                )
            try:
                await self._admit(handle, key)
            except BaseException:
                self.web.refund_invite(invite)
                raise
            if makes_steward:
                self.web.add_steward(handle, self.clock())
            return Joined("admitted", handle)
        request_id = self.web.add_join_request(handle, key, self.clock())
        self.events.publish({"type": "join_request", "handles": [], "id": request_id})
        return Joined("pending", handle, request_id)

    def join_requests(self) -> list[JoinRequest]:
        return self.web.join_requests("pending")

    def _pending_request(self, request_id: int) -> JoinRequest:
        request = self.web.join_request(request_id)
        if request is None or request.status != "pending":
            raise NotFound(f"there is no pending join request {request_id}")
        return request

    async def approve(self, request_id: int, by: str) -> Entry:
        request = self._pending_request(request_id)
        entry = await self._admit(request.handle, request.key)
        self.web.decide_join_request(request_id, "approved", by, self.clock())
        self._decided(request, "approved")
        return entry

    def reject(self, request_id: int, by: str) -> None:
        request = self._pending_request(request_id)
        self.web.decide_join_request(request_id, "rejected", by, self.clock())
        self._decided(request, "rejected")

    def _decided(self, request: JoinRequest, status: str) -> None:
        """Tell the joiner's waiting browser (it listens under the handle it asked for)."""
        event = {"type": "join_decided", "handles": [request.handle], "status": status}
        self.events.publish({**event, "id": request.id})

    def add_steward(self, handle: str) -> None:
        self._ledger().account(handle)
        self.web.add_steward(handle, self.clock())
