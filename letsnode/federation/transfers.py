"""Payments across communities: the trio desk around the transfer machine (core/transfers).

The machine decides every step of the hop-by-hop protocol; the desk turns requests from
peers, the payer's orders and its timers into events, reads the log's view of the transfer
for each, and carries out the effects in the order given: log bodies through the
``LedgerPort`` (durable before anything announces them), keep prepares in the outbox,
send requests through the ``PeerTransport``, sleep. So after a crash the log says exactly
where each leg stands and the recovery sweep finishes it; a prepare that arrives again is
answered from the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import trio

from letsnode.core.errors import InvalidInput, LedgerRefusal, LetsError, RemoteProtocolError
from letsnode.core.routing import Hop, RoutingTable
from letsnode.core.rules.state import HoldState
from letsnode.core.transfers import Flow, TransferMachine
from letsnode.core.transfers import effects as fx
from letsnode.core.transfers import events as ev
from letsnode.core.transfers.facts import (
    Held,
    LegRow,
    Sent,
    Timing,
    View,
    held_of,
    line_of,
    onward_of,
    view_of,
)
from letsnode.core.wire.bodies import Hold, Release, Reveal, Settle
from letsnode.core.wire.transfers import TRANSFER_ID_BYTES, RemoteOrder
from letsnode.federation import wire
from letsnode.federation.port import LedgerPort, TransferRecords
from letsnode.net.transport import PeerError, PeerTransport

__all__ = ["Outcome", "Timing", "TransferDesk", "leg_row", "route_summary"]

log = logging.getLogger(__name__)

SHAPES = {"invoice": 2, "prepare": 2, "decision": 2, "status": 1}
ANSWERS = {"invoice": 2, "fulfil": 1, "reject": 2, "decision": 2, "pending": 0, "ok": 0}


@dataclass(frozen=True, slots=True)
class Outcome:
    transfer_id: bytes
    state: str  # fulfilled, rejected, expired
    code: str
    message: str
    amount: int
    delivered: int
    route: tuple[bytes, ...]


class TransferDesk:
    def __init__(
        self,
        port: LedgerPort,
        transport: PeerTransport,
        store: TransferRecords,
        routes: RoutingTable,
        timing: Timing,
        on_change: Callable[[], None],
    ) -> None:
        self.port = port
        self.transport = transport
        self.store = store
        self.routes = routes
        self.timing = timing
        self.on_change = on_change
        self.machine = TransferMachine(port.key, timing)
        # The transfers a task of ours drives (the machine's ``Claim``), each with the event
        # set when that task ends: duplicate prepares wait on it, the sweeps skip them.
        self._driving: dict[bytes, trio.Event] = {}
        # Set by the clearing desk: accounts held still for a clearing round in progress.
        self.reserved: Callable[[str], bool] = lambda handle: False
        self.holds_submitting = 0
        # Set by the service: puts our current room into the routing table before a route
        # is looked for.
        self.refresh_own_advert: Callable[[], object] = lambda: None
        # Where transfer ids come from (the service may give a seeded source: simulations).
        self.token: Callable[[int], bytes] = secrets.token_bytes

    @property
    def me(self) -> bytes:
        return self.port.key.public

    def now(self) -> int:
        return self.port.clock()

    async def submit(self, body: Hold | Reveal | Settle | Release) -> None:
        if not isinstance(body, Hold):
            await self.port.submit(body)
            self.on_change()
            return
        for handle in (body.debit, body.credit):
            if self.reserved(handle):
                raise LedgerRefusal(
                    f"{handle} is in a clearing round; try again in a moment",
                    code="clearing_in_progress",
                )
        self.holds_submitting += 1
        try:
            await self.port.submit(body)
        finally:
            self.holds_submitting -= 1
        self.on_change()

    # -- the payer's side ------------------------------------------------------------

    async def pay(self, order_data: bytes, order_sig: bytes) -> Outcome:
        """Pay a member of another community from a remote order signed by the payer."""
        order = RemoteOrder.decode(order_data)
        ledger = self.port.ledger
        if order.community_id != self.me:
            raise InvalidInput("the order is for another community")
        RemoteOrder.verify(ledger.account(order.payer).key, order_data, order_sig)
        self.refresh_own_advert()
        route = self.routes.find(self.me, order.payee_community, order.amount, self.timing.max_hops)
        tid = self.token(TRANSFER_ID_BYTES)
        line = ledger.lines[route[0].line_id]
        origin = f"{order.payer}@{ledger.community.short}"
        ordered = ev.PayOrdered(
            tid, order, order_data, order_sig, tuple(route), line.handle, origin
        )
        end = await self._run(Flow(tid), ordered)
        if not isinstance(end, fx.Concluded):
            raise TypeError(f"a payment ended with {end!r}")
        return Outcome(
            tid,
            end.state,
            end.code,
            end.message,
            order.amount,
            route[-1].amount,
            tuple(h.to for h in route),
        )

    async def reach(self, peer: bytes) -> None:
        """Dial ``peer`` at the addresses of its advert if we are not connected to it."""
        if any(p.community_id == peer and p.connected for p in self.transport.peers()):
            return
        advert = self.routes.adverts.get(peer)
        for addr in advert.addrs if advert else ():
            try:
                await self.transport.connect(addr)
                return
            except PeerError:
                continue

    # -- requests from peers -----------------------------------------------------------

    async def handle(self, peer: bytes, data: bytes) -> bytes:
        kind, f = wire.decode(data, SHAPES)
        if kind == "invoice":
            tid, handle = f
            if not isinstance(tid, bytes) or not isinstance(handle, str):
                raise RemoteProtocolError("invoice request: transfer id and handle expected")
            account = self.port.ledger.account(handle)
            asked = ev.InvoiceAsked(handle, account.kind, account.status)
            return _reply(await self._run(Flow(tid), asked))
        if kind == "status":
            tid = ev.wire_bytes(f[0], "status: transfer id expected")
            asked_status = ev.StatusAsked(peer, self._row(tid, "out"), self._sent(tid))
            return _reply(await self._run(Flow(tid), asked_status))
        raw, sig = f
        if not isinstance(raw, bytes) or not isinstance(sig, bytes):
            raise RemoteProtocolError("message and signature are byte strings")
        if kind == "decision":
            return _reply(await self._follow(peer, raw, sig))
        return _reply(await self._prepare(peer, raw, sig))

    async def _follow(self, peer: bytes, data: bytes, sig: bytes) -> fx.Terminal:
        decided = ev.DecisionReceived.from_wire(peer, data, sig)
        return await self._run(Flow(decided.decision.transfer_id), decided)

    async def _prepare(self, peer: bytes, data: bytes, sig: bytes) -> fx.Terminal:
        prepare = ev.PrepareReceived.decode(peer, data, sig)
        ledger, tid = self.port.ledger, prepare.transfer_id
        received = ev.PrepareReceived(
            peer,
            prepare,
            data,
            sig,
            line_of(ledger, prepare, peer),
            onward_of(ledger, prepare),
            self._row(tid, "in"),
            self.now(),
        )
        return await self._run(Flow(tid), received)

    # -- after a restart, and on a timer ------------------------------------------------

    async def recover(self, nursery: trio.Nursery) -> None:
        """Finish what the log shows unfinished: re-drive our pending outgoing legs (in
        ``nursery``), release incoming legs that can no longer complete, and ask upstreams
        how they decided legs whose preimage we gave."""
        for hold in list(self.port.ledger.holds.values()):
            tid = hold.transfer_id
            sent = self._sent(tid) if hold.role == "out" else None
            due = ev.RecoveryDue(self._held(hold), sent, self.now())
            await self._run(Flow(tid), due, nursery)

    async def expire(self) -> None:
        """Release legs past their expiry that this node may release on its own."""
        now = self.now()
        for hold in list(self.port.ledger.holds.values()):
            tid = hold.transfer_id
            sent = self._sent(tid) if hold.role == "out" and now > hold.expiry_ms else None
            await self._run(Flow(tid), ev.ExpiryDue(self._held(hold), sent, now))

    # -- running the machine -------------------------------------------------------------

    async def _run(
        self, flow: Flow, event: ev.Event, nursery: trio.Nursery | None = None
    ) -> fx.Terminal:
        """Feed ``event`` and every result after it to the machine until the flow ends."""
        tid = flow.transfer_id
        claimed = False
        try:
            while True:
                flow, effects = self.machine.handle(flow, event, self._view(tid))
                for action in effects[:-1]:
                    claimed = await self._act(action, nursery) or claimed
                last = effects[-1]
                if isinstance(last, fx.TERMINALS):
                    return last
                event = await self._await(tid, last)
        finally:
            if claimed:
                self._driving.pop(tid).set()

    async def _act(self, action: fx.Effect, nursery: trio.Nursery | None) -> bool:
        """Carry out an action; True when it claimed the transfer for this flow."""
        if isinstance(action, fx.Claim):
            self._driving[action.transfer_id] = trio.Event()
            return True
        if isinstance(action, fx.Reach):
            await self.reach(action.peer)
        elif isinstance(action, fx.SaveOutgoing):
            self.store.save_outgoing(
                action.transfer_id, action.peer, action.data, action.sig, action.expiry_ms
            )
        elif isinstance(action, fx.Resume):
            if nursery is None:
                raise TypeError("resuming a leg needs the nursery of the recovery sweep")
            self._driving[action.transfer_id] = trio.Event()
            nursery.start_soon(self._resume, action)
        else:
            raise TypeError(f"{action!r} is not an action")
        return False

    async def _await(self, tid: bytes, effect: fx.Effect) -> ev.Event:
        """Carry out the flow's await and return the event that reports its result."""
        if isinstance(effect, fx.Log):
            try:
                await self.submit(effect.body)
            except LetsError as err:
                if effect.on_refusal == "raise":
                    raise
                return ev.LogRefused(err.code, str(err), self.now())
            return ev.Logged(self.now())
        if isinstance(effect, fx.SendPrepare):
            request = wire.encode("prepare", effect.data, effect.sig)
            return await self._ask(effect.peer, request, effect.timeout_s)
        if isinstance(effect, fx.Sleep):
            await trio.sleep(effect.seconds)
            return ev.Woke(self.now())
        if isinstance(effect, fx.SendDecision):
            request = wire.encode("decision", effect.data, effect.sig)
            try:
                await self.transport.request(
                    effect.peer, wire.TRANSFER_PROTOCOL, request, effect.timeout_s
                )
            except LetsError as err:
                log.info("decision for %s not delivered yet: %s", effect.transfer_id.hex(), err)
            return ev.Told(self.now())
        if isinstance(effect, fx.AskInvoice):
            request = wire.encode("invoice", effect.transfer_id, effect.handle)
            raw = await self.transport.request(
                effect.peer, wire.TRANSFER_PROTOCOL, request, effect.timeout_s
            )
            _, f = wire.decode(raw, {"invoice": 2})
            return ev.InvoiceReceived.from_wire(f, self.now())
        if isinstance(effect, fx.AskUpstream):
            request = wire.encode("status", effect.transfer_id)
            answer = await self._ask(effect.peer, request, effect.timeout_s)
            if isinstance(answer, ev.Answered):
                return ev.StatusAnswered(answer.kind, answer.fields)
            return answer
        if isinstance(effect, fx.FollowDecision):
            await self._follow(effect.peer, effect.data, effect.sig)
            return ev.Followed()
        if isinstance(effect, fx.WaitIdle):
            driver = self._driving.get(effect.transfer_id)
            if driver is not None:
                await driver.wait()
            return ev.Idle(self._row(tid, "in"))
        if isinstance(effect, fx.LoadLeg):
            return ev.LegLoaded(self._row(tid, effect.role))
        raise TypeError(f"{effect!r} is not an await")

    async def _ask(self, peer: bytes, request: bytes, timeout: float) -> ev.Event:
        try:
            raw = await self.transport.request(peer, wire.TRANSFER_PROTOCOL, request, timeout)
            kind, f = wire.decode(raw, ANSWERS)
        except LetsError as err:
            return ev.RequestFailed(err.code, self.now())
        return ev.Answered(kind, tuple(f), self.now())

    async def _resume(self, resume: fx.Resume) -> None:
        tid = resume.transfer_id
        try:
            await self._run(Flow(tid), ev.ResumeStarted(resume.sent, resume.expiry_ms, self.now()))
        except LetsError as err:
            log.warning("resuming transfer %s failed: %s", tid.hex(), err)
        finally:
            self._driving.pop(tid).set()

    # -- what the log says -------------------------------------------------------------

    def _view(self, tid: bytes) -> View:
        return view_of(self.port.ledger, tid, tid in self._driving)

    def _held(self, hold: HoldState) -> Held:
        return held_of(self.port.ledger, hold)

    def _row(self, tid: bytes, role: str) -> LegRow | None:
        row = self.store.hold_row(tid, role)
        return None if row is None else leg_row(row)

    def _sent(self, tid: bytes) -> Sent | None:
        sent = self.store.outgoing(tid)
        return None if sent is None else Sent(*sent)


def leg_row(row: Mapping[str, object]) -> LegRow:
    """A stored leg as the machine reads it (LegRow checks the state)."""
    state, preimage = row["state"], row["preimage"]
    if not isinstance(state, str) or not (preimage is None or isinstance(preimage, bytes)):
        raise TypeError(f"a stored leg has a state and a preimage, not {row!r}")
    return LegRow(state, bool(row["revealed"]), preimage)  # type: ignore[arg-type]


def _reply(end: fx.Terminal) -> bytes:
    if isinstance(end, fx.ReplyFulfil):
        return wire.encode("fulfil", end.preimage)
    if isinstance(end, fx.ReplyReject):
        return wire.encode("reject", end.data, end.sig)
    if isinstance(end, fx.ReplyPending):
        return wire.encode("pending")
    if isinstance(end, fx.ReplyDecision):
        return wire.encode("decision", end.data, end.sig)
    if isinstance(end, fx.ReplyInvoice):
        return wire.encode("invoice", end.data, end.sig)
    if isinstance(end, fx.ReplyOk):
        return wire.encode("ok")
    raise TypeError(f"{end!r} is no answer to a peer")


def route_summary(route: list[Hop]) -> str:
    return " → ".join(h.to.hex()[:8] for h in route)
