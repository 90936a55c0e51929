"""The federation service of a running node: handlers, adverts and the timers.

``Federation.run`` registers the line and transfer protocols on the transport, subscribes to
line adverts, finishes what the log shows unfinished (after a crash), and then keeps three
loops going: expiry of legs, recovery of in-doubt legs, and publishing our advert.

Two seams for simulations (``letsnode.sim``), both off unless asked for: ``rng`` draws the
ids of transfers, lines and rounds and the jitter of the clearing loop from a seeded
generator instead of the system's randomness, so that a run can be repeated; and
``FederationConfig.idle_tick_s`` lets the recovery loop rest while nothing waits on it, so
that a year of simulated time does not cost a pass every ``tick_s``.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from letsnode.core.errors import InvalidInput, LedgerRefusal, LetsError
from letsnode.core.names import check_slug
from letsnode.core.routing import RoutingTable
from letsnode.core.wire import codec
from letsnode.core.wire.adverts import Advert, AdvertLine
from letsnode.federation import wire
from letsnode.federation.clearing import ClearingDesk
from letsnode.federation.lines import LineDesk
from letsnode.federation.peers import Partners
from letsnode.federation.port import LedgerPort
from letsnode.federation.transfers import Timing, TransferDesk
from letsnode.net.peerid import community_id_from_peer_id
from letsnode.net.transport import PeerTransport
from letsnode.store.clearing_store import ClearingStore
from letsnode.store.federation_store import FederationStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FederationConfig:
    timing: Timing = field(default_factory=Timing)
    advert_interval_s: float = 10.0
    tick_s: float = 0.5
    clearing_every_s: float | None = None  # run a clearing round this often (None: never)
    clearing_timeout_s: float = 10.0
    # None: a recovery pass every tick_s, always. A number: while no hold is pending, no
    # clearing round runs or waits on us and no line agreement is unsent, the next pass
    # waits for the next change (a hold, a vote...) or this many seconds, then tick_s.
    idle_tick_s: float | None = None
    advert_settle_s: float = 0.2  # after a change, wait this long for more before advertising


# Adverts decoded and verified, by (publisher, exact message bytes): the same bytes always
# decode and verify the same way, so the result may be reused. The most recent kept.
_VERIFIED_ADVERTS: OrderedDict[tuple[bytes, bytes], Advert] = OrderedDict()
_VERIFIED_ADVERTS_KEPT = 256


def hex_id(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidInput("community id must be hex") from None


class Federation:
    def __init__(
        self,
        port: LedgerPort,
        transport: PeerTransport,
        store: FederationStore,
        config: FederationConfig | None = None,
        partners: Partners | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.port = port
        self.transport = transport
        self.store = store
        self.config = config or FederationConfig()
        self.partners = partners or Partners(lambda: port.ledger, store, port.clock)
        me = port.key.public
        self.routes = RoutingTable(keep=lambda c: c == me or c in self.partners.ids())
        self.lines = LineDesk(port, transport, store)
        self.transfers = TransferDesk(
            port, transport, store, self.routes, self.config.timing, self._changed
        )
        self.transfers.refresh_own_advert = self.refresh_own_advert
        self.clearing = ClearingDesk(
            port,
            transport,
            ClearingStore(store.conn),
            self.transfers,
            self._communities,
            self._changed,
        )
        self.lines.reserved = self.clearing.is_reserved
        self._uniform: Callable[[float, float], float] = random.uniform
        if rng is not None:
            self.transfers.token = self.lines.token = self.clearing.token = rng.randbytes
            self._uniform = rng.uniform
        self._dirty = trio.Event()
        self._work = trio.Event()  # set on every change: wakes a resting recovery loop
        self._advert_ts = 0

    # -- adverts -------------------------------------------------------------------------

    def own_advert(self) -> Advert:
        ledger = self.port.ledger
        g = ledger.community
        lines = []
        for line in sorted(ledger.lines.values(), key=lambda x: x.partner):
            a = ledger.accounts[line.handle]
            t = line.terms
            num, den = (
                (t.rate_num, t.rate_den) if t.a_id == g.community_id else (t.rate_den, t.rate_num)
            )
            room_out = max(0, (a.ceiling or 0) - a.balance - a.held_in)
            room_in = max(0, a.balance - a.held_out - a.floor)
            if a.status != "active":
                room_out = room_in = 0
            lines.append(AdvertLine(line.partner, t.line_id, num, den, room_out, room_in))
        return Advert(
            g.community_id,
            g.short,
            g.name,
            g.unit,
            g.scale,
            tuple(self.transport.listen_addrs()[:8]),
            self.port.clock(),
            tuple(lines),
        )

    def refresh_own_advert(self) -> Advert:
        advert = self.own_advert()
        self.routes.put(advert)
        return advert

    async def publish_advert(self) -> None:
        advert = self.refresh_own_advert()
        data, sig = advert.sign(self.port.key)
        try:
            await self.transport.publish(wire.ADVERT_TOPIC, codec.pack([data, sig]))
        except LetsError as err:
            log.info("advert not published: %s", err)

    def _advert_valid(self, publisher: bytes, message: bytes) -> bool:
        try:
            self._decode_advert(publisher, message)
        except LetsError:
            return False
        return True

    def _decode_advert(self, publisher: bytes, message: bytes) -> Advert:
        """The advert in ``message``, signed by ``publisher`` (raises LetsError if not).

        The validator and then the handler get each message, and in a simulation every
        node of the process gets the same bytes: an advert once decoded and verified is
        kept (``_VERIFIED_ADVERTS``, keyed by its exact bytes and publisher) rather than
        decoded and verified again."""
        key = (publisher, message)
        known = _VERIFIED_ADVERTS.get(key)
        if known is not None:
            return known
        value = codec.unpack(message, 20 * 1024, "advert message")
        f = codec.expect_list(value, 2, "advert message")
        advert = Advert.verify(
            codec.expect_bytes(f[0], "advert"), codec.expect_bytes(f[1], "signature"), publisher
        )
        _VERIFIED_ADVERTS[key] = advert
        if len(_VERIFIED_ADVERTS) > _VERIFIED_ADVERTS_KEPT:
            _VERIFIED_ADVERTS.popitem(last=False)
        return advert

    async def _on_advert(self, publisher: bytes, message: bytes) -> None:
        try:
            advert = self._decode_advert(publisher, message)
        except LetsError:
            return
        if advert.community_id != self.port.key.public and self.routes.add(advert):
            self.partners.advertised(advert)

    # -- naming partners ------------------------------------------------------------------

    async def resolve_peer(self, text: str) -> bytes:
        """A partner named by community id (hex), libp2p peer id, or short name (from adverts,
        else by asking the connected peers)."""
        text = text.strip()
        if len(text) == 64:
            return hex_id(text)
        if text.startswith(("12D3", "Qm")):
            return community_id_from_peer_id(text)
        short = check_slug(text, "community")
        peers = {m.community_id for m in self.routes.by_short(short)}
        if not peers:
            for info in self.transport.peers():
                if info.connected:
                    with contextlib.suppress(LetsError):
                        if (await self.lines.hello(info.community_id)).short == short:
                            peers.add(info.community_id)
        if len(peers) == 1:
            return peers.pop()
        if not peers:
            raise LedgerRefusal(
                f"no known community named {text!r}: give its peer id", code="unknown_community"
            )
        raise LedgerRefusal(
            f"several communities are named {text!r}: give the peer id", code="ambiguous_community"
        )

    def _communities(self) -> list[bytes]:
        """Every community we know of: from adverts, and our line partners."""
        partners = {line.partner for line in self.port.ledger.lines.values()}
        return sorted(set(self.routes.adverts) | partners)

    def _changed(self) -> None:
        self._dirty.set()
        self._work.set()

    # -- running -----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.transport.set_handler(wire.LINE_PROTOCOL, self.lines.handle)
        self.transport.set_handler(wire.TRANSFER_PROTOCOL, self.transfers.handle)
        self.transport.set_handler(wire.CLEARING_PROTOCOL, self.clearing.handle)
        self.transport.subscribe(wire.ADVERT_TOPIC, self._on_advert, self._advert_valid)
        self.refresh_own_advert()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._recover_loop, nursery)
            nursery.start_soon(self._advert_loop)
            if self.config.clearing_every_s:
                nursery.start_soon(self._clearing_loop, self.config.clearing_every_s)
            task_status.started()

    async def _recover_loop(self, nursery: trio.Nursery) -> None:
        while True:
            try:
                await self.transfers.expire()
                await self.transfers.recover(nursery)
                await self.lines.resend_unsent()
                await self.clearing.recover()
            except LetsError as err:
                log.warning("federation recovery step failed: %s", err)
            except Exception:  # a bug in one step must not stop the node's other work
                log.exception("federation recovery step crashed")
            await self._rest()

    async def _rest(self) -> None:
        """Wait until the next recovery pass is due (see ``FederationConfig.idle_tick_s``)."""
        idle_s = self.config.idle_tick_s
        if idle_s is not None and self._idle():
            with trio.move_on_after(idle_s):
                await self._work.wait()
        self._work = trio.Event()  # a change from now on is seen by the next _idle check
        await trio.sleep(self.config.tick_s)

    def _idle(self) -> bool:
        """True when no recovery step has anything to do until something changes."""
        if self._work.is_set() or self.port.ledger.holds or self.clearing.busy():
            return False
        return not self.lines.has_unsent()

    async def _advert_loop(self) -> None:
        while True:
            await self.publish_advert()
            with trio.move_on_after(self.config.advert_interval_s):
                await self._dirty.wait()
                # let a burst of changes settle into one advert
                await trio.sleep(self.config.advert_settle_s)
            self._dirty = trio.Event()

    async def _clearing_loop(self, every_s: float) -> None:
        """Coordinate a clearing round every ``every_s`` seconds (with some jitter, so that
        nodes on the same period do not all start rounds at the same moment)."""
        while True:
            await trio.sleep(every_s * self._uniform(0.9, 1.1))
            try:
                report = await self.clearing.run_round(self.config.clearing_timeout_s)
                log.info("clearing round %s: %s", report.nonce.hex()[:12], report.state)
            except LetsError as err:
                log.warning("clearing round failed: %s", err)
