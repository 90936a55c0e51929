"""The downstream follows, the upstream answers: decisions about our incoming legs, and
status questions about our outgoing ones.

For each leg the upstream decides (SPEC §6.3). A downstream that revealed the preimage
waits for the upstream's signed decision and logs it as evidence: ``fulfilled`` settles
the leg (after the reveal it needs), ``expired`` or ``rejected`` releases it. An upstream
answers ``status`` from its log, and only to the downstream it sent the prepare to.
"""

from __future__ import annotations

from letsnode.core.errors import LedgerRefusal, LocalProtocolError
from letsnode.core.transfers.driving import Transition
from letsnode.core.transfers.effects import Log, ReplyDecision, ReplyOk, ReplyPending
from letsnode.core.transfers.events import DecisionReceived, Logged, StatusAsked
from letsnode.core.transfers.facts import Context, View
from letsnode.core.transfers.flow import Flow
from letsnode.core.wire.bodies import Release, Reveal, Settle
from letsnode.core.wire.transfers import Decision


def decided(ctx: Context, flow: Flow, event: DecisionReceived, view: View) -> Transition:
    hold, tid = view.incoming, flow.transfer_id
    if hold is None:
        return flow.to("done"), [ReplyOk()]  # already settled or released: idempotent
    if hold.partner != event.peer:
        raise LedgerRefusal("only the upstream partner decides this leg", code="not_partner")
    flow = flow.to(flow.step, decision=event)
    decision = event.decision
    if decision.outcome == "fulfilled":
        if not hold.revealed:
            return flow.to("following_reveal"), [Log(Reveal(tid, decision.preimage))]
        return _settle(flow, event)
    release = Release(tid, "in", decision.outcome, event.data, event.sig)
    return flow.to("following_release"), [Log(release)]


def _settle(flow: Flow, event: DecisionReceived) -> Transition:
    settle = Settle(flow.transfer_id, "in", event.decision.preimage, event.data, event.sig)
    return flow.to("following_settle"), [Log(settle)]


def revealed_for_settle(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    if flow.decision is None:
        raise LocalProtocolError("following a decision the flow does not have")
    return _settle(flow, flow.decision)


def followed(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return flow.to("done"), [ReplyOk()]


def status_asked(ctx: Context, flow: Flow, event: StatusAsked, view: View) -> Transition:
    """A downstream asks how we decided the leg we sent it."""
    row, sent, tid = event.out_row, event.sent, flow.transfer_id
    if row is None or sent is None or sent.peer != event.peer:
        raise LedgerRefusal("no such leg with you", code="unknown_transfer")
    if row.state == "pending":
        return flow.to("done"), [ReplyPending()]
    hop = sent.hop
    if row.state == "settled":
        decision = Decision(tid, hop, "fulfilled", row.preimage_bytes)
    else:
        decision = Decision(tid, hop, "expired" if row.state == "expired" else "rejected", b"")
    data, sig = decision.sign(ctx.key)
    return flow.to("done"), [ReplyDecision(data, sig)]
