"""Which partners a libp2p host knows, dials, keeps connected and tells the node about.

py-libp2p 0.8.1 does several things on its own that a federation node must not leave to it,
so this module takes them over: it dials peers itself (the swarm's ``dial_peer`` waits a
250 ms happy-eyeballs delay even with one address, retries with its own backoff and then
blocks the peer for 60 s in a negative cache), and re-dials the peers it must keep
connected with a backoff of its own (``host.py`` stops the swarm's auto-connector, which
would otherwise dial every address it ever heard of).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import trio
from libp2p.abc import IHost, INetConn
from libp2p.identity.identify.identify import ID as IDENTIFY_PROTOCOL
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID

from letsnode.net.peerid import InvalidPeerId, community_id_from_peer_id, peer_addr, split_peer_addr
from letsnode.net.transport import PeerInfo, PeerUnreachable

logger = logging.getLogger(__name__)

OnPeer = Callable[[bytes, list[str]], None]

# Peers that merely connected (not dialled by us, not partners) are remembered, in memory
# only, up to this many: the least recently met goes first, so strangers with fresh keys
# cannot grow the book without bound.
MAX_MET = 256
MAX_ADDRS_PER_PEER = 8
_BACKOFF_JITTER = 0.2  # each wait is the nominal delay ±20 %, so restarts do not stampede
_IDENTIFY_POLL_SECONDS = 0.02


@dataclass
class _KnownPeer:
    addrs: list[str]  # full addresses, each ending in /p2p/<peer id>
    keep_connected: bool = False  # re-dial with backoff while disconnected


class Peers:
    """The connection book of one host; its tasks run in ``nursery``."""

    def __init__(
        self,
        host: IHost,
        swarm: Swarm,
        nursery: trio.Nursery,
        *,
        on_peer: OnPeer | None,
        backoff_initial: float,
        backoff_max: float,
        identify_wait: float,
    ) -> None:
        self._host = host
        self._swarm = swarm
        self._nursery = nursery
        self._on_peer = on_peer
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._identify_wait = identify_wait
        self._known: dict[ID, _KnownPeer] = {}
        self._connected: set[ID] = set()
        self._disconnects: dict[ID, trio.Event] = {}
        self._dial_locks: dict[ID, trio.Lock] = {}
        self._rng = random.Random()

    def infos(self) -> list[PeerInfo]:
        """Every peer known (connected or remembered), sorted by community id."""
        infos = []
        for peer_id in set(self._known) | self._connected:
            known = self._known.get(peer_id)
            infos.append(
                PeerInfo(
                    community_id=community_id_from_peer_id(peer_id),
                    addrs=tuple(known.addrs) if known else (),
                    connected=self.is_connected(peer_id),
                )
            )
        return sorted(infos, key=lambda info: info.community_id)

    def is_connected(self, peer_id: ID) -> bool:
        return any(not conn.is_closed for conn in self._swarm.get_connections(peer_id))

    def remember(self, peer_id: ID, addrs: list[str], *, keep_connected: bool = False) -> None:
        known = self._known.pop(peer_id, None) or _KnownPeer(addrs=[])
        self._known[peer_id] = known  # most recently met last
        known.addrs = list(dict.fromkeys([*addrs, *known.addrs]))[:MAX_ADDRS_PER_PEER]
        if keep_connected and not known.keep_connected:
            known.keep_connected = True
            self._nursery.start_soon(self._keep_connected, peer_id)
        self._forget_strangers()

    def _forget_strangers(self) -> None:
        met = [p for p, k in self._known.items() if not k.keep_connected]
        for peer_id in met[: max(0, len(met) - MAX_MET)]:
            if not self.is_connected(peer_id):
                del self._known[peer_id]
                self._dial_locks.pop(peer_id, None)

    async def ensure_connected(self, peer_id: ID) -> None:
        if self.is_connected(peer_id):
            return
        known = self._known.get(peer_id)
        if known is None or not known.addrs:
            raise PeerUnreachable(f"no known address for peer {peer_id}")
        await self.dial(peer_id, known.addrs)

    async def dial(self, peer_id: ID, addrs: list[str]) -> None:
        """Dial the addresses in order until one connects; concurrent dials share one."""
        lock = self._dial_locks.setdefault(peer_id, trio.Lock())
        async with lock:
            if self.is_connected(peer_id):
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
            if self.is_connected(peer_id):
                since = trio.current_time()
                while self.is_connected(peer_id):
                    await self._disconnects.setdefault(peer_id, trio.Event()).wait()
                if trio.current_time() - since >= self._backoff_max:
                    delay = self._backoff_initial
                delay = await self._back_off(delay)
            try:
                await self.dial(peer_id, self._known[peer_id].addrs)
            except PeerUnreachable as exc:
                logger.debug("re-dial in %.2f s: %s", delay, exc.message)
                delay = await self._back_off(delay)

    async def _back_off(self, delay: float) -> float:
        await trio.sleep(delay * self._rng.uniform(1 - _BACKOFF_JITTER, 1 + _BACKOFF_JITTER))
        return min(delay * 2, self._backoff_max)

    def on_connected(self, conn: INetConn) -> None:
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

    def on_disconnected(self, conn: INetConn) -> None:
        peer_id = conn.muxed_conn.peer_id
        if not self.is_connected(peer_id):
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
                self.remember(peer_id, addrs)
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


async def _close_quietly(conn: INetConn) -> None:
    try:
        await conn.close()
    except Exception as exc:
        logger.debug("closing a connection failed: %s", exc)


def _cause(exc: BaseException | None) -> str:
    """The innermost message of a libp2p exception chain (the outer ones are generic)."""
    text = "unknown error"
    while exc is not None:
        text = str(exc) or type(exc).__name__
        exc = exc.__cause__
    return text
