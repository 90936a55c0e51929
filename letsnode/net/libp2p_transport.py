"""``PeerTransport`` over py-libp2p: TCP + Noise + Yamux, one stream per request, GossipSub.

Wire format of a request/response protocol (one exchange per stream, both frames prefixed
with an unsigned varint length, as go-msgio does)::

    request  = payload                                  (at most MAX_MESSAGE_BYTES)
    reply    = 0x00 || response                         the handler's answer
             | 0x01 || msgpack [code, message]          the handler refused (RemoteError)
             | 0x02 || msgpack [code, message]          the transport refused: busy, too
                                                        large, handler too slow

The requester learns nothing about the responder from the message: the responder's
community id is the Noise-authenticated peer id of the connection, and so is the
requester's on the other side.

py-libp2p 0.8.1 does several things on its own that a federation node must not leave to it,
so this module takes them over (see ``_configure_swarm``): it dials peers itself (the
swarm's ``dial_peer`` waits a 250 ms happy-eyeballs delay even with one address, retries
with its own backoff and then blocks the peer for 60 s in a negative cache), and it stops
the swarm's auto-connector (which would otherwise dial every address it ever heard of).
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgpack
import multiaddr  # type: ignore[import-untyped]
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.exceptions import BaseLibp2pError
from libp2p.host.exceptions import StreamFailure
from libp2p.identity.identify.identify import ID as IDENTIFY_PROTOCOL
from libp2p.io.exceptions import MessageTooLarge as FrameTooLarge
from libp2p.io.utils import read_exactly
from libp2p.network.config import RetryConfig
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service
from libp2p.utils import decode_uvarint_from_stream, encode_varint_prefixed

from letsnode.core.errors import LetsError, LocalProtocolError
from letsnode.net.peerid import (
    InvalidPeerId,
    community_id_from_peer_id,
    key_pair_from_seed,
    peer_addr,
    peer_id_from_community_id,
    split_peer_addr,
)
from letsnode.net.transport import (
    MAX_MESSAGE_BYTES,
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

_OK, _HANDLER_ERROR, _TRANSPORT_ERROR = 0, 1, 2
_MAX_REPLY_BYTES = MAX_MESSAGE_BYTES + 1
# Transport refusals travel as codes; the requester raises the matching class.
_REFUSALS: dict[str, type[PeerError]] = {
    PeerTimeout.code: PeerTimeout,
    PeerRefused.code: PeerRefused,
    MessageTooLarge.code: MessageTooLarge,
}
_BACKOFF_JITTER = 0.2  # each wait is the nominal delay ±20 %, so restarts do not stampede
_IDENTIFY_POLL_SECONDS = 0.02
_GOSSIP_POLL_SECONDS = 0.01


@dataclass
class _KnownPeer:
    addrs: list[str]  # full addresses, each ending in /p2p/<peer id>
    keep_connected: bool = False  # re-dial with backoff while disconnected


class _ConnectionEvents(INotifee):
    """Forwards the swarm's connection events to the transport (never blocks the swarm)."""

    def __init__(self, transport: Libp2pTransport) -> None:
        self._transport = transport

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._transport._on_connected(conn)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._transport._on_disconnected(conn)

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None


class Libp2pTransport:
    """A running libp2p host seen through the ``PeerTransport`` interface.

    Made by ``open_libp2p_transport``; every method must be called inside that context.
    """

    def __init__(
        self,
        host: IHost,
        swarm: Swarm,
        pubsub: Pubsub,
        router: GossipSub,
        nursery: trio.Nursery,
        *,
        on_peer: OnPeer | None,
        backoff_initial: float,
        backoff_max: float,
        handler_timeout: float,
        max_inbound_requests: int,
        identify_wait: float,
    ) -> None:
        self._host = host
        self._swarm = swarm
        self._pubsub = pubsub
        self._router = router
        self._nursery = nursery
        self._on_peer = on_peer
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._handler_timeout = handler_timeout
        self._inbound_slots = trio.Semaphore(max_inbound_requests)
        self._identify_wait = identify_wait
        self._local_id = community_id_from_peer_id(host.get_id())
        self._handlers: dict[str, RequestHandler] = {}
        self._topics: set[str] = set()
        self._known: dict[ID, _KnownPeer] = {}
        self._connected: set[ID] = set()
        self._disconnects: dict[ID, trio.Event] = {}
        self._dial_locks: dict[ID, trio.Lock] = {}
        self._rng = random.Random()

    # -- PeerTransport -------------------------------------------------------------------

    @property
    def local_id(self) -> bytes:
        """This node's community id (32-byte Ed25519 public key)."""
        return self._local_id

    def listen_addrs(self) -> list[str]:
        """Addresses partners can dial, each ending in /p2p/<peer id>."""
        return [str(addr) for addr in self._host.get_addrs()]

    def set_handler(self, protocol: str, handler: RequestHandler) -> None:
        """Answer requests for ``protocol``; a later call replaces the handler."""
        self._handlers[protocol] = handler
        self._host.set_stream_handler(TProtocol(protocol), functools.partial(self._serve, protocol))

    async def request(self, peer: bytes, protocol: str, payload: bytes, timeout: float) -> bytes:
        """Send one request and return the response (dialling the peer first if needed).

        Raises ``MessageTooLarge`` (payload over MAX_MESSAGE_BYTES), ``PeerUnreachable``,
        ``PeerTimeout`` (no answer within ``timeout`` seconds, dial included),
        ``PeerRefused`` (protocol not served, peer busy) or ``RemoteError`` (the peer's
        handler refused: its code and message); ``InvalidPeerId`` if ``peer`` is not a
        community id. After a timeout or a lost connection the peer may or may not have
        acted on the request: retries must be idempotent.
        """
        if len(payload) > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(
                f"a {protocol} request of {len(payload)} bytes exceeds the "
                f"{MAX_MESSAGE_BYTES}-byte limit"
            )
        peer_id = peer_id_from_community_id(peer)
        if peer == self._local_id:
            raise PeerUnreachable(f"{protocol}: a node does not send requests to itself")
        with trio.move_on_after(timeout):
            return await self._exchange(peer_id, protocol, payload)
        raise PeerTimeout(f"peer {peer_id} did not answer a {protocol} request within {timeout} s")

    async def connect(self, addr: str) -> bytes:
        """Dial ``addr`` (``/ip4/…/tcp/…/p2p/<peer id>``) and return the peer's community id.

        The peer is then kept connected: re-dialled with backoff whenever the connection
        drops. Raises ``InvalidPeerId`` for a malformed address, ``PeerUnreachable`` when
        the dial fails (the address is then not remembered).
        """
        _, community_id = split_peer_addr(addr)
        if community_id == self._local_id:
            raise InvalidPeerId(f"{addr} is this node's own address")
        peer_id = peer_id_from_community_id(community_id)
        await self._dial(peer_id, [addr])
        self._remember(peer_id, [addr], keep_connected=True)
        return community_id

    def peers(self) -> list[PeerInfo]:
        """Every peer known (connected or remembered), sorted by community id."""
        infos = []
        for peer_id in set(self._known) | self._connected:
            known = self._known.get(peer_id)
            infos.append(
                PeerInfo(
                    community_id=community_id_from_peer_id(peer_id),
                    addrs=tuple(known.addrs) if known else (),
                    connected=self._is_connected(peer_id),
                )
            )
        return sorted(infos, key=lambda info: info.community_id)

    def subscribe(self, topic: str, handler: TopicHandler, validator: TopicValidator) -> None:
        """Receive what others publish on ``topic`` and ``validator`` accepts.

        The validator runs before a message is delivered *or forwarded*, and also on what
        this node publishes itself (a message it rejects is not sent). Handlers of one topic
        run one at a time, in arrival order; a failing handler is logged and skipped. Our
        own messages are not delivered back to us.
        """
        if topic in self._topics:
            raise LocalProtocolError(f"already subscribed to gossip topic {topic!r}")
        self._topics.add(topic)
        self._pubsub.set_topic_validator(
            topic, functools.partial(self._validate, topic, validator), False
        )
        self._nursery.start_soon(self._deliver, topic, handler)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Sign (with the node key) and publish ``payload`` on ``topic``.

        Best effort: peers reached only once the gossipsub mesh has formed (see
        ``wait_topic_peers``), nothing is retried, slow subscribers drop messages, and
        py-libp2p rate-limits each peer to ``gossip_rate`` messages per second per topic.
        """
        if len(payload) > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(
                f"a gossip message of {len(payload)} bytes on {topic!r} exceeds the "
                f"{MAX_MESSAGE_BYTES}-byte limit"
            )
        try:
            await self._pubsub.publish(topic, payload)
        except BaseLibp2pError as exc:
            raise PeerError(f"could not publish on gossip topic {topic!r}: {exc}") from exc

    # -- beyond PeerTransport --------------------------------------------------------------

    async def wait_topic_peers(self, topic: str, count: int = 1) -> None:
        """Wait until ``count`` peers would receive what we publish on ``topic``.

        Subscribed topics count mesh peers (after our own subscription is announced);
        other topics count peers known to subscribe. No timeout: wrap in ``trio.fail_after``.
        """
        while len(self._topic_peers(topic)) < count:
            # py-libp2p has an event per (peer, topic) but none for "n peers": poll.
            await trio.sleep(_GOSSIP_POLL_SECONDS)

    def is_connected(self, peer: bytes) -> bool:
        """True while at least one connection to ``peer`` is open."""
        return self._is_connected(peer_id_from_community_id(peer))

    # -- requests --------------------------------------------------------------------------

    async def _exchange(self, peer_id: ID, protocol: str, payload: bytes) -> bytes:
        await self._ensure_connected(peer_id)
        try:
            stream = await self._host.new_stream(peer_id, [TProtocol(protocol)])
        except StreamFailure as exc:
            if "protocol not supported" in str(exc.__cause__):
                raise PeerRefused(f"peer {peer_id} does not serve {protocol}") from exc
            raise PeerUnreachable(f"could not open a {protocol} stream to {peer_id}") from exc
        except Exception as exc:  # py-libp2p raises many types; none may escape as-is
            raise PeerUnreachable(f"could not open a {protocol} stream to {peer_id}") from exc
        finished = False
        try:
            await stream.write(encode_varint_prefixed(payload))
            reply = await _read_frame(stream, _MAX_REPLY_BYTES)
            finished = True
        except FrameTooLarge as exc:
            raise MessageTooLarge(f"peer {peer_id} sent an oversized {protocol} reply") from exc
        except Exception as exc:
            raise PeerUnreachable(
                f"the connection to {peer_id} broke during a {protocol} request "
                "(the peer may have acted on it)"
            ) from exc
        finally:
            await _finish(stream, finished)
        return _decode_reply(reply, peer_id, protocol)

    async def _serve(self, protocol: str, stream: INetStream) -> None:
        try:
            reply = await self._reply_for(protocol, stream)
            # Bounded so a requester that stops reading cannot keep this task alive.
            with trio.move_on_after(self._handler_timeout):
                await stream.write(encode_varint_prefixed(reply))
                await _finish(stream, True)
                return
            await _finish(stream, False)
        except Exception as exc:  # the stream broke; the handler's own errors are replies
            logger.debug("%s stream from %s failed: %s", protocol, stream.muxed_conn.peer_id, exc)
            await _finish(stream, False)

    async def _reply_for(self, protocol: str, stream: INetStream) -> bytes:
        remote = stream.muxed_conn.peer_id  # authenticated by the Noise handshake
        try:
            peer = community_id_from_peer_id(remote)
        except InvalidPeerId as exc:
            return _refusal(PeerRefused.code, exc.message)
        try:
            self._inbound_slots.acquire_nowait()
        except trio.WouldBlock:
            return _refusal(PeerRefused.code, "the peer is busy: too many requests in flight")
        try:
            with trio.move_on_after(self._handler_timeout):
                try:
                    request = await _read_frame(stream, MAX_MESSAGE_BYTES)
                except FrameTooLarge:
                    return _refusal(
                        MessageTooLarge.code,
                        f"{protocol} requests are limited to {MAX_MESSAGE_BYTES} bytes",
                    )
                return await self._answer(protocol, peer, request)
            return _refusal(
                PeerTimeout.code,
                f"the peer's {protocol} handler took longer than {self._handler_timeout} s",
            )
        finally:
            self._inbound_slots.release()

    async def _answer(self, protocol: str, peer: bytes, request: bytes) -> bytes:
        try:
            response = await self._handlers[protocol](peer, request)
            if not isinstance(response, bytes):
                raise TypeError(f"a {protocol} handler returned {type(response).__name__}")
        except Exception as exc:
            if not isinstance(exc, LetsError):
                logger.exception("%s handler failed on a request from %s", protocol, peer.hex())
            code, message = error_reply_for(exc, protocol)
            return _encode_error(_HANDLER_ERROR, code, message)
        if len(response) > MAX_MESSAGE_BYTES:
            logger.error("%s handler answered %d bytes: over the limit", protocol, len(response))
            return _refusal(
                MessageTooLarge.code,
                f"the {protocol} response exceeds the {MAX_MESSAGE_BYTES}-byte limit",
            )
        return bytes([_OK]) + response

    # -- connections -----------------------------------------------------------------------

    def _is_connected(self, peer_id: ID) -> bool:
        return any(not conn.is_closed for conn in self._swarm.get_connections(peer_id))

    def _remember(self, peer_id: ID, addrs: list[str], *, keep_connected: bool = False) -> None:
        known = self._known.setdefault(peer_id, _KnownPeer(addrs=[]))
        known.addrs = list(dict.fromkeys([*addrs, *known.addrs]))
        if keep_connected and not known.keep_connected:
            known.keep_connected = True
            self._nursery.start_soon(self._keep_connected, peer_id)

    async def _ensure_connected(self, peer_id: ID) -> None:
        if self._is_connected(peer_id):
            return
        known = self._known.get(peer_id)
        if known is None or not known.addrs:
            raise PeerUnreachable(f"no known address for peer {peer_id}")
        await self._dial(peer_id, known.addrs)

    async def _dial(self, peer_id: ID, addrs: list[str]) -> None:
        """Dial the addresses in order until one connects; concurrent dials share one."""
        lock = self._dial_locks.setdefault(peer_id, trio.Lock())
        async with lock:
            if self._is_connected(peer_id):
                return
            failure: Exception | None = None
            for addr in addrs:
                transport_addr, _ = split_peer_addr(addr)
                try:
                    await self._swarm.dial_addr(transport_addr, peer_id)
                    return
                except Exception as exc:  # a failed dial must never take the node down
                    failure = exc
            raise PeerUnreachable(
                f"could not reach peer {peer_id} at {', '.join(addrs)}: {_cause(failure)}"
            ) from failure

    async def _keep_connected(self, peer_id: ID) -> None:
        """Re-dial ``peer_id`` whenever no connection to it is open.

        Every wait before a re-dial doubles (``backoff_initial`` up to ``backoff_max``,
        ±20 % jitter so restarted nodes do not stampede); a connection that stayed up for
        ``backoff_max`` seconds starts the series over, so a flapping peer cannot make us
        dial in a tight loop.
        """
        delay = self._backoff_initial
        while True:
            if self._is_connected(peer_id):
                since = trio.current_time()
                while self._is_connected(peer_id):
                    await self._disconnects.setdefault(peer_id, trio.Event()).wait()
                if trio.current_time() - since >= self._backoff_max:
                    delay = self._backoff_initial
                delay = await self._back_off(delay)
            try:
                await self._dial(peer_id, self._known[peer_id].addrs)
            except PeerUnreachable as exc:
                logger.debug("re-dial in %.2f s: %s", delay, exc.message)
                delay = await self._back_off(delay)

    async def _back_off(self, delay: float) -> float:
        await trio.sleep(delay * self._rng.uniform(1 - _BACKOFF_JITTER, 1 + _BACKOFF_JITTER))
        return min(delay * 2, self._backoff_max)

    def _on_connected(self, conn: INetConn) -> None:
        peer_id = conn.muxed_conn.peer_id
        try:
            community_id_from_peer_id(peer_id)
        except InvalidPeerId as exc:
            logger.warning("closing a connection from a non-letsnode peer: %s", exc.message)
            self._nursery.start_soon(_close_quietly, conn)
            return
        if peer_id not in self._connected:
            self._connected.add(peer_id)
            self._nursery.start_soon(self._announce, peer_id)

    def _on_disconnected(self, conn: INetConn) -> None:
        peer_id = conn.muxed_conn.peer_id
        if not self._is_connected(peer_id):
            self._connected.discard(peer_id)
            event = self._disconnects.pop(peer_id, None)
            if event is not None:
                event.set()

    async def _announce(self, peer_id: ID) -> None:
        """Tell ``on_peer`` about a newly connected peer, with addresses to dial it later.

        A peer we dialled is known by the address we used; a peer that dialled us is known
        once identify has told us where it listens (waited for at most ``identify_wait``).
        """
        known = self._known.get(peer_id)
        if known is None or not known.addrs:
            with trio.move_on_after(self._identify_wait):
                # py-libp2p signals the end of identify only through the peerstore: poll it.
                while not self._identified(peer_id):
                    await trio.sleep(_IDENTIFY_POLL_SECONDS)
            addrs = self._advertised_addrs(peer_id)
            if addrs:
                self._remember(peer_id, addrs)
            known = self._known.get(peer_id)
        if self._on_peer is not None:
            try:
                self._on_peer(
                    community_id_from_peer_id(peer_id), list(known.addrs) if known else []
                )
            except Exception:
                logger.exception("on_peer callback failed for %s", peer_id)

    def _identified(self, peer_id: ID) -> bool:
        try:
            return bool(self._host.get_peerstore().supports_protocols(peer_id, [IDENTIFY_PROTOCOL]))
        except Exception:
            return False

    def _advertised_addrs(self, peer_id: ID) -> list[str]:
        community_id = community_id_from_peer_id(peer_id)
        addrs = []
        try:
            for addr in self._host.get_peerstore().addrs(peer_id):
                protocols = {proto.name for proto in addr.protocols()}
                if "tcp" in protocols and protocols & {"ip4", "ip6", "dns4", "dns6"}:
                    addrs.append(peer_addr(addr, community_id))
        except Exception:
            return []
        return addrs

    # -- gossip ----------------------------------------------------------------------------

    def _validate(
        self, topic: str, validator: TopicValidator, forwarder: ID, msg: rpc_pb2.Message
    ) -> bool:
        if len(msg.data) > MAX_MESSAGE_BYTES:
            return False
        try:
            publisher = community_id_from_peer_id(ID(msg.from_id))
        except InvalidPeerId:
            return False
        try:
            return bool(validator(publisher, bytes(msg.data)))
        except Exception:
            logger.exception("validator for gossip topic %r failed", topic)
            return False

    async def _deliver(self, topic: str, handler: TopicHandler) -> None:
        subscription = await self._pubsub.subscribe(topic)
        own = self._host.get_id().to_bytes()
        while True:
            msg = await subscription.get()
            if msg.from_id == own:
                continue
            try:
                # Pubsub checked the signature against from_id (strict signing) and our
                # validator accepted the publisher: this is the authenticated source.
                publisher = community_id_from_peer_id(ID(msg.from_id))
                await handler(publisher, bytes(msg.data))
            except Exception:
                logger.exception("handler for gossip topic %r failed", topic)

    def _topic_peers(self, topic: str) -> set[ID]:
        if topic in self._topics:
            return set(self._router.mesh.get(topic, ()))
        return set(self._pubsub.peer_topics.get(topic, ()))


@asynccontextmanager
async def open_libp2p_transport(
    seed: bytes,
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",),
    bootstrap: Sequence[str] = (),
    *,
    on_peer: OnPeer | None = None,
    known_peers: Sequence[tuple[bytes, list[str]]] = (),
    backoff_initial: float = 0.5,
    backoff_max: float = 30.0,
    handler_timeout: float = 30.0,
    max_inbound_requests: int = 64,
    identify_wait: float = 5.0,
    gossip_rate: float = 100.0,
) -> AsyncIterator[Libp2pTransport]:
    """Run a libp2p host whose identity is the node key with this 32-byte ``seed``.

    ``listen``: multiaddrs to listen on (port 0 picks a free port; see ``listen_addrs()``).
    ``bootstrap``: full peer addresses dialled at start, and ``known_peers`` (community id,
    remembered addresses) likewise; all are re-dialled with exponential backoff
    (``backoff_initial`` doubling to ``backoff_max`` seconds, ±20 % jitter) whenever
    disconnected, and an unreachable one does not fail the start. ``on_peer(community id,
    addresses)`` is called once per peer each time it connects. Inbound handlers get
    ``handler_timeout`` seconds; at most ``max_inbound_requests`` run at once (more are
    refused with ``peer_refused``). ``gossip_rate`` is py-libp2p's per-peer, per-topic
    message rate limit (its default of 10/s also throttles our own publications).

    On exit the host, its connections, listeners and pubsub services are all closed.
    """
    key_pair = key_pair_from_seed(seed)
    listen_addrs = [multiaddr.Multiaddr(addr) for addr in listen]
    host = new_host(
        key_pair=key_pair,
        # Only Noise and Yamux: new_host's defaults also offer TLS, SECIO, *plaintext* and mplex.
        sec_opt={
            NOISE_PROTOCOL_ID: NoiseTransport(
                key_pair, noise_privkey=create_x25519_key_pair().private_key
            )
        },
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
        listen_addrs=listen_addrs,
    )
    swarm = host.get_network()
    if not isinstance(swarm, Swarm):
        raise TypeError(f"expected a py-libp2p Swarm, got {type(swarm).__name__}")
    _configure_swarm(swarm)
    router = GossipSub(
        [PROTOCOL_ID_V12, PROTOCOL_ID_V11],
        degree=6,
        degree_low=4,
        degree_high=12,
        heartbeat_interval=1,
        max_messages_per_topic_per_second=gossip_rate,
    )
    pubsub = Pubsub(host, router, strict_signing=True)
    # A bad bootstrap address is a configuration error; a bad remembered one is skipped.
    remembered = [(split_peer_addr(addr)[1], [addr]) for addr in bootstrap]
    for community_id, addrs in known_peers:
        try:
            remembered.append((community_id, [peer_addr(addr, community_id) for addr in addrs]))
        except InvalidPeerId as exc:
            logger.warning("ignoring a remembered peer: %s", exc.message)

    body_error: Exception | None = None
    async with host.run(listen_addrs):
        try:
            # We own the dialling policy (bootstrap, known peers, backoff): see the module doc.
            await swarm.auto_connector.stop()
            async with background_trio_service(pubsub), background_trio_service(router):
                await pubsub.wait_until_ready()
                async with trio.open_nursery() as nursery:
                    transport = Libp2pTransport(
                        host,
                        swarm,
                        pubsub,
                        router,
                        nursery,
                        on_peer=on_peer,
                        backoff_initial=backoff_initial,
                        backoff_max=backoff_max,
                        handler_timeout=handler_timeout,
                        max_inbound_requests=max_inbound_requests,
                        identify_wait=identify_wait,
                    )
                    swarm.register_notifee(_ConnectionEvents(transport))
                    for peer_id in list(swarm.connections):
                        transport._on_connected(swarm.connections[peer_id][0])
                    for community_id, addrs in remembered:
                        if community_id != transport.local_id:
                            peer_id = peer_id_from_community_id(community_id)
                            transport._remember(peer_id, addrs, keep_connected=True)
                    try:
                        yield transport
                    except Exception as exc:
                        # Re-raised below, outside py-libp2p's nurseries, so callers see
                        # their own exception rather than an ExceptionGroup.
                        body_error = exc
                    finally:
                        nursery.cancel_scope.cancel()
        finally:
            # Without this the outgoing TCP sockets outlive the host (ResourceWarning).
            with trio.CancelScope(shield=True):
                await host.close()
    if body_error is not None:
        raise body_error


def _configure_swarm(swarm: Swarm) -> None:
    # One attempt per dial: _keep_connected and request() decide when to try again.
    swarm.retry_config = RetryConfig(max_retries=0)


async def _close_quietly(conn: INetConn) -> None:
    try:
        await conn.close()
    except Exception as exc:
        logger.debug("closing a connection failed: %s", exc)


async def _finish(stream: INetStream, cleanly: bool) -> None:
    """Close a request stream, or reset it after a failure; never raises, never waits long."""
    with trio.CancelScope(shield=True), trio.move_on_after(1.0):
        try:
            if cleanly:
                await stream.close()
            else:
                await stream.reset()
        except Exception as exc:
            logger.debug("closing a request stream failed: %s", exc)


async def _read_frame(stream: INetStream, limit: int) -> bytes:
    """One varint-length-prefixed frame of at most ``limit`` bytes.

    Not libp2p's ``VarIntLengthMsgReadWriter.read_msg``: it hangs on an empty frame (a
    yamux ``read(0)`` waits for data that never comes), and empty requests are legitimate.
    """
    length = await decode_uvarint_from_stream(stream)
    if length > limit:
        raise FrameTooLarge(f"a frame of {length} bytes exceeds the {limit}-byte limit")
    return await read_exactly(stream, length) if length else b""


def _encode_error(status: int, code: str, message: str) -> bytes:
    body: bytes = msgpack.packb([code, message], use_bin_type=True)
    return bytes([status]) + body


def _refusal(code: str, message: str) -> bytes:
    return _encode_error(_TRANSPORT_ERROR, code, message)


def _decode_reply(reply: bytes, peer_id: ID, protocol: str) -> bytes:
    if reply[:1] == bytes([_OK]):
        return reply[1:]
    try:
        code, message = msgpack.unpackb(reply[1:], raw=False, max_str_len=4096, max_array_len=2)
    except Exception:
        code = message = None
    if reply[:1] == bytes([_TRANSPORT_ERROR]) and code in _REFUSALS and isinstance(message, str):
        raise _REFUSALS[code](f"peer {peer_id}: {message}")
    if reply[:1] == bytes([_HANDLER_ERROR]) and isinstance(code, str):
        raise remote_error(code, message)
    raise remote_error("peer_error", f"peer {peer_id} sent a malformed {protocol} reply")


def _cause(exc: BaseException | None) -> str:
    """The innermost message of a libp2p exception chain (the outer ones are generic)."""
    text = "unknown error"
    while exc is not None:
        text = str(exc) or type(exc).__name__
        exc = exc.__cause__
    return text
