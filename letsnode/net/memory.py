"""``PeerTransport`` in memory, for tests and the simulator: no sockets, no threads.

Same semantics as the libp2p transport (size limits, error replies with the handler's code,
timeouts as trio cancel scopes, the sender's community id supplied by the network, never by
the message), plus faults on demand::

    network = MemoryNetwork(seed=7)
    async with network.transport(alice_id) as alice, network.transport(bob_id) as bob:
        await alice.connect(bob.listen_addrs()[0])
        network.partition(alice_id, bob_id)   # requests: PeerUnreachable; gossip: not delivered
        network.heal(alice_id, bob_id)
        network.set_latency(0.05)             # one way, every message
        network.set_drop_rate(0.1)            # a dropped request or reply ends in PeerTimeout

A transport is reachable while its ``async with`` block runs (leaving it is the node going
away); its handlers run in its own nursery, so a request whose requester timed out still
runs to completion on the peer, as it would over a real network. All time is trio time, so
``MockClock(autojump_threshold=0)`` runs a simulation as fast as the CPU allows.

Determinism: each directed link draws its drops from its own ``random.Random`` seeded by
(network seed, sender, receiver), and fan-out follows community id order, so the outcome
depends on the seed and on the order of messages on each link only.

Where memory differs from libp2p: every subscriber of a topic not cut off from the publisher
receives its messages (a full mesh: no forwarding, no mesh to wait for); ``on_peer`` is
called once per peer, at first contact; a peer is "connected" whenever it is open and not
partitioned from us.

One module, not two, although it passes 400 lines: the network and its endpoints are one
simulation (the network decides reachability, latency and drops for the endpoints' every
message), and splitting them would only trade private calls for a wider interface.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from types import TracebackType

import trio

from letsnode.core.errors import LetsError, LocalProtocolError
from letsnode.net.transport import (
    MAX_MESSAGE_BYTES,
    InvalidPeerId,
    MessageTooLarge,
    PeerError,
    PeerInfo,
    PeerRefused,
    PeerTimeout,
    PeerUnreachable,
    RequestHandler,
    TopicHandler,
    TopicValidator,
    error_reply_for,
    remote_error,
)

logger = logging.getLogger(__name__)

OnPeer = Callable[[bytes, list[str]], None]

ADDR_PREFIX = "/memory/"
GOSSIP_QUEUE = 256  # messages waiting for one subscriber's handler; more are dropped
_COMMUNITY_ID_BYTES = 32


def memory_addr(community_id: bytes) -> str:
    """The address of ``community_id`` on a ``MemoryNetwork``: ``/memory/<hex>``."""
    return ADDR_PREFIX + _checked_id(community_id).hex()


def _checked_id(community_id: bytes) -> bytes:
    if not isinstance(community_id, bytes) or len(community_id) != _COMMUNITY_ID_BYTES:
        raise InvalidPeerId(
            f"a community id is {_COMMUNITY_ID_BYTES} bytes, got {community_id!r:.80}"
        )
    return community_id


def _parse_addr(addr: str) -> bytes:
    try:
        if not addr.startswith(ADDR_PREFIX):
            raise ValueError(addr)
        return _checked_id(bytes.fromhex(addr[len(ADDR_PREFIX) :]))
    except ValueError as exc:
        raise InvalidPeerId(f"{addr!r:.120} is not a memory address (/memory/<hex id>)") from exc


class MemoryNetwork:
    """The in-memory "internet" that ``MemoryTransport``s reach each other through."""

    def __init__(self, *, seed: int = 0, latency: float = 0.0, drop_rate: float = 0.0) -> None:
        self._seed = seed
        self._open: dict[bytes, MemoryTransport] = {}
        self._cuts: set[frozenset[bytes]] = set()
        self._links: dict[tuple[bytes, bytes], random.Random] = {}
        self._changed = trio.Event()
        self.set_latency(latency)
        self.set_drop_rate(drop_rate)

    def transport(
        self,
        community_id: bytes,
        *,
        on_peer: OnPeer | None = None,
        known_peers: Sequence[tuple[bytes, list[str]]] = (),
        bootstrap: Sequence[str] = (),
        handler_timeout: float = 30.0,
        max_inbound_requests: int = 64,
    ) -> MemoryTransport:
        """A transport for ``community_id``, reachable once entered (``async with``)."""
        return MemoryTransport(
            self,
            _checked_id(community_id),
            on_peer=on_peer,
            known=[peer for peer, _ in known_peers] + [_parse_addr(a) for a in bootstrap],
            handler_timeout=handler_timeout,
            max_inbound_requests=max_inbound_requests,
        )

    # -- faults ------------------------------------------------------------------------

    def partition(self, a: bytes, b: bytes) -> None:
        """Cut the link between ``a`` and ``b`` (both directions) until ``heal``."""
        self._cuts.add(frozenset((a, b)))
        self._notify()

    def heal(self, a: bytes, b: bytes) -> None:
        """Restore the link between ``a`` and ``b``."""
        self._cuts.discard(frozenset((a, b)))
        self._notify()

    def heal_all(self) -> None:
        """Restore every link."""
        self._cuts.clear()
        self._notify()

    def set_latency(self, seconds: float) -> None:
        """One-way delay of every message from now on (a request round trip is twice this)."""
        if seconds < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {seconds}")
        self._latency = seconds

    def set_drop_rate(self, rate: float) -> None:
        """Probability (0 to 1) that a request, reply or gossip message is lost."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"drop rate must be between 0 and 1, got {rate}")
        self._drop_rate = rate

    def reachable(self, a: bytes, b: bytes) -> bool:
        """True if ``b`` is open and no partition separates it from ``a``."""
        return b in self._open and frozenset((a, b)) not in self._cuts

    # -- used by MemoryTransport -----------------------------------------------------------

    def _register(self, transport: MemoryTransport) -> None:
        if transport.local_id in self._open:
            raise LocalProtocolError(
                f"a transport for {transport.local_id.hex()} is already open on this network"
            )
        self._open[transport.local_id] = transport
        self._notify()

    def _unregister(self, transport: MemoryTransport) -> None:
        if self._open.get(transport.local_id) is transport:
            del self._open[transport.local_id]
            self._notify()

    def _peer(self, sender: bytes, receiver: bytes) -> MemoryTransport | None:
        return self._open[receiver] if self.reachable(sender, receiver) else None

    def _dropped(self, sender: bytes, receiver: bytes) -> bool:
        if self._drop_rate == 0.0:
            return False
        rng = self._links.get((sender, receiver))
        if rng is None:
            digest = hashlib.blake2b(
                self._seed.to_bytes(16, "big", signed=True) + sender + receiver, digest_size=8
            ).digest()
            rng = self._links[(sender, receiver)] = random.Random(int.from_bytes(digest, "big"))
        return rng.random() < self._drop_rate

    async def _transit(self, sender: bytes, receiver: bytes) -> None:
        """Carry one message: wait the latency, or forever if the message is lost."""
        lost = self._dropped(sender, receiver)  # drawn first: the draw order is the send order
        if self._latency > 0:
            await trio.sleep(self._latency)
        else:
            await trio.lowlevel.checkpoint()
        if lost:
            await trio.sleep_forever()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _wait_changed(self) -> None:
        await self._changed.wait()


@dataclass
class _Subscription:
    handler: TopicHandler
    validator: TopicValidator
    send: trio.MemorySendChannel[tuple[float, bytes, bytes]]


class MemoryTransport:
    """One node's endpoint on a ``MemoryNetwork``; use as ``async with network.transport(id)``."""

    def __init__(
        self,
        network: MemoryNetwork,
        community_id: bytes,
        *,
        on_peer: OnPeer | None,
        known: list[bytes],
        handler_timeout: float,
        max_inbound_requests: int,
    ) -> None:
        self._network = network
        self._id = community_id
        self._on_peer = on_peer
        self._known: dict[bytes, None] = dict.fromkeys(p for p in known if p != community_id)
        self._handler_timeout = handler_timeout
        self._inbound_slots = trio.Semaphore(max_inbound_requests)
        self._handlers: dict[str, RequestHandler] = {}
        self._subscriptions: dict[str, _Subscription] = {}
        self._nursery: trio.Nursery | None = None
        self._lifetime: AbstractAsyncContextManager[trio.Nursery] | None = None

    async def __aenter__(self) -> MemoryTransport:
        if self._lifetime is not None:
            raise LocalProtocolError("a memory transport opens once: ask the network for another")
        self._lifetime = self._open()
        self._nursery = await self._lifetime.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._lifetime is not None
        return await self._lifetime.__aexit__(exc_type, exc, tb)

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[trio.Nursery]:
        body_error: Exception | None = None
        self._network._register(self)  # outside the nursery: its error stays unwrapped
        async with trio.open_nursery() as nursery:
            try:
                yield nursery
            except Exception as exc:
                # Re-raised below, outside the nursery, so callers see their own
                # exception rather than an ExceptionGroup.
                body_error = exc
            finally:
                # Unreachable from now on; handlers still running are cancelled and their
                # requesters get PeerUnreachable.
                self._network._unregister(self)
                self._nursery = None
                for subscription in self._subscriptions.values():
                    subscription.send.close()
                nursery.cancel_scope.cancel()
        if body_error is not None:
            raise body_error

    # -- PeerTransport -------------------------------------------------------------------

    @property
    def local_id(self) -> bytes:
        """This node's community id."""
        return self._id

    def listen_addrs(self) -> list[str]:
        """The one address of this transport: ``/memory/<hex community id>``."""
        return [memory_addr(self._id)]

    def set_handler(self, protocol: str, handler: RequestHandler) -> None:
        """Answer requests for ``protocol``; a later call replaces the handler."""
        self._handlers[protocol] = handler

    async def request(self, peer: bytes, protocol: str, payload: bytes, timeout: float) -> bytes:
        """Send one request and return the response; errors as in the libp2p transport.

        ``PeerUnreachable`` (unknown peer, closed, partitioned), ``PeerTimeout`` (no reply
        within ``timeout``: slow handler, latency or a dropped message), ``PeerRefused``,
        ``MessageTooLarge`` or ``RemoteError`` (the handler's code and message).
        """
        self._open_nursery()
        if len(payload) > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(
                f"a {protocol} request of {len(payload)} bytes exceeds the "
                f"{MAX_MESSAGE_BYTES}-byte limit"
            )
        _checked_id(peer)
        if peer == self._id:
            raise PeerUnreachable(f"{protocol}: a node does not send requests to itself")
        with trio.move_on_after(timeout):
            return await self._exchange(peer, protocol, payload)
        raise PeerTimeout(
            f"peer {peer.hex()} did not answer a {protocol} request within {timeout} s"
        )

    async def connect(self, addr: str) -> bytes:
        """Make contact with the transport at ``addr`` and return its community id.

        Raises ``InvalidPeerId`` for a malformed address, ``PeerUnreachable`` if no open
        transport is there or a partition separates us.
        """
        self._open_nursery()
        peer = _parse_addr(addr)
        if peer == self._id:
            raise InvalidPeerId(f"{addr} is this node's own address")
        remote = self._network._peer(self._id, peer)
        if remote is None:
            raise PeerUnreachable(f"could not reach peer {peer.hex()} at {addr}")
        await trio.lowlevel.checkpoint()
        self._meet(peer)
        remote._meet(self._id)
        return peer

    def peers(self) -> list[PeerInfo]:
        """Every peer this transport has met, sorted by community id."""
        return [
            PeerInfo(
                community_id=peer,
                addrs=(memory_addr(peer),),
                connected=self._network.reachable(self._id, peer),
            )
            for peer in sorted(self._known)
        ]

    def subscribe(self, topic: str, handler: TopicHandler, validator: TopicValidator) -> None:
        """Receive what others publish on ``topic`` and ``validator`` accepts (in order).

        As with libp2p, the validator also vets what this node publishes, our own messages
        are not delivered back to us, and a failing handler is logged and skipped.
        """
        nursery = self._open_nursery()
        if topic in self._subscriptions:
            raise LocalProtocolError(f"already subscribed to gossip topic {topic!r}")
        send, receive = trio.open_memory_channel[tuple[float, bytes, bytes]](GOSSIP_QUEUE)
        subscription = _Subscription(handler, validator, send)
        self._subscriptions[topic] = subscription
        nursery.start_soon(self._deliver, topic, subscription, receive)
        self._network._notify()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Hand ``payload`` to every subscriber of ``topic`` we can reach (best effort)."""
        self._open_nursery()
        if len(payload) > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(
                f"a gossip message of {len(payload)} bytes on {topic!r} exceeds the "
                f"{MAX_MESSAGE_BYTES}-byte limit"
            )
        await trio.lowlevel.checkpoint()
        own = self._subscriptions.get(topic)
        if own is not None and not _accepts(own.validator, self._id, payload, topic):
            return
        deliver_at = trio.current_time() + self._network._latency
        for peer in sorted(self._network._open):
            remote = self._network._open[peer]
            subscription = remote._subscriptions.get(topic)
            if (
                remote is self
                or subscription is None
                or not self._network.reachable(self._id, peer)
                or self._network._dropped(self._id, peer)
            ):
                continue
            try:
                subscription.send.send_nowait((deliver_at, self._id, payload))
            except (trio.WouldBlock, trio.ClosedResourceError):
                logger.warning("gossip on %r to %s dropped: queue full", topic, peer.hex())

    # -- beyond PeerTransport --------------------------------------------------------------

    async def wait_topic_peers(self, topic: str, count: int = 1) -> None:
        """Wait until ``count`` reachable peers subscribe to ``topic`` (as in libp2p)."""
        while self._topic_peer_count(topic) < count:
            await self._network._wait_changed()

    def is_connected(self, peer: bytes) -> bool:
        """True if ``peer`` is open and not partitioned from us."""
        return self._network.reachable(self._id, peer)

    # -- internals -----------------------------------------------------------------------

    def _open_nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise LocalProtocolError(
                f"memory transport {self._id.hex()} is not open (use it in `async with`)"
            )
        return self._nursery

    def _meet(self, peer: bytes) -> None:
        if peer in self._known:
            return
        self._known[peer] = None
        if self._on_peer is not None:
            try:
                self._on_peer(peer, [memory_addr(peer)])
            except Exception:
                logger.exception("on_peer callback failed for %s", peer.hex())

    async def _exchange(self, peer: bytes, protocol: str, payload: bytes) -> bytes:
        if peer not in self._known:
            raise PeerUnreachable(f"no known address for peer {peer.hex()}")
        if self._network._peer(self._id, peer) is None:
            raise PeerUnreachable(f"could not reach peer {peer.hex()}")
        await self._network._transit(self._id, peer)
        remote = self._network._peer(self._id, peer)
        if remote is None:
            raise PeerUnreachable(f"lost peer {peer.hex()} while sending a {protocol} request")
        remote._meet(self._id)
        reply = await remote._serve(self._id, protocol, payload)
        await self._network._transit(peer, self._id)
        if not self._network.reachable(peer, self._id):
            reply = _broken(peer, protocol)
        if isinstance(reply, PeerError):
            raise reply
        return reply

    async def _serve(self, peer: bytes, protocol: str, payload: bytes) -> bytes | PeerError:
        """The response or the error to raise; the handler runs in *our* nursery, so it
        outlives a requester that gave up (as on a real network)."""
        handler = self._handlers.get(protocol)
        if handler is None:
            return PeerRefused(f"peer {self._id.hex()} does not serve {protocol}")
        try:
            self._inbound_slots.acquire_nowait()
        except trio.WouldBlock:
            return PeerRefused(f"peer {self._id.hex()}: too many requests in flight")
        done = trio.Event()
        outcome: list[bytes | PeerError] = []

        async def run() -> None:
            try:
                with trio.move_on_after(self._handler_timeout):
                    outcome.append(await self._answer(handler, peer, protocol, payload))
                if not outcome:
                    outcome.append(
                        PeerTimeout(
                            f"peer {self._id.hex()}: the {protocol} handler took longer than "
                            f"{self._handler_timeout} s"
                        )
                    )
            finally:
                self._inbound_slots.release()
                if not outcome:  # we were closed while the handler ran
                    outcome.append(_broken(self._id, protocol))
                done.set()

        self._open_nursery().start_soon(run)
        await done.wait()
        return outcome[0]

    async def _answer(
        self, handler: RequestHandler, peer: bytes, protocol: str, payload: bytes
    ) -> bytes | PeerError:
        try:
            response = await handler(peer, payload)
            if not isinstance(response, bytes):
                raise TypeError(f"a {protocol} handler returned {type(response).__name__}")
        except Exception as exc:
            if not isinstance(exc, LetsError):
                logger.exception("%s handler failed on a request from %s", protocol, peer.hex())
            return remote_error(*error_reply_for(exc, protocol))
        if len(response) > MAX_MESSAGE_BYTES:
            logger.error("%s handler answered %d bytes: over the limit", protocol, len(response))
            return MessageTooLarge(
                f"peer {self._id.hex()}: the {protocol} response exceeds the "
                f"{MAX_MESSAGE_BYTES}-byte limit"
            )
        return response

    async def _deliver(
        self,
        topic: str,
        subscription: _Subscription,
        receive: trio.MemoryReceiveChannel[tuple[float, bytes, bytes]],
    ) -> None:
        async with receive:
            async for deliver_at, publisher, payload in receive:
                await trio.sleep_until(deliver_at)
                if not _accepts(subscription.validator, publisher, payload, topic):
                    continue
                try:
                    await subscription.handler(publisher, payload)
                except Exception:
                    logger.exception("handler for gossip topic %r failed", topic)

    def _topic_peer_count(self, topic: str) -> int:
        return sum(
            1
            for peer, remote in self._network._open.items()
            if remote is not self
            and topic in remote._subscriptions
            and self._network.reachable(self._id, peer)
        )


def _broken(peer: bytes, protocol: str) -> PeerUnreachable:
    return PeerUnreachable(
        f"the connection to {peer.hex()} broke during a {protocol} request "
        "(the peer may have acted on it)"
    )


def _accepts(validator: TopicValidator, publisher: bytes, payload: bytes, topic: str) -> bool:
    try:
        return bool(validator(publisher, payload))
    except Exception:
        logger.exception("validator for gossip topic %r failed", topic)
        return False
