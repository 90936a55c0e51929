"""A flow: one task's walk through the transfer protocol, at one node, for one transfer.

Several flows may concern the same transfer at once (the task driving it, a decision
arriving from the upstream, a status question from the downstream, a sweep), each with a
``Flow`` of its own; what they share is the log, which each reads through the ``View`` it
is given with every event. A flow is a frozen value: a transition returns the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from letsnode.core.errors import LocalProtocolError
from letsnode.core.transfers.events import DecisionReceived, PayOrdered, PrepareReceived
from letsnode.core.transfers.facts import OutcomeState

Step = Literal[
    "start",
    # the payer's node
    "invoicing",  # asked the payee's node for an invoice
    "holding_out",  # logging the payer's hold (the prepare is in the outbox)
    # a node that received a prepare
    "waiting",  # another task drives this transfer; answer from the log when it ends
    "holding_in",  # logging the incoming leg
    "revealing",  # the payee's node: logging the reveal before answering fulfil
    "holding_onward",  # a forwarding node: logging the outgoing leg (prepare in the outbox)
    "unwinding",  # the outgoing hold was refused: releasing the incoming leg
    # driving an outgoing leg (payer, forwarder, or resumed after a restart)
    "asking",  # sent the prepare, waiting for the answer
    "backing_off",  # the downstream is pending or unreachable: sleeping before asking again
    "lapsing",  # no usable answer: sleeping until the leg is past its expiry
    "settling_out",  # fulfilled in time: logging the settle
    "rejecting_out",  # rejected: logging the release with the downstream's reject
    "expiring_out",  # expired: logging the release
    "telling",  # sending our decision downstream
    "loading_outcome",  # the leg ended meanwhile: reading how
    # finishing the incoming leg once the outgoing one is decided (forwarding node)
    "revealing_in",  # fulfilled: logging the reveal before answering fulfil
    "releasing_in",  # not fulfilled: releasing before answering reject
    # following the upstream's decision about our incoming leg
    "following_reveal",  # logging the reveal the settle needs
    "following_settle",
    "following_release",
    # the sweeps (expiry and recovery, on every tick)
    "sweep_release_out",  # an expired outgoing leg: logging its release
    "sweep_telling",  # telling the downstream it expired
    "sweep_writing",  # a release or reveal of an incoming leg
    "sweep_asking",  # asked the upstream about a revealed incoming leg
    "sweep_following",  # following the decision it answered with
    "done",
]


@dataclass(frozen=True, slots=True)
class OutLeg:
    """The outgoing leg a flow drives or announces: the prepare as kept in the outbox."""

    peer: bytes
    data: bytes
    sig: bytes
    hop: int
    expiry_ms: int


@dataclass(frozen=True, slots=True)
class Result:
    """How a driven outgoing leg ended: (state, code, message) of the payer's Outcome."""

    state: OutcomeState
    code: str
    message: str


FULFILLED = Result("fulfilled", "fulfilled", "paid")
EXPIRED = Result("expired", "expired", "the payment did not complete in time")


@dataclass(frozen=True, slots=True)
class Flow:
    """Where a flow is (``step``) and what it carries to the next step.

    ``in_hop`` is the hop of the incoming prepare whose leg this flow finishes once its
    outgoing leg is decided (None for the payer, which has no incoming leg). ``left_s`` is
    the time the leg had left when the prepare was last sent (the back-off is bounded by
    it). ``peer`` is the upstream a sweep asked about a revealed leg. The other fields
    hold what a step needs from an earlier event.
    """

    transfer_id: bytes
    step: Step = "start"
    peer: bytes = b""
    leg: OutLeg | None = None
    in_hop: int | None = None
    left_s: float = 0.0
    preimage: bytes = b""
    result: Result | None = None
    pay: PayOrdered | None = None
    prepare: PrepareReceived | None = None
    decision: DecisionReceived | None = None

    def to(self, step: Step, **changes: object) -> Flow:
        return replace(self, step=step, **changes)  # type: ignore[arg-type]

    @property
    def out(self) -> OutLeg:
        if self.leg is None:
            raise LocalProtocolError(f"{self.step}: the flow has no outgoing leg")
        return self.leg

    @property
    def outcome(self) -> Result:
        if self.result is None:
            raise LocalProtocolError(f"{self.step}: the flow has no result yet")
        return self.result
