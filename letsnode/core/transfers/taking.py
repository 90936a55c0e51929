"""A payment's first steps: the payer's node asks for an invoice and holds the payer's
amount; a node that receives a prepare holds the incoming leg and either reveals (it is
the payee's node) or holds an outgoing leg to the next community (it forwards).

A prepare that arrives again (a retry, a duplicate) is answered from the log, after the
task that drives the transfer, if any, has finished with it: retries are idempotent by
transfer id.
"""

from __future__ import annotations

from letsnode.core.errors import LedgerRefusal, LetsError, LocalProtocolError, RemoteProtocolError
from letsnode.core.transfers.driving import Transition, ask, reject
from letsnode.core.transfers.effects import (
    AskInvoice,
    Claim,
    Log,
    Reach,
    ReplyFulfil,
    ReplyInvoice,
    ReplyPending,
    SaveOutgoing,
    WaitIdle,
)
from letsnode.core.transfers.events import (
    Idle,
    InvoiceAsked,
    InvoiceReceived,
    Logged,
    LogRefused,
    PayOrdered,
    PrepareReceived,
)
from letsnode.core.transfers.facts import Context, LegRow, View
from letsnode.core.transfers.flow import Flow, OutLeg, Result
from letsnode.core.wire.bodies import Hold, Release, Reveal
from letsnode.core.wire.lines import TRANSIT
from letsnode.core.wire.transfers import Invoice, Prepare, condition_of, preimage_for

INVOICE_TIMEOUT_S = 10.0
PAYABLE_KINDS = ("member", "issuer", "fund")


# -- the payer's node -------------------------------------------------------------------


def ordered(ctx: Context, flow: Flow, event: PayOrdered, view: View) -> Transition:
    order, tid = event.order, flow.transfer_id
    ask_invoice = AskInvoice(order.payee_community, tid, order.payee_handle, INVOICE_TIMEOUT_S)
    return flow.to("invoicing", pay=event), [Claim(tid), Reach(order.payee_community), ask_invoice]


def invoiced(ctx: Context, flow: Flow, event: InvoiceReceived, view: View) -> Transition:
    """Check the invoice, sign the first prepare, keep it, then hold the payer's amount."""
    pay, tid = flow.pay, flow.transfer_id
    if pay is None:
        raise LocalProtocolError("an invoice for a flow that has no order")
    order = pay.order
    Invoice.verify(order.payee_community, event.data, event.sig)
    invoice = Invoice.decode(event.data)
    if (invoice.transfer_id, invoice.payee_community, invoice.payee_handle) != (
        tid,
        order.payee_community,
        order.payee_handle,
    ):
        raise RemoteProtocolError("the invoice is for another transfer")
    route, first, timing = pay.route, pay.route[0], ctx.timing
    expiry = event.now + timing.base_ms + len(route) * timing.hop_ms
    prepare = Prepare(
        tid,
        0,
        first.line_id,
        first.amount,
        invoice.condition,
        expiry,
        tuple(h.to for h in route[1:]),
        pay.origin,
        order.memo,
        event.data,
        event.sig,
    )
    data, sig = prepare.sign(ctx.key)
    hold = Hold(
        tid,
        "out",
        order.payer,
        pay.line_handle,
        order.amount,
        invoice.condition,
        expiry,
        pay.order_data,
        pay.order_sig,
    )
    leg = OutLeg(first.to, data, sig, 0, expiry)
    # The prepare is kept before the hold is logged, so a restart can always re-send it.
    save = SaveOutgoing(tid, first.to, data, sig, expiry)
    return flow.to("holding_out", leg=leg, pay=None), [save, Log(hold)]


def held_out(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return ask(ctx, flow, event.now, view)


# -- a node that receives a prepare ----------------------------------------------------


def prepared(ctx: Context, flow: Flow, event: PrepareReceived, view: View) -> Transition:
    prepare = event.prepare
    if event.line_handle is None:
        raise LedgerRefusal("only the partner of a line may prepare on it", code="not_partner")
    tid, hop = prepare.transfer_id, prepare.hop
    flow = flow.to(flow.step, in_hop=hop)
    if view.busy:
        return flow.to("waiting"), [WaitIdle(tid)]
    if event.in_row is not None:
        return from_log(ctx, flow, event.in_row)
    claim = Claim(tid)
    if prepare.expiry_ms - event.now < ctx.timing.base_ms // 2:
        return flow.to("done"), [
            claim,
            reject(ctx, tid, hop, "expiry_too_soon", "not enough time left"),
        ]
    if not prepare.route:
        return _arrive(ctx, flow, event, event.line_handle, claim)
    return _forward(ctx, flow, event, event.line_handle, claim)


def _arrive(
    ctx: Context, flow: Flow, event: PrepareReceived, line_handle: str, claim: Claim
) -> Transition:
    """We are the payee's node: hold, then reveal and answer with the preimage."""
    prepare = event.prepare
    tid, hop = prepare.transfer_id, prepare.hop
    Invoice.verify(ctx.me, prepare.invoice, prepare.invoice_signature)
    invoice = Invoice.decode(prepare.invoice)
    preimage = preimage_for(ctx.key.seed, tid)
    if invoice.transfer_id != tid or condition_of(preimage) != prepare.condition:
        return flow.to("done"), [
            claim,
            reject(ctx, tid, hop, "bad_invoice", "the invoice does not match"),
        ]
    try:
        hold = Hold(
            tid,
            "in",
            line_handle,
            invoice.payee_handle,
            prepare.amount,
            prepare.condition,
            prepare.expiry_ms,
            event.data,
            event.sig,
        )
    except LetsError as err:
        return flow.to("done"), [claim, reject(ctx, tid, hop, err.code, str(err))]
    return flow.to("holding_in", preimage=preimage, prepare=event), [claim, Log(hold, "report")]


def _forward(
    ctx: Context, flow: Flow, event: PrepareReceived, line_handle: str, claim: Claim
) -> Transition:
    """We connect: hold the incoming leg, if the next line has room for the onward one."""
    prepare, onward = event.prepare, event.onward
    tid, hop = prepare.transfer_id, prepare.hop
    if onward is None:
        no_line = reject(ctx, tid, hop, "no_route", "no line towards the next community")
        return flow.to("done"), [claim, no_line]
    # The onward leg carries the amount converted to the next community's units; here it
    # is held, like every amount of this ledger, in ours: the amount that came in.
    if onward.terms.to_partner(ctx.me, prepare.amount) <= 0 or (
        onward.ceiling is not None
        and onward.balance + onward.held_in + prepare.amount > onward.ceiling
    ):
        no_room = reject(ctx, tid, hop, "no_route", "not enough room on the next line")
        return flow.to("done"), [claim, no_room]
    try:
        hold = Hold(
            tid,
            "in",
            line_handle,
            TRANSIT,
            prepare.amount,
            prepare.condition,
            prepare.expiry_ms,
            event.data,
            event.sig,
        )
    except LetsError as err:
        return flow.to("done"), [claim, reject(ctx, tid, hop, err.code, str(err))]
    return flow.to("holding_in", prepare=event), [claim, Log(hold, "report")]


def held_in(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    """The incoming leg is logged: the payee's node reveals; a forwarding node signs the
    onward prepare, keeps it, and holds the outgoing leg."""
    taken, tid = flow.prepare, flow.transfer_id
    if taken is None:
        raise LocalProtocolError("holding_in without the prepare")
    prepare, onward = taken.prepare, taken.onward
    if not prepare.route:  # the payee's node
        return flow.to("revealing"), [Log(Reveal(tid, flow.preimage))]
    if onward is None:
        raise LocalProtocolError("a forwarded leg was held without a line onward")
    amount = onward.terms.to_partner(ctx.me, prepare.amount)
    expiry = prepare.expiry_ms - ctx.timing.hop_ms
    nxt = prepare.route[0]
    data, sig = Prepare(
        tid,
        prepare.hop + 1,
        onward.terms.line_id,
        amount,
        prepare.condition,
        expiry,
        prepare.route[1:],
        prepare.origin,
        prepare.memo,
        prepare.invoice,
        prepare.invoice_signature,
    ).sign(ctx.key)
    flow = flow.to(flow.step, leg=OutLeg(nxt, data, sig, prepare.hop + 1, expiry), prepare=None)
    save = SaveOutgoing(tid, nxt, data, sig, expiry)  # before the hold: see invoiced()
    try:
        hold = Hold(  # in our units, as it came in: transit is even again once both settle
            tid, "out", TRANSIT, onward.handle, prepare.amount, prepare.condition, expiry, b"", b""
        )
    except LetsError as err:
        return _unwind(flow, err.code, str(err), save)
    return flow.to("holding_onward"), [save, Log(hold, "report")]


def held_in_refused(ctx: Context, flow: Flow, event: LogRefused, view: View) -> Transition:
    hop = _hop(flow)
    return flow.to("done"), [reject(ctx, flow.transfer_id, hop, event.code, event.message)]


def revealed(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return flow.to("done"), [ReplyFulfil(flow.preimage)]


def held_onward(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return ask(ctx, flow, event.now, view)


def held_onward_refused(ctx: Context, flow: Flow, event: LogRefused, view: View) -> Transition:
    return _unwind(flow, event.code, event.message)


def _unwind(flow: Flow, code: str, message: str, *before: SaveOutgoing) -> Transition:
    """No outgoing leg after all: release the incoming one, then reject."""
    release = Release(flow.transfer_id, "in", "rejected", b"", b"")
    result = Result("rejected", code, message)
    return flow.to("unwinding", result=result), [*before, Log(release)]


def unwound(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    result = flow.outcome
    refusal = reject(ctx, flow.transfer_id, _hop(flow), result.code, result.message)
    return flow.to("done"), [refusal]


def idle(ctx: Context, flow: Flow, event: Idle, view: View) -> Transition:
    return from_log(ctx, flow, event.in_row)


def from_log(ctx: Context, flow: Flow, row: LegRow | None) -> Transition:
    """Answer a prepare we already took (or refused) as the log says it ended."""
    if row is not None and (row.revealed or row.state == "settled"):
        return flow.to("done"), [ReplyFulfil(row.preimage_bytes)]
    if row is not None and row.state == "pending":
        return flow.to("done"), [ReplyPending()]
    refused = reject(ctx, flow.transfer_id, _hop(flow), "rejected", "the payment was refused")
    return flow.to("done"), [refused]


def _hop(flow: Flow) -> int:
    if flow.in_hop is None:
        raise LocalProtocolError(f"{flow.step}: the flow answers no prepare")
    return flow.in_hop


# -- invoices (the payee's node) -----------------------------------------------------------


def invoice_asked(ctx: Context, flow: Flow, event: InvoiceAsked, view: View) -> Transition:
    if event.kind not in PAYABLE_KINDS or event.status != "active":
        raise LedgerRefusal(f"{event.handle} cannot be paid", code=f"account_{event.status}")
    tid = flow.transfer_id
    condition = condition_of(preimage_for(ctx.key.seed, tid))
    data, sig = Invoice(tid, ctx.me, event.handle, condition).sign(ctx.key)
    return flow.to("done"), [ReplyInvoice(data, sig)]
