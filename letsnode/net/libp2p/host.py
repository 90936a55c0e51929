"""``open_libp2p_transport``: run a libp2p host (TCP + Noise + Yamux, GossipSub) whose
identity is the node key, and hand it out as a ``Libp2pTransport``.

Only Noise and Yamux are offered (py-libp2p's defaults also offer TLS, SECIO, *plaintext*
and mplex); the swarm's own dialling policy is switched off in favour of ``peers.py``'s.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import multiaddr  # type: ignore[import-untyped]
import trio
from libp2p import new_host
from libp2p.abc import INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import RetryConfig
from libp2p.network.swarm import Swarm
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from letsnode.core.errors import InvalidInput
from letsnode.net.libp2p.peers import OnPeer, Peers
from letsnode.net.libp2p.transport import Libp2pTransport
from letsnode.net.peerid import (
    InvalidPeerId,
    key_pair_from_seed,
    peer_addr,
    peer_id_from_community_id,
    split_peer_addr,
)

logger = logging.getLogger(__name__)


class _ConnectionEvents(INotifee):
    """Forwards the swarm's connection events to the transport (never blocks the swarm)."""

    def __init__(self, transport: Libp2pTransport) -> None:
        self._transport = transport

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._transport.book.on_connected(conn)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._transport.book.on_disconnected(conn)

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None


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
    listen_addrs = [_listen_addr(addr) for addr in listen]
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
                    book = Peers(
                        host,
                        swarm,
                        nursery,
                        on_peer=on_peer,
                        backoff_initial=backoff_initial,
                        backoff_max=backoff_max,
                        identify_wait=identify_wait,
                    )
                    transport = Libp2pTransport(
                        host,
                        swarm,
                        pubsub,
                        router,
                        nursery,
                        book,
                        handler_timeout=handler_timeout,
                        max_inbound_requests=max_inbound_requests,
                    )
                    swarm.register_notifee(_ConnectionEvents(transport))
                    for peer_id in list(swarm.connections):
                        book.on_connected(swarm.connections[peer_id][0])
                    for community_id, addrs in remembered:
                        if community_id != transport.local_id:
                            peer_id = peer_id_from_community_id(community_id)
                            book.remember(peer_id, addrs, keep_connected=True)
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


def _listen_addr(addr: str) -> multiaddr.Multiaddr:
    try:
        return multiaddr.Multiaddr(addr)
    except Exception as exc:  # multiaddr's parse errors have no common base we can name
        raise InvalidInput(
            f"listen address {addr!r} is not a multiaddr such as /ip4/127.0.0.1/tcp/4001: {exc}"
        ) from None


def _configure_swarm(swarm: Swarm) -> None:
    # One attempt per dial: _keep_connected and request() decide when to try again.
    swarm.retry_config = RetryConfig(max_retries=0)
