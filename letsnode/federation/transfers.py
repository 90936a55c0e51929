"""Payments across communities: conditional transfers, hop by hop (see core/transfers.py).

Every step is first made durable in this node's log (through ``LedgerPort.submit``) and
only then announced to the peer, so after a crash the log says exactly where each leg
stands and ``recover`` finishes it. Retries are idempotent by transfer id: a prepare that
arrives again is answered from the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import trio

from letsnode.core.errors import InvalidInput, LedgerRefusal, LetsError, RemoteProtocolError
from letsnode.core.routing import Hop, RoutingTable
from letsnode.core.wire.bodies import Hold, Release, Reveal, Settle
from letsnode.core.wire.codec import Wire
from letsnode.core.wire.lines import TRANSIT
from letsnode.core.wire.transfers import (
    TRANSFER_ID_BYTES,
    Decision,
    Invoice,
    Prepare,
    Reject,
    RemoteOrder,
    condition_of,
    preimage_for,
)
from letsnode.federation import wire
from letsnode.federation.port import LedgerPort
from letsnode.net.transport import PeerError, PeerTransport
from letsnode.store.federation_store import FederationStore

log = logging.getLogger(__name__)

SHAPES = {"invoice": 2, "prepare": 2, "decision": 2, "status": 1}
ANSWERS = {"invoice": 2, "fulfil": 1, "reject": 2, "decision": 2, "pending": 0, "ok": 0}


@dataclass(frozen=True, slots=True)
class Timing:
    hop_ms: int = 3000  # how much the expiry shrinks at each hop
    base_ms: int = 4000  # what the payee's node is given to answer
    max_hops: int = 4
    retry_s: float = 0.25


@dataclass(frozen=True, slots=True)
class Outcome:
    transfer_id: bytes
    state: str  # fulfilled, rejected, expired
    code: str
    message: str
    amount: int
    delivered: int
    route: tuple[bytes, ...]


class Answer:
    """A downstream's answer to a prepare."""

    def __init__(self, kind: str, fields: list[Wire]) -> None:
        self.kind = kind
        self.fields = fields


class TransferDesk:
    def __init__(
        self,
        port: LedgerPort,
        transport: PeerTransport,
        store: FederationStore,
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
        self._inflight: dict[bytes, trio.Event] = {}
        self._write = trio.Lock()
        # Set by the clearing desk: accounts held still for a clearing round in progress.
        self.reserved: Callable[[str], bool] = lambda handle: False
        self.holds_submitting = 0

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
        tid = secrets.token_bytes(TRANSFER_ID_BYTES)
        self._inflight[tid] = trio.Event()
        try:
            return await self._pay(tid, order, order_data, order_sig, route)
        finally:
            self._inflight.pop(tid).set()

    async def _pay(
        self, tid: bytes, order: RemoteOrder, order_data: bytes, order_sig: bytes, route: list[Hop]
    ) -> Outcome:
        ledger = self.port.ledger
        invoice_data, invoice_sig = await self._invoice(
            order.payee_community, tid, order.payee_handle
        )
        invoice = Invoice.decode(invoice_data)
        first = route[0]
        line = self.port.ledger.lines[first.line_id]
        expiry = self.now() + self.timing.base_ms + len(route) * self.timing.hop_ms
        origin = f"{order.payer}@{ledger.community.short}"
        prepare = Prepare(
            tid,
            0,
            first.line_id,
            first.amount,
            invoice.condition,
            expiry,
            tuple(h.to for h in route[1:]),
            origin,
            order.memo,
            invoice_data,
            invoice_sig,
        )
        data, sig = prepare.sign(self.port.key)
        # The prepare is kept before the hold is logged, so a restart can always re-send it.
        self.store.save_outgoing(tid, first.to, data, sig, expiry)
        await self.submit(
            Hold(
                tid,
                "out",
                order.payer,
                line.handle,
                order.amount,
                invoice.condition,
                expiry,
                order_data,
                order_sig,
            )
        )
        state, code, message = await self._drive_out(tid, first.to, data, sig, expiry)
        return Outcome(
            tid, state, code, message, order.amount, route[-1].amount, tuple(h.to for h in route)
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

    async def _invoice(self, payee: bytes, tid: bytes, handle: str) -> tuple[bytes, bytes]:
        await self.reach(payee)
        raw = await self.transport.request(
            payee, wire.TRANSFER_PROTOCOL, wire.encode("invoice", tid, handle), 10.0
        )
        _, f = wire.decode(raw, {"invoice": 2})
        data, sig = f
        if not isinstance(data, bytes) or not isinstance(sig, bytes):
            raise RemoteProtocolError("malformed invoice")
        Invoice.verify(payee, data, sig)
        invoice = Invoice.decode(data)
        if (invoice.transfer_id, invoice.payee_community, invoice.payee_handle) != (
            tid,
            payee,
            handle,
        ):
            raise RemoteProtocolError("the invoice is for another transfer")
        return data, sig

    # -- driving a leg we sent (we decide its outcome) ------------------------------------

    async def _drive_out(
        self, tid: bytes, peer: bytes, data: bytes, sig: bytes, expiry: int
    ) -> tuple[str, str, str]:
        """Send (and re-send) the prepare until the downstream answers or the leg expires;
        record the outcome. Returns (state, code, message)."""
        hop = Prepare.decode(data).hop
        answer = await self._ask_until(peer, wire.encode("prepare", data, sig), expiry)
        hold = self.port.ledger.holds.get((tid, "out"))
        if hold is None:  # decided meanwhile (recovery or expiry loop)
            return self._ended("out", tid)
        if answer is not None and answer.kind == "fulfil":
            preimage = answer.fields[0]
            if (
                isinstance(preimage, bytes)
                and condition_of(preimage) == hold.condition
                and self.now() <= hold.expiry_ms
            ):
                await self.submit(Settle(tid, "out", preimage, b"", b""))
                await self._tell(peer, Decision(tid, hop, "fulfilled", preimage))
                return "fulfilled", "fulfilled", "paid"
        if answer is not None and answer.kind == "reject":
            rdata, rsig = answer.fields
            if isinstance(rdata, bytes) and isinstance(rsig, bytes):
                reject = Reject.decode(rdata)
                await self.submit(Release(tid, "out", "rejected", rdata, rsig))
                return "rejected", reject.code, reject.message
        await self._expire_out(tid, peer, hop)
        return "expired", "expired", "the payment did not complete in time"

    async def _expire_out(self, tid: bytes, peer: bytes, hop: int) -> None:
        hold = self.port.ledger.holds.get((tid, "out"))
        if hold is None:
            return
        while self.now() <= hold.expiry_ms:
            await trio.sleep((hold.expiry_ms - self.now() + 1) / 1000)
        if (tid, "out") in self.port.ledger.holds:
            await self.submit(Release(tid, "out", "expired", b"", b""))
        await self._tell(peer, Decision(tid, hop, "expired", b""))

    async def _ask_until(self, peer: bytes, request: bytes, expiry: int) -> Answer | None:
        while True:
            left = (expiry - self.now()) / 1000
            if left <= 0:
                return None
            try:
                raw = await self.transport.request(
                    peer, wire.TRANSFER_PROTOCOL, request, left + 0.5
                )
                kind, f = wire.decode(raw, ANSWERS)
            except PeerError as err:
                if err.code not in ("peer_unreachable", "peer_timeout"):
                    return None
                await self.reach(peer)
                await trio.sleep(min(self.timing.retry_s, max(left, 0.01)))
                continue
            except LetsError:
                return None
            if kind == "pending":
                await trio.sleep(min(self.timing.retry_s, max(left, 0.01)))
                continue
            return Answer(kind, f)

    async def _tell(self, peer: bytes, decision: Decision) -> None:
        """Send our decision downstream, best effort: it also asks us (``status``)."""
        data, sig = decision.sign(self.port.key)
        try:
            await self.transport.request(
                peer, wire.TRANSFER_PROTOCOL, wire.encode("decision", data, sig), 5.0
            )
        except LetsError as err:
            log.info("decision for %s not delivered yet: %s", decision.transfer_id.hex(), err)

    def _ended(self, role: str, tid: bytes) -> tuple[str, str, str]:
        row = self.store.hold_row(tid, role)
        state = row["state"] if row else "expired"
        if state == "settled":
            return "fulfilled", "fulfilled", "paid"
        return state, state, f"the payment was {state}"

    # -- requests from peers -----------------------------------------------------------

    async def handle(self, peer: bytes, data: bytes) -> bytes:
        kind, f = wire.decode(data, SHAPES)
        if kind == "invoice":
            return self._make_invoice(f)
        if kind == "status":
            return self._status(peer, f[0])
        raw, sig = f
        if not isinstance(raw, bytes) or not isinstance(sig, bytes):
            raise RemoteProtocolError("message and signature are byte strings")
        if kind == "decision":
            await self._decision(peer, raw, sig)
            return wire.encode("ok")
        return await self._prepare(peer, raw, sig)

    def _make_invoice(self, f: list[Wire]) -> bytes:
        tid, handle = f
        if not isinstance(tid, bytes) or not isinstance(handle, str):
            raise RemoteProtocolError("invoice request: transfer id and handle expected")
        account = self.port.ledger.account(handle)
        if account.kind not in ("member", "issuer", "fund") or account.status != "active":
            raise LedgerRefusal(f"{handle} cannot be paid", code=f"account_{account.status}")
        condition = condition_of(preimage_for(self.port.key.seed, tid))
        return wire.encode("invoice", *Invoice(tid, self.me, handle, condition).sign(self.port.key))

    def _status(self, peer: bytes, tid: Wire) -> bytes:
        """A downstream asks how we decided the leg we sent it."""
        if not isinstance(tid, bytes):
            raise RemoteProtocolError("status: transfer id expected")
        row = self.store.hold_row(tid, "out")
        sent = self.store.outgoing(tid)
        if row is None or sent is None or sent[0] != peer:
            raise LedgerRefusal("no such leg with you", code="unknown_transfer")
        if row["state"] == "pending":
            return wire.encode("pending")
        hop = Prepare.decode(sent[1]).hop
        if row["state"] == "settled":
            decision = Decision(tid, hop, "fulfilled", row["preimage"])
        else:
            decision = Decision(
                tid, hop, "expired" if row["state"] == "expired" else "rejected", b""
            )
        return wire.encode("decision", *decision.sign(self.port.key))

    async def _decision(self, peer: bytes, data: bytes, sig: bytes) -> None:
        """The upstream tells us its outcome for the leg it sent us."""
        decision = Decision.decode(data)
        hold = self.port.ledger.holds.get((decision.transfer_id, "in"))
        if hold is None:
            return  # already settled or released: idempotent
        line = self.port.ledger.accounts[hold.debit]
        if line.key != peer:
            raise LedgerRefusal("only the upstream partner decides this leg", code="not_partner")
        if decision.outcome == "fulfilled":
            if not hold.revealed:
                await self.submit(Reveal(decision.transfer_id, decision.preimage))
            await self.submit(Settle(decision.transfer_id, "in", decision.preimage, data, sig))
        else:
            await self.submit(Release(decision.transfer_id, "in", decision.outcome, data, sig))

    async def _prepare(self, peer: bytes, data: bytes, sig: bytes) -> bytes:
        prepare = Prepare.decode(data)
        Prepare.verify(peer, data, sig)
        line = self.port.ledger.lines.get(prepare.line_id)
        if line is None or line.partner != peer:
            raise LedgerRefusal("only the partner of a line may prepare on it", code="not_partner")
        tid = prepare.transfer_id
        async with self._write:
            event = self._inflight.get(tid)
            first = event is None and self.store.hold_row(tid, "in") is None
            if first:
                event = self._inflight[tid] = trio.Event()
        if not first:
            if event is not None:
                await event.wait()
            return self._answer_from_log(tid, prepare.hop)
        assert event is not None
        try:
            return await self._take(peer, line.handle, prepare, data, sig)
        finally:
            event.set()
            del self._inflight[tid]

    def _answer_from_log(self, tid: bytes, hop: int) -> bytes:
        row = self.store.hold_row(tid, "in")
        if row is not None and (row["revealed"] or row["state"] == "settled"):
            return wire.encode("fulfil", row["preimage"])
        if row is not None and row["state"] == "pending":
            return wire.encode("pending")
        return self._reject(tid, hop, "rejected", "the payment was refused")

    def _reject(self, tid: bytes, hop: int, code: str, message: str) -> bytes:
        return wire.encode("reject", *Reject(tid, hop, code, message[:300]).sign(self.port.key))

    async def _take(
        self, peer: bytes, line_handle: str, prepare: Prepare, data: bytes, sig: bytes
    ) -> bytes:
        tid, hop = prepare.transfer_id, prepare.hop
        if prepare.expiry_ms - self.now() < self.timing.base_ms // 2:
            return self._reject(tid, hop, "expiry_too_soon", "not enough time left")
        if not prepare.route:
            return await self._arrive(line_handle, prepare, data, sig)
        return await self._forward(line_handle, prepare, data, sig)

    async def _arrive(self, line_handle: str, prepare: Prepare, data: bytes, sig: bytes) -> bytes:
        """We are the payee's node: hold, reveal, answer with the preimage."""
        tid, hop = prepare.transfer_id, prepare.hop
        Invoice.verify(self.me, prepare.invoice, prepare.invoice_signature)
        invoice = Invoice.decode(prepare.invoice)
        preimage = preimage_for(self.port.key.seed, tid)
        if invoice.transfer_id != tid or condition_of(preimage) != prepare.condition:
            return self._reject(tid, hop, "bad_invoice", "the invoice does not match")
        try:
            await self.submit(
                Hold(
                    tid,
                    "in",
                    line_handle,
                    invoice.payee_handle,
                    prepare.amount,
                    prepare.condition,
                    prepare.expiry_ms,
                    data,
                    sig,
                )
            )
        except LetsError as err:
            return self._reject(tid, hop, err.code, str(err))
        await self.submit(Reveal(tid, preimage))
        return wire.encode("fulfil", preimage)

    async def _forward(self, line_handle: str, prepare: Prepare, data: bytes, sig: bytes) -> bytes:
        tid, hop = prepare.transfer_id, prepare.hop
        ledger = self.port.ledger
        nxt = prepare.route[0]
        out_line = next((x for x in ledger.lines.values() if x.partner == nxt), None)
        if out_line is None:
            return self._reject(tid, hop, "no_route", "no line towards the next community")
        amount = out_line.terms.to_partner(self.me, prepare.amount)
        expiry = prepare.expiry_ms - self.timing.hop_ms
        account = ledger.accounts[out_line.handle]
        if amount <= 0 or (
            account.ceiling is not None
            and account.balance + account.held_in + amount > account.ceiling
        ):
            return self._reject(tid, hop, "no_route", "not enough room on the next line")
        try:
            await self.submit(
                Hold(
                    tid,
                    "in",
                    line_handle,
                    TRANSIT,
                    prepare.amount,
                    prepare.condition,
                    prepare.expiry_ms,
                    data,
                    sig,
                )
            )
        except LetsError as err:
            return self._reject(tid, hop, err.code, str(err))
        onward = Prepare(
            tid,
            hop + 1,
            out_line.terms.line_id,
            amount,
            prepare.condition,
            expiry,
            prepare.route[1:],
            prepare.origin,
            prepare.memo,
            prepare.invoice,
            prepare.invoice_signature,
        )
        odata, osig = onward.sign(self.port.key)
        self.store.save_outgoing(tid, nxt, odata, osig, expiry)  # before the hold: see pay()
        try:
            await self.submit(
                Hold(
                    tid,
                    "out",
                    TRANSIT,
                    out_line.handle,
                    amount,
                    prepare.condition,
                    expiry,
                    b"",
                    b"",
                )
            )
        except LetsError as err:
            await self.submit(Release(tid, "in", "rejected", b"", b""))
            return self._reject(tid, hop, err.code, str(err))
        return await self._finish_forward(tid, hop, nxt, odata, osig, expiry)

    async def _finish_forward(
        self, tid: bytes, hop: int, nxt: bytes, odata: bytes, osig: bytes, expiry: int
    ) -> bytes:
        state, code, message = await self._drive_out(tid, nxt, odata, osig, expiry)
        incoming = self.port.ledger.holds.get((tid, "in"))
        if state == "fulfilled":
            preimage = self.store.hold_row(tid, "out")["preimage"]  # type: ignore[index]
            if incoming is not None and not incoming.revealed:
                await self.submit(Reveal(tid, preimage))
            return wire.encode("fulfil", preimage)
        if incoming is not None and not incoming.revealed:
            await self.submit(Release(tid, "in", "rejected", b"", b""))
        return self._reject(tid, hop, code, message)

    # -- after a restart, and on a timer ------------------------------------------------

    async def recover(self, nursery: trio.Nursery) -> None:
        """Finish what the log shows unfinished: re-drive our pending outgoing legs (in
        ``nursery``), release incoming legs that can no longer complete, and ask upstreams
        how they decided legs whose preimage we gave."""
        ledger = self.port.ledger
        for hold in list(ledger.holds.values()):
            tid = hold.transfer_id
            if tid in self._inflight:
                continue
            if hold.role == "out":
                sent = self.store.outgoing(tid)
                if sent is None:  # crashed between the hold and saving the prepare
                    if self.now() > hold.expiry_ms:
                        await self.submit(Release(tid, "out", "expired", b"", b""))
                    continue
                self._inflight[tid] = trio.Event()
                nursery.start_soon(self._resume, tid, sent, hold.expiry_ms)
            elif hold.revealed:
                await self._ask_upstream(hold.debit, tid)
            elif (tid, "out") not in ledger.holds and hold.credit == TRANSIT:
                await self.submit(Release(tid, "in", "rejected", b"", b""))
            elif self.now() > hold.expiry_ms:
                await self.submit(Release(tid, "in", "expired", b"", b""))
            elif hold.credit != TRANSIT:  # we are the payee: finish the reveal
                await self.submit(Reveal(tid, preimage_for(self.port.key.seed, tid)))

    async def _resume(self, tid: bytes, sent: tuple[bytes, bytes, bytes], expiry: int) -> None:
        peer, data, sig = sent
        try:
            if (tid, "in") in self.port.ledger.holds:
                hop = Prepare.decode(data).hop - 1
                await self._finish_forward(tid, hop, peer, data, sig, expiry)
            else:
                await self._drive_out(tid, peer, data, sig, expiry)
        except LetsError as err:
            log.warning("resuming transfer %s failed: %s", tid.hex(), err)
        finally:
            self._inflight.pop(tid).set()

    async def _ask_upstream(self, line_handle: str, tid: bytes) -> None:
        upstream = self.port.ledger.accounts[line_handle].key
        try:
            raw = await self.transport.request(
                upstream, wire.TRANSFER_PROTOCOL, wire.encode("status", tid), 5.0
            )
            kind, f = wire.decode(raw, ANSWERS)
        except LetsError:
            return
        if kind == "decision":
            data, sig = f
            if isinstance(data, bytes) and isinstance(sig, bytes):
                await self._decision(upstream, data, sig)

    async def expire(self) -> None:
        """Release legs past their expiry that this node may release on its own."""
        now = self.now()
        for hold in list(self.port.ledger.holds.values()):
            if now <= hold.expiry_ms or hold.transfer_id in self._inflight:
                continue
            if hold.role == "out":
                sent = self.store.outgoing(hold.transfer_id)
                await self.submit(Release(hold.transfer_id, "out", "expired", b"", b""))
                if sent is not None:
                    await self._tell(
                        sent[0],
                        Decision(hold.transfer_id, Prepare.decode(sent[1]).hop, "expired", b""),
                    )
            elif not hold.revealed:
                await self.submit(Release(hold.transfer_id, "in", "expired", b"", b""))

    def refresh_own_advert(self) -> None:
        """Overridden by the service: puts our current room into the routing table."""


def route_summary(route: list[Hop]) -> str:
    return " → ".join(h.to.hex()[:8] for h in route)
