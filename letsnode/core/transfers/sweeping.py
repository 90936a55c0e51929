"""The sweeps, run on every tick over each pending leg in the log (and so after a restart):
expiry releases what this node may release on its own; recovery finishes what a crash or
a lost message left unfinished.

Both skip a transfer that a task drives (it finishes the transfer itself). Expiry
releases an outgoing leg past its expiry (and tells the downstream) and an unrevealed
incoming one; a revealed incoming leg waits for the upstream's decision, which recovery
asks for. Recovery re-drives outgoing legs from the outbox (``Resume``), releases the
incoming leg of a forward whose outgoing leg never came to be, and completes a payee's
reveal.
"""

from __future__ import annotations

from letsnode.core.transfers.driving import Transition, ask, tell
from letsnode.core.transfers.effects import AskUpstream, Finished, FollowDecision, Log, Resume
from letsnode.core.transfers.events import (
    ExpiryDue,
    Followed,
    Logged,
    RecoveryDue,
    RequestFailed,
    ResumeStarted,
    StatusAnswered,
    Told,
)
from letsnode.core.transfers.facts import Context, View
from letsnode.core.transfers.flow import Flow, OutLeg
from letsnode.core.wire.bodies import Release, Reveal
from letsnode.core.wire.lines import TRANSIT
from letsnode.core.wire.transfers import preimage_for

STATUS_TIMEOUT_S = 5.0


def _done(flow: Flow) -> Transition:
    return flow.to("done"), [Finished()]


def _write(flow: Flow, body: Release | Reveal) -> Transition:
    return flow.to("sweep_writing"), [Log(body)]


# -- expiry -------------------------------------------------------------------------------


def expiry_due(ctx: Context, flow: Flow, event: ExpiryDue, view: View) -> Transition:
    held, sent, tid = event.held, event.sent, flow.transfer_id
    if event.now <= held.expiry_ms or view.busy:
        return _done(flow)
    if held.role == "out":
        leg = (
            None
            if sent is None
            else OutLeg(sent.peer, sent.data, sent.sig, sent.hop, held.expiry_ms)
        )
        release = Release(tid, "out", "expired", b"", b"")
        return flow.to("sweep_release_out", leg=leg), [Log(release)]
    if not held.revealed:
        return _write(flow, Release(tid, "in", "expired", b"", b""))
    return _done(flow)


def released_out(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    if flow.leg is None:  # no prepare kept: nobody to tell
        return _done(flow)
    return tell(ctx, flow, "expired", b"", step="sweep_telling")


def told(ctx: Context, flow: Flow, event: Told, view: View) -> Transition:
    return _done(flow)


def written(ctx: Context, flow: Flow, event: Logged, view: View) -> Transition:
    return _done(flow)


# -- recovery -----------------------------------------------------------------------------


def recovery_due(ctx: Context, flow: Flow, event: RecoveryDue, view: View) -> Transition:
    held, tid = event.held, flow.transfer_id
    if view.busy:
        return _done(flow)
    if held.role == "out":
        if event.sent is None:  # no prepare kept for it: nothing to send, release it in time
            if event.now > held.expiry_ms:
                return _write(flow, Release(tid, "out", "expired", b"", b""))
            return _done(flow)
        return flow.to("done"), [Resume(tid, event.sent, held.expiry_ms), Finished()]
    if held.revealed:  # we gave the preimage: the upstream's decision settles or releases
        ask_upstream = AskUpstream(held.partner, tid, STATUS_TIMEOUT_S)
        return flow.to("sweep_asking", peer=held.partner), [ask_upstream]
    if view.outgoing is None and held.credit == TRANSIT:  # a forward that never went on
        return _write(flow, Release(tid, "in", "rejected", b"", b""))
    if event.now > held.expiry_ms:
        return _write(flow, Release(tid, "in", "expired", b"", b""))
    if held.credit != TRANSIT:  # we are the payee: finish the reveal
        return _write(flow, Reveal(tid, preimage_for(ctx.key.seed, tid)))
    return _done(flow)


def upstream_answered(ctx: Context, flow: Flow, event: StatusAnswered, view: View) -> Transition:
    if event.kind == "decision":
        data, sig = event.fields
        if isinstance(data, bytes) and isinstance(sig, bytes):
            return flow.to("sweep_following"), [FollowDecision(flow.peer, data, sig)]
    return _done(flow)  # pending, or not an answer: ask again on the next tick


def upstream_silent(ctx: Context, flow: Flow, event: RequestFailed, view: View) -> Transition:
    return _done(flow)


def followed(ctx: Context, flow: Flow, event: Followed, view: View) -> Transition:
    return _done(flow)


def resumed(ctx: Context, flow: Flow, event: ResumeStarted, view: View) -> Transition:
    """Drive a pending outgoing leg again; a forwarding node then finishes its incoming
    leg as if it were answering the prepare (the answer itself goes nowhere)."""
    sent = event.sent
    hop = sent.hop
    in_hop = hop - 1 if view.incoming is not None else None
    leg = OutLeg(sent.peer, sent.data, sent.sig, hop, event.expiry_ms)
    return ask(ctx, flow.to(flow.step, leg=leg, in_hop=in_hop), event.now, view)
