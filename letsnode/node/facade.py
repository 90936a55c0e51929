"""The trio shell around a community: ``Node`` and ``run_node``.

``Node`` holds the open ``Community`` (the ledger) and the web tables, and is the one place
the web calls for anything that changes state. Every ledger change goes through its async
methods (``admit``, ``pay``, ``set_limits``, ``set_status``), and each accepted entry is
announced to subscribers (the wallet's live updates). ``run_node`` gives the node a
``LedgerWriter`` (letsnode/node/ingest.py: signatures checked on a pool, group commit); a Node
without one (tests, CLI tools) writes through ``Community`` one entry at a time.

Member authentication is by key: the node hands out a random challenge, the member's
browser signs ``DOMAIN_SESSION || community_id || challenge`` and gets a session token.
Joining signs ``DOMAIN_JOIN || community_id || challenge || handle`` the same way, which
proves the joiner holds the key it asks to be admitted with.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from letsnode.audit.pool import PoolKind, VerifyPool
from letsnode.community.folder import DB_NAME, Community
from letsnode.core.crypto import KEY_BYTES, SigningKey, is_valid_signature
from letsnode.core.errors import BadSignature, InvalidInput, LedgerRefusal, LetsError
from letsnode.core.names import check_slug
from letsnode.core.rules.ledger import Account, Ledger
from letsnode.core.wire.bodies import Hold, Release, Settle
from letsnode.core.wire.entries import Admit, Body, Entry, Limits, Payment, SignedOrder, Status
from letsnode.http import HttpServerKind, split_host_port
from letsnode.node.ingest import LedgerWriter, open_ledger_writer
from letsnode.store.clearing_store import ClearingStore
from letsnode.store.db import connect
from letsnode.store.ledger_store import LedgerStore, touched_handles
from letsnode.store.web_store import JoinRequest, WebStore

if TYPE_CHECKING:
    from letsnode.federation.service import Federation, FederationConfig

DOMAIN_SESSION = b"letsnode/session/v1\x00"
DOMAIN_JOIN = b"letsnode/join/v1\x00"
NODE_HANDLE = "@node"  # the session holder name of the node key itself (always a steward)

CHALLENGE_SECONDS = 120
SESSION_SECONDS = 12 * 3600
MAX_CHALLENGES = 10_000
EVENT_BUFFER = 32


class Unauthenticated(LetsError):
    code = "unauthenticated"


class Forbidden(LetsError):
    code = "forbidden"


class NotFound(LetsError):
    code = "not_found"


class JoinPending(LetsError):
    code = "join_pending"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a session belongs to: a member account, or the node key (``NODE_HANDLE``)."""

    handle: str
    key: bytes
    steward: bool


@dataclass(frozen=True, slots=True)
class Joined:
    status: str  # "admitted" or "pending"
    handle: str
    request_id: int | None = None


class Broadcast:
    """Fan-out of events to subscribers; a subscriber too slow to keep up misses events
    (it re-reads its state on the next one it gets) rather than slowing the writer.

    A subscriber listens either to everything (stewards) or to the events that name one
    account in their ``handles``: a payment wakes its payer's and payee's wallets and the
    stewards', not every open wallet."""

    def __init__(self) -> None:
        self._everything: set[trio.MemorySendChannel[dict[str, Any]]] = set()
        self._by_handle: dict[str, set[trio.MemorySendChannel[dict[str, Any]]]] = {}

    def publish(self, event: dict[str, Any]) -> None:
        self._deliver(self._everything, event)
        for handle in event.get("handles", ()):
            channels = self._by_handle.get(handle)
            if channels:
                self._deliver(channels, event)

    @staticmethod
    def _deliver(
        channels: set[trio.MemorySendChannel[dict[str, Any]]], event: dict[str, Any]
    ) -> None:
        for channel in list(channels):
            try:
                channel.send_nowait(event)
            except trio.WouldBlock:
                pass
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                channels.discard(channel)

    @asynccontextmanager
    async def subscribe(
        self, handle: str | None = None
    ) -> AsyncIterator[trio.MemoryReceiveChannel[dict[str, Any]]]:
        """Events naming ``handle``; with None, every event."""
        send, receive = trio.open_memory_channel[dict[str, Any]](EVENT_BUFFER)
        channels = self._everything if handle is None else self._by_handle.setdefault(handle, set())
        channels.add(send)
        try:
            yield receive
        finally:
            channels.discard(send)
            if handle is not None and not channels and self._by_handle.get(handle) is channels:
                del self._by_handle[handle]
            send.close()
            receive.close()

    def __len__(self) -> int:
        return len(self._everything) + sum(map(len, self._by_handle.values()))


def entry_event(entry: Entry, legs: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the wallet's live updates hear of an entry; ``legs`` are the accounts of the
    transfer leg a settle or release ended (the entry itself names only the transfer)."""
    handles = list(touched_handles(entry))
    if isinstance(entry.body, Hold):
        handles += [entry.body.debit, entry.body.credit]
    event: dict[str, Any] = {
        "type": "entry",
        "seq": entry.seq,
        "kind": entry.body.KIND,
        "handles": handles + [h for h in legs if h not in handles],
    }
    if isinstance(entry.body, Payment):
        event["payer"] = entry.body.order.payer
        event["payee"] = entry.body.order.payee
        event["amount_minor"] = entry.body.order.amount
    return event


class Node:
    """A running community node. Build with ``Node.open(data)``; ``close`` when done."""

    def __init__(self, community: Community, web: WebStore) -> None:
        self.community = community
        self.web = web
        self.events = Broadcast()
        self.writer: LedgerWriter | None = None
        self.federation: Federation | None = None
        self._write_lock = trio.Lock()
        self._challenges: dict[bytes, tuple[bytes, float]] = {}
        self.clock: Callable[[], int] = now_ms

    @classmethod
    def open(cls, data: Path) -> Node:
        community = Community.open(data)
        try:
            web = WebStore(connect(data / DB_NAME))
        except BaseException:
            community.close()
            raise
        return cls(community, web)

    def close(self) -> None:
        self.web.close()
        self.community.close()

    @property
    def data(self) -> Path:
        return self.community.path

    @property
    def community_id(self) -> bytes:
        return self.community.genesis.community_id

    # -- ledger writes: the only way the web changes the ledger -------------------------
    #
    # With a LedgerWriter (``run_node`` opens one: group commit, signatures checked on a
    # pool) entries go through it; without one (tests, tools) through Community directly,
    # one at a time behind a lock.

    async def _commit(self, body: Body, direct: Callable[[], Entry]) -> Entry:
        legs: tuple[str, ...] = ()
        if isinstance(body, Settle | Release):
            hold = self.community.ledger.holds.get((body.transfer_id, body.role))
            legs = (hold.debit, hold.credit) if hold is not None else ()
        if self.writer is not None:
            entry = await self.writer.submit(body)
        else:
            async with self._write_lock:
                entry = direct()
        self.events.publish(entry_event(entry, legs))
        return entry

    async def admit(
        self, handle: str, key: bytes, *, floor: int | None = None, ceiling: int | None = None
    ) -> Entry:
        g = self.community.genesis
        body = Admit(
            handle,
            key,
            "member",
            g.floor if floor is None else floor,
            g.ceiling if ceiling is None else ceiling,
        )
        c = self.community
        return await self._commit(
            body, lambda: c.admit(handle, key=key, floor=floor, ceiling=ceiling)
        )

    async def pay(self, signed: SignedOrder) -> Entry:
        return await self._commit(Payment(signed), lambda: self.community.pay(signed))

    async def submit(self, body: Body) -> Entry:
        """Any node-authored body (lines, legs of transfers): the federation's write path."""
        return await self._commit(body, lambda: self.community.commit(body))

    # The LedgerPort the federation reads through (letsnode/federation/port.py).

    @property
    def ledger(self) -> Ledger:
        return self.community.ledger

    @property
    def store(self) -> LedgerStore:
        return self.community.store

    @property
    def key(self) -> SigningKey:
        return self.community.key

    async def set_limits(self, handle: str, floor: int, ceiling: int | None) -> Entry:
        body = Limits(handle, floor, ceiling)
        return await self._commit(body, lambda: self.community.set_limits(handle, floor, ceiling))

    async def set_status(self, handle: str, status: str) -> Entry:
        body = Status(handle, status)
        return await self._commit(body, lambda: self.community.set_status(handle, status))

    # -- ledger reads --------------------------------------------------------------------

    def account(self, handle: str) -> Account:
        return self.community.account(handle)

    def account_for_key(self, key: bytes) -> Account | None:
        handle = self.community.ledger.keys.get(key)
        return None if handle is None else self.community.account(handle)

    def next_nonce(self, handle: str) -> int:
        return self.community.account(handle).last_nonce + 1

    # -- challenges and sessions ---------------------------------------------------------

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

    def _take_challenge(self, key: bytes, challenge: bytes) -> None:
        """Spend ``challenge`` (once only); it must have been issued to ``key``."""
        issued = self._challenges.pop(challenge, None)
        if issued is None or issued[0] != key or issued[1] < time.monotonic():
            raise BadSignature("the challenge is unknown, expired or issued to another key")

    def principal_for_key(self, key: bytes) -> Principal:
        if key == self.community_id:
            return Principal(NODE_HANDLE, key, True)
        account = self.account_for_key(key)
        if account is None:
            if self.web.pending_for(key=key):
                raise JoinPending("your request to join is waiting for a steward's approval")
            raise Unauthenticated("this key has no account here: ask to join first")
        return Principal(account.handle, key, self.web.is_steward(account.handle))

    def open_session(self, key: bytes, challenge: bytes, signature: bytes) -> tuple[str, Principal]:
        """Check the signed challenge and return a new session token and its holder."""
        self._take_challenge(key, challenge)
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
        if principal.handle != NODE_HANDLE and self.account(principal.handle).status == "closed":
            raise Forbidden(f"account {principal.handle} is closed")
        return principal

    def close_session(self, token: str) -> None:
        self.web.drop_session(token)

    # -- joining -------------------------------------------------------------------------

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
        self._take_challenge(key, challenge)
        message = self.community_id + challenge + handle.encode()
        if not is_valid_signature(key, DOMAIN_JOIN, message, signature):
            raise BadSignature("the join request is not signed by this key")
        ledger = self.community.ledger
        if handle in ledger.accounts or self.web.pending_for(handle=handle):
            raise LedgerRefusal(f"the handle {handle} is already taken", code="handle_taken")
        if key in ledger.keys or key == self.community_id or self.web.pending_for(key=key):
            raise LedgerRefusal("this key already has an account or a request", code="key_taken")
        if invite:
            makes_steward = self.web.use_invite(invite, self.clock())
            if makes_steward is None:
                raise LedgerRefusal(
                    "the invite code is unknown, expired or used up", code="invalid_invite"
                )
            try:
                await self.admit(handle, key)
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
        entry = await self.admit(request.handle, request.key)
        self.web.decide_join_request(request_id, "approved", by, self.clock())
        return entry

    def reject(self, request_id: int, by: str) -> None:
        self._pending_request(request_id)
        self.web.decide_join_request(request_id, "rejected", by, self.clock())

    # -- stewards and preferences ----------------------------------------------------------

    def add_steward(self, handle: str) -> None:
        self.account(handle)
        self.web.add_steward(handle, self.clock())

    # -- clearing rounds (the stewards' Clearing page) -------------------------------------

    def clearing_store(self) -> ClearingStore:
        """Clearing rounds and policy, read and set on the web tables' connection: it is used
        only on the node's trio thread (the community's belongs to the ledger writer's worker
        thread); the federation's clearing desk has a connection of its own (``fed_db``)."""
        return ClearingStore(self.web.conn)


async def run_node(
    data: Path,
    http: str = "127.0.0.1:8080",
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
    app_options: dict[str, Any] | None = None,
    verify_pool: PoolKind = "inline",
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",),
    peers: Sequence[str] = (),
    federation_config: FederationConfig | None = None,
    announce: Callable[[Node], None] | None = None,
    http_server: HttpServerKind = "letsnode",
) -> None:
    """Open the community in ``data`` and run it until cancelled: the wallet and API on
    ``http``, the libp2p host on ``listen`` (dialling ``peers`` and remembered partners),
    the federation, and the control socket other ``letsnode`` commands use. Reports the
    base URL (``http://host:port``, the real port when 0 was asked) through ``task_status``
    and calls ``announce(node)`` once everything listens. ``http_server`` picks who serves
    HTTP: the node's own HTTP/1.1 server (``letsnode.http``, the default and the lighter)
    or Hypercorn."""
    import gc

    from letsnode.federation.service import Federation
    from letsnode.net.libp2p_transport import open_libp2p_transport
    from letsnode.node.commands import control_commands
    from letsnode.node.control import hold_folder, serve_control
    from letsnode.store.federation_store import FederationStore
    from letsnode.web.app import create_app

    if not (data / DB_NAME).exists():
        Community.open(data)  # raises the error that says how to create one
    with hold_folder(data):
        node = Node.open(data)
        pool: VerifyPool | None = None
        fed_db = None
        try:
            host, port = split_host_port(http)
            app = create_app(node, **(app_options or {}))
            pool = VerifyPool(verify_pool)
            fed_db = connect(data / DB_NAME)  # its own connection: see FederationStore
            fed_store = FederationStore(fed_db.conn)
            async with (
                open_ledger_writer(node.community, pool=pool) as writer,
                open_libp2p_transport(
                    node.key.seed,
                    listen,
                    peers,
                    known_peers=fed_store.known_peers(),
                    on_peer=lambda peer, addrs: fed_store.remember_peer(peer, addrs, now_ms()),
                ) as transport,
                trio.open_nursery() as nursery,
            ):
                node.writer = writer
                node.federation = Federation(node, transport, fed_store, federation_config)
                await nursery.start(node.federation.run)
                await nursery.start(serve_control, data, control_commands(node))
                urls: list[str] = await nursery.start(serve_http, app, host, port, http_server)
                # What is loaded by now (modules, the ledger's accounts, libp2p) lives as long
                # as the node: the cyclic GC need not walk it again on every full collection
                # (a pause of about 70 ms with a small ledger, longer with more accounts,
                # which under load showed in the p99 latency of payments).
                gc.collect()
                gc.freeze()
                url = urls[0] if urls else f"http://{http}"
                task_status.started(url)
                if announce is not None:
                    announce(node)
        finally:
            node.writer = None
            node.federation = None
            if pool is not None:
                pool.close()
            if fed_db is not None:
                fed_db.conn.close()
            node.close()
            gc.unfreeze()  # a process that goes on (tests) may collect this node's cycles


async def serve_http(
    app: Any,
    host: str,
    port: int,
    kind: HttpServerKind,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` over HTTP on ``host``:``port`` with the server ``kind`` until
    cancelled; reports the URLs it listens on."""
    if kind == "letsnode":
        from letsnode.http.server import serve

        await serve(app, host, port, task_status=task_status)
        return
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.include_server_header = False
    config.graceful_timeout = 1
    config.h2_max_inbound_frame_size = 16 * 1024
    await hypercorn_serve(app, config, task_status=task_status)
