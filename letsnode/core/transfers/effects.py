"""Effects: what the transfer machine asks the desk to do.

Every transition returns a list of effects that the desk carries out in order: first any
number of *actions* (done, nothing to report), then exactly one effect that is either an
*await* (the desk does it and feeds the event it names back to the machine) or a
*terminal* (the flow is over: what to answer, or how the payment ended).

Order matters and is the protocol's: a body is in the log (``Log``) before the message
that announces it is sent, and a prepare is in the outbox (``SaveOutgoing``) before the
hold that commits to it, so that after a crash the log and the outbox say what to finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from letsnode.core.errors import LocalProtocolError
from letsnode.core.transfers.facts import OutcomeState, Role, Sent
from letsnode.core.wire.bodies import Hold, Release, Reveal, Settle

# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """This flow drives the transfer from now until it ends (however it ends): other
    prepares for it wait, and the sweeps leave it alone."""

    transfer_id: bytes


@dataclass(frozen=True, slots=True)
class Reach:
    """Dial ``peer`` at its advertised addresses unless connected (failures are fine)."""

    peer: bytes


@dataclass(frozen=True, slots=True)
class SaveOutgoing:
    """Keep the signed prepare of our outgoing leg, durably, to send it again later."""

    transfer_id: bytes
    peer: bytes
    data: bytes
    sig: bytes
    expiry_ms: int


@dataclass(frozen=True, slots=True)
class Resume:
    """Drive this pending outgoing leg in a task of its own, which claims the transfer
    now and feeds ``ResumeStarted`` to a new flow."""

    transfer_id: bytes
    sent: Sent
    expiry_ms: int


# -- awaits -------------------------------------------------------------------------------

# What a refused ``Log`` does: ``raise`` ends the flow with the ledger's error (raised to
# whoever asked: the payer, the peer whose request this is, the sweep); ``report`` feeds
# ``LogRefused`` to the machine, which answers the peer with a reject.
OnRefusal = Literal["raise", "report"]


@dataclass(frozen=True, slots=True)
class Log:
    """Append ``body`` to the log; feeds ``Logged`` once it is durable."""

    body: Hold | Reveal | Settle | Release
    on_refusal: OnRefusal = "raise"

    def __post_init__(self) -> None:
        if self.on_refusal not in ("raise", "report"):
            raise LocalProtocolError(f"on_refusal is raise or report, not {self.on_refusal!r}")


@dataclass(frozen=True, slots=True)
class AskInvoice:
    """Ask the payee's node for an invoice; feeds ``InvoiceReceived`` (a failure raises:
    nothing is held yet)."""

    peer: bytes
    transfer_id: bytes
    handle: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class SendPrepare:
    """Send our prepare downstream; feeds ``Answered`` or ``RequestFailed``."""

    peer: bytes
    data: bytes
    sig: bytes
    timeout_s: float


@dataclass(frozen=True, slots=True)
class SendDecision:
    """Tell the downstream our decision, best effort (it also asks us with ``status``);
    feeds ``Told`` whether or not it was delivered."""

    peer: bytes
    transfer_id: bytes
    data: bytes
    sig: bytes
    timeout_s: float


@dataclass(frozen=True, slots=True)
class AskUpstream:
    """Ask the upstream how it decided the leg it sent us; feeds ``StatusAnswered`` or
    ``RequestFailed``."""

    peer: bytes
    transfer_id: bytes
    timeout_s: float


@dataclass(frozen=True, slots=True)
class FollowDecision:
    """Follow a decision an upstream gave in answer to ``status``, as if it had sent it
    (a flow of its own, whose errors are raised); feeds ``Followed``."""

    peer: bytes
    data: bytes
    sig: bytes


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds``; feeds ``Woke``."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise LocalProtocolError("a sleep is not negative")


@dataclass(frozen=True, slots=True)
class WaitIdle:
    """Wait until no task drives the transfer; feeds ``Idle``."""

    transfer_id: bytes


@dataclass(frozen=True, slots=True)
class LoadLeg:
    """Read the stored row of our ``role`` leg; feeds ``LegLoaded``."""

    role: Role


# -- terminals ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyFulfil:
    preimage: bytes


@dataclass(frozen=True, slots=True)
class ReplyReject:
    data: bytes
    sig: bytes


@dataclass(frozen=True, slots=True)
class ReplyPending:
    pass


@dataclass(frozen=True, slots=True)
class ReplyDecision:
    data: bytes
    sig: bytes


@dataclass(frozen=True, slots=True)
class ReplyInvoice:
    data: bytes
    sig: bytes


@dataclass(frozen=True, slots=True)
class ReplyOk:
    pass


@dataclass(frozen=True, slots=True)
class Concluded:
    """How the payment (or the resumed leg) ended, as the payer's ``Outcome`` says it."""

    state: OutcomeState
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Finished:
    """A sweep's step is done."""


Action = Claim | Reach | SaveOutgoing | Resume
Await = (
    Log
    | AskInvoice
    | SendPrepare
    | SendDecision
    | AskUpstream
    | FollowDecision
    | Sleep
    | WaitIdle
    | LoadLeg
)
Reply = ReplyFulfil | ReplyReject | ReplyPending | ReplyDecision | ReplyInvoice | ReplyOk
Terminal = Reply | Concluded | Finished
Effect = Action | Await | Terminal

ACTIONS = (Claim, Reach, SaveOutgoing, Resume)
AWAITS = (
    Log,
    AskInvoice,
    SendPrepare,
    SendDecision,
    AskUpstream,
    FollowDecision,
    Sleep,
    WaitIdle,
    LoadLeg,
)
REPLIES = (ReplyFulfil, ReplyReject, ReplyPending, ReplyDecision, ReplyInvoice, ReplyOk)
TERMINALS = (*REPLIES, Concluded, Finished)
