"""Driving an outgoing leg, which this node decides (SPEC §6.3): send the prepare until the
downstream answers or the leg runs out of time, then settle, release or let it expire in
the log, tell the downstream, and finish the incoming leg a forwarding node holds.

Handlers here take ``(context, flow, event, view)`` and return the next flow and its
effects; ``table.py`` says which handler runs for which step and event.
"""

from __future__ import annotations

from letsnode.core.transfers.effects import (
    Concluded,
    Effect,
    LoadLeg,
    Log,
    Reach,
    ReplyFulfil,
    ReplyReject,
    SendDecision,
    SendPrepare,
    Sleep,
)
from letsnode.core.transfers.events import Answered, LegLoaded, Logged, RequestFailed, Told, Woke
from letsnode.core.transfers.facts import Context, View
from letsnode.core.transfers.flow import EXPIRED, FULFILLED, Flow, Result, Step
from letsnode.core.wire.bodies import Release, Reveal, Settle
from letsnode.core.wire.transfers import Decision, Outcome, Reject, condition_of

Transition = tuple[Flow, list[Effect]]

# A downstream that is unreachable or slow is asked again; any other failure (a refusal,
# a malformed answer) is taken as no answer: the leg lapses.
RETRY_CODES = ("peer_unreachable", "peer_timeout")
# A prepare's request may run this much past the leg's expiry: an answer then still
# arrives, but only a reject is taken (a fulfilment must be settled by the expiry).
ANSWER_GRACE_S = 0.5
TELL_TIMEOUT_S = 5.0
REJECT_MESSAGE_MAX = 300


def reject(ctx: Context, transfer_id: bytes, hop: int, code: str, message: str) -> ReplyReject:
    """Our signed refusal of the prepare at ``hop``."""
    data, sig = Reject(transfer_id, hop, code, message[:REJECT_MESSAGE_MAX]).sign(ctx.key)
    return ReplyReject(data, sig)


# -- asking ---------------------------------------------------------------------------------


def ask(ctx: Context, flow: Flow, now: int, view: View) -> Transition:
    """Send the prepare (again), unless the leg has no time left."""
    leg = flow.out
    left = (leg.expiry_ms - now) / 1000
    if left <= 0:
        return decide(ctx, flow, None, now, view)
    effect = SendPrepare(leg.peer, leg.data, leg.sig, left + ANSWER_GRACE_S)
    return flow.to("asking", left_s=left), [effect]


def _back_off(ctx: Context, flow: Flow) -> Sleep:
    return Sleep(min(ctx.timing.retry_s, max(flow.left_s, 0.01)))


def answered(ctx: Context, flow: Flow, event: Answered, view: View) -> Transition:
    if event.kind == "pending":
        return flow.to("backing_off"), [_back_off(ctx, flow)]
    return decide(ctx, flow, event, event.now, view)


def failed(ctx: Context, flow: Flow, event: RequestFailed, view: View) -> Transition:
    if event.code in RETRY_CODES:
        return flow.to("backing_off"), [Reach(flow.out.peer), _back_off(ctx, flow)]
    return decide(ctx, flow, None, event.now, view)


def backed_off(ctx: Context, flow: Flow, event: Woke, view: View) -> Transition:
    return ask(ctx, flow, event.now, view)


# -- deciding -------------------------------------------------------------------------------


def decide(ctx: Context, flow: Flow, answer: Answered | None, now: int, view: View) -> Transition:
    """The upstream's decision (ours): fulfilled if the preimage matches in time, rejected
    with the downstream's signed reject, otherwise the leg lapses."""
    tid, hold = flow.transfer_id, view.outgoing
    if hold is None:  # ended meanwhile by another task: read how
        return flow.to("loading_outcome"), [LoadLeg("out")]
    if answer is not None and answer.kind == "fulfil":
        preimage = answer.fields[0]
        if (
            isinstance(preimage, bytes)
            and condition_of(preimage) == hold.condition
            and now <= hold.expiry_ms
        ):
            settle = Settle(tid, "out", preimage, b"", b"")
            return flow.to("settling_out", preimage=preimage, result=FULFILLED), [Log(settle)]
    if answer is not None and answer.kind == "reject":
        data, sig = answer.fields
        if isinstance(data, bytes) and isinstance(sig, bytes):
            refusal = Reject.decode(data)
            result = Result("rejected", refusal.code, refusal.message)
            release = Release(tid, "out", "rejected", data, sig)
            return flow.to("rejecting_out", result=result), [Log(release)]
    return lapse(ctx, flow.to(flow.step, result=EXPIRED), now, view)


def lapse(ctx: Context, flow: Flow, now: int, view: View) -> Transition:
    """Wait until the leg is past its expiry (the ledger releases it only then)."""
    expiry = flow.out.expiry_ms
    if now <= expiry:
        return flow.to("lapsing"), [Sleep((expiry - now + 1) / 1000)]
    if view.outgoing is not None:
        release = Release(flow.transfer_id, "out", "expired", b"", b"")
        return flow.to("expiring_out"), [Log(release)]
    return tell(ctx, flow, "expired", b"")


def lapsing(ctx: Context, flow: Flow, event: Woke, view: View) -> Transition:
    return lapse(ctx, flow, event.now, view)


def settled_out(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return tell(ctx, flow, "fulfilled", flow.preimage)


def expired_out(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return tell(ctx, flow, "expired", b"")


def rejected_out(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return finish(ctx, flow, view)  # the downstream rejected: it needs no telling


def tell(
    ctx: Context, flow: Flow, outcome: Outcome, preimage: bytes, step: Step = "telling"
) -> Transition:
    """Send our signed decision downstream (after it is in our log)."""
    leg, tid = flow.out, flow.transfer_id
    data, sig = Decision(tid, leg.hop, outcome, preimage).sign(ctx.key)
    return flow.to(step), [SendDecision(leg.peer, tid, data, sig, TELL_TIMEOUT_S)]


def told(ctx: Context, flow: Flow, event: Told, view: View) -> Transition:
    return finish(ctx, flow, view)


def loaded_outcome(ctx: Context, flow: Flow, event: LegLoaded, view: View) -> Transition:
    row = event.row
    if row is not None and row.state == "settled":
        return finish(ctx, flow.to(flow.step, result=FULFILLED, preimage=row.preimage_bytes), view)
    state = "expired" if row is None else row.state
    assert state != "settled"
    result = Result(state, state, f"the payment was {state}")
    return finish(ctx, flow.to(flow.step, result=result), view)


# -- finishing ------------------------------------------------------------------------------


def finish(ctx: Context, flow: Flow, view: View) -> Transition:
    """The outgoing leg is decided. The payer concludes; a forwarding node reveals (when
    fulfilled) or releases its incoming leg, unless that leg is already revealed or ended,
    and answers the upstream."""
    result, tid, hop = flow.outcome, flow.transfer_id, flow.in_hop
    if hop is None:
        return flow.to("done"), [Concluded(result.state, result.code, result.message)]
    incoming = view.incoming
    still_open = incoming is not None and not incoming.revealed
    if result.state == "fulfilled":
        if still_open:
            return flow.to("revealing_in"), [Log(Reveal(tid, flow.preimage))]
        return flow.to("done"), [ReplyFulfil(flow.preimage)]
    if still_open:
        return flow.to("releasing_in"), [Log(Release(tid, "in", "rejected", b"", b""))]
    return flow.to("done"), [reject(ctx, tid, hop, result.code, result.message)]


def revealed_in(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return flow.to("done"), [ReplyFulfil(flow.preimage)]


def released_in(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    result, hop = flow.outcome, flow.in_hop
    assert hop is not None
    return flow.to("done"), [reject(ctx, flow.transfer_id, hop, result.code, result.message)]
