"""``Libp2pTransport``: a running libp2p host seen through the ``PeerTransport`` interface:
requests (one stream each, framed by ``frames.py``) and GossipSub topics.

The requester learns nothing about the responder from the message: the responder's
community id is the Noise-authenticated peer id of the connection, and so is the
requester's on the other side.
"""

from __future__ import annotations

import functools
import logging

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.exceptions import BaseLibp2pError
from libp2p.host.exceptions import StreamFailure
from libp2p.io.exceptions import MessageTooLarge as FrameTooLarge
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.utils import encode_varint_prefixed

from letsnode.core.errors import LetsError, LocalProtocolError
from letsnode.net.libp2p.frames import (
    HANDLER_ERROR,
    MAX_REPLY_BYTES,
    OK,
    decode_reply,
    encode_error,
    finish,
    read_frame,
    refusal,
)
from letsnode.net.libp2p.peers import Peers
from letsnode.net.peerid import (
    InvalidPeerId,
    community_id_from_peer_id,
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
)

logger = logging.getLogger(__name__)

_GOSSIP_POLL_SECONDS = 0.01


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
        book: Peers,
        *,
        handler_timeout: float,
        max_inbound_requests: int,
    ) -> None:
        self._host = host
        self._swarm = swarm
        self._pubsub = pubsub
        self._router = router
        self._nursery = nursery
        self.book = book
        self._handler_timeout = handler_timeout
        self._inbound_slots = trio.Semaphore(max_inbound_requests)
        self._local_id = community_id_from_peer_id(host.get_id())
        self._handlers: dict[str, RequestHandler] = {}
        self._topics: set[str] = set()

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
        await self.book.dial(peer_id, [addr])
        self.book.remember(peer_id, [addr], keep_connected=True)
        return community_id

    def peers(self) -> list[PeerInfo]:
        """Every peer known (connected or remembered), sorted by community id."""
        return self.book.infos()

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
        return self.book.is_connected(peer_id_from_community_id(peer))

    # -- requests --------------------------------------------------------------------------

    async def _exchange(self, peer_id: ID, protocol: str, payload: bytes) -> bytes:
        await self.book.ensure_connected(peer_id)
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
            reply = await read_frame(stream, MAX_REPLY_BYTES)
            finished = True
        except FrameTooLarge as exc:
            raise MessageTooLarge(f"peer {peer_id} sent an oversized {protocol} reply") from exc
        except Exception as exc:
            raise PeerUnreachable(
                f"the connection to {peer_id} broke during a {protocol} request "
                "(the peer may have acted on it)"
            ) from exc
        finally:
            await finish(stream, finished)
        return decode_reply(reply, peer_id, protocol)

    async def _serve(self, protocol: str, stream: INetStream) -> None:
        try:
            reply = await self._reply_for(protocol, stream)
            # Bounded so a requester that stops reading cannot keep this task alive.
            with trio.move_on_after(self._handler_timeout):
                await stream.write(encode_varint_prefixed(reply))
                await finish(stream, True)
                return
            await finish(stream, False)
        except Exception as exc:  # the stream broke; the handler's own errors are replies
            logger.debug("%s stream from %s failed: %s", protocol, stream.muxed_conn.peer_id, exc)
            await finish(stream, False)

    async def _reply_for(self, protocol: str, stream: INetStream) -> bytes:
        remote = stream.muxed_conn.peer_id  # authenticated by the Noise handshake
        try:
            peer = community_id_from_peer_id(remote)
        except InvalidPeerId as exc:
            return refusal(PeerRefused.code, exc.message)
        try:
            self._inbound_slots.acquire_nowait()
        except trio.WouldBlock:
            return refusal(PeerRefused.code, "the peer is busy: too many requests in flight")
        try:
            with trio.move_on_after(self._handler_timeout):
                try:
                    request = await read_frame(stream, MAX_MESSAGE_BYTES)
                except FrameTooLarge:
                    return refusal(
                        MessageTooLarge.code,
                        f"{protocol} requests are limited to {MAX_MESSAGE_BYTES} bytes",
                    )
                return await self._answer(protocol, peer, request)
            return refusal(
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
            return encode_error(HANDLER_ERROR, code, message)
        if len(response) > MAX_MESSAGE_BYTES:
            logger.error("%s handler answered %d bytes: over the limit", protocol, len(response))
            return refusal(
                MessageTooLarge.code,
                f"the {protocol} response exceeds the {MAX_MESSAGE_BYTES}-byte limit",
            )
        return bytes([OK]) + response

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
