"""Events: what happened, as the desk tells the transfer machine.

Each is a small frozen dataclass that checks itself when made. Events built from bytes a
peer sent (``from_wire``) raise ``RemoteProtocolError`` (the peer's fault); events the desk
builds from its own I/O raise ``LocalProtocolError`` when malformed (ours). Time is only
ever in events (``now``, ms since the epoch, from the node's clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from letsnode.core.errors import LocalProtocolError, RemoteProtocolError
from letsnode.core.routing import Hop
from letsnode.core.transfers.facts import Held, LegRow, Onward, Sent
from letsnode.core.wire.codec import Wire
from letsnode.core.wire.transfers import Decision, Prepare, RemoteOrder

# The kinds a downstream or upstream may answer with (the envelope's shapes, see the desk).
ANSWER_KINDS = ("invoice", "fulfil", "reject", "decision", "pending", "ok")


def _clock(now: int) -> None:
    if not isinstance(now, int) or now < 0:
        raise LocalProtocolError(f"an event's time is a count of ms, not {now!r}")


def wire_bytes(value: Wire, complaint: str) -> bytes:
    """A byte string from a peer's message, or the peer's fault (``complaint`` says it)."""
    if not isinstance(value, bytes):
        raise RemoteProtocolError(complaint)
    return value


# -- a payment starts (the payer's node) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayOrdered:
    """A member's signed order, checked, with the route found for it; ``line_handle`` is
    the mirror account of the route's first line and ``origin`` the payer's address."""

    transfer_id: bytes
    order: RemoteOrder
    order_data: bytes
    order_sig: bytes
    route: tuple[Hop, ...]
    line_handle: str
    origin: str

    def __post_init__(self) -> None:
        if not self.route:
            raise LocalProtocolError("a payment needs a route of at least one hop")
        if self.route[-1].to != self.order.payee_community:
            raise LocalProtocolError("the route does not end at the payee's community")


@dataclass(frozen=True, slots=True)
class InvoiceReceived:
    """The payee's node answered our invoice request (not yet checked: the machine does)."""

    data: bytes
    sig: bytes
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)

    @classmethod
    def from_wire(cls, fields: list[Wire], now: int) -> InvoiceReceived:
        data, sig = fields
        if not isinstance(data, bytes) or not isinstance(sig, bytes):
            raise RemoteProtocolError("malformed invoice")
        return cls(data, sig, now)


# -- results of the machine's effects -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Logged:
    """The body of the last ``Log`` effect is in the log, durable."""

    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class LogRefused:
    """The ledger refused the body of the last ``Log`` effect (only for ``report``)."""

    code: str
    message: str
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class Answered:
    """A peer answered our request: ``kind`` and the envelope's fields, not yet checked."""

    kind: str
    fields: tuple[Wire, ...]
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)
        if self.kind not in ANSWER_KINDS:
            raise LocalProtocolError(f"{self.kind!r} is not an answer the protocol knows")


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """A request got no usable answer: the transport's error code (``peer_timeout``, a
    peer's refusal code, ...) or ``decode_error`` for a malformed answer."""

    code: str
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class Woke:
    """The last ``Sleep`` is over."""

    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class Told:
    """The last ``SendDecision`` is done: delivered or not (it is best effort)."""

    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class Idle:
    """The task that drove the transfer has ended; ``in_row`` is the incoming leg now."""

    in_row: LegRow | None


@dataclass(frozen=True, slots=True)
class LegLoaded:
    """The stored row of the leg the last ``LoadLeg`` asked for (None: no such leg)."""

    row: LegRow | None


@dataclass(frozen=True, slots=True)
class Followed:
    """The decision of the last ``FollowDecision`` has been followed."""


# -- requests from peers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrepareReceived:
    """An upstream offers us a leg. ``prepare`` is decoded and its signature checked by the
    peer's key (``from_wire``); ``line_handle`` is our mirror account of the line it names
    when that line is the peer's (None: the peer is not its partner); ``onward`` the line
    towards the next community (None at the payee, or when we have none); ``in_row`` our
    stored incoming leg of this transfer, if any."""

    peer: bytes
    prepare: Prepare
    data: bytes
    sig: bytes
    line_handle: str | None
    onward: Onward | None
    in_row: LegRow | None
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)

    @staticmethod
    def decode(peer: bytes, data: bytes, sig: bytes) -> Prepare:
        """The prepare in ``data`` if ``peer`` signed it (raises the peer's fault)."""
        prepare = Prepare.decode(data)
        Prepare.verify(peer, data, sig)
        return prepare


@dataclass(frozen=True, slots=True)
class DecisionReceived:
    """The upstream's decision about the leg it sent us (decoded; the ledger rules check
    its signature when it becomes evidence)."""

    peer: bytes
    decision: Decision
    data: bytes
    sig: bytes

    @classmethod
    def from_wire(cls, peer: bytes, data: bytes, sig: bytes) -> DecisionReceived:
        return cls(peer, Decision.decode(data), data, sig)


@dataclass(frozen=True, slots=True)
class StatusAsked:
    """A downstream asks how we decided the leg we sent it: our stored outgoing leg and the
    prepare we kept for it, if any."""

    peer: bytes
    out_row: LegRow | None
    sent: Sent | None


@dataclass(frozen=True, slots=True)
class InvoiceAsked:
    """A payer's node asks us, the payee's node, for an invoice for ``handle``; ``kind``
    and ``status`` are that account's."""

    handle: str
    kind: str
    status: str


# -- timers and recovery -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpiryDue:
    """The expiry sweep reached ``held`` (one pending leg, as the ledger has it now);
    ``sent`` is the outbox entry of an outgoing leg, ``now`` the sweep's time."""

    held: Held
    sent: Sent | None
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class RecoveryDue:
    """The recovery sweep (after a restart, and on every tick) reached ``held``."""

    held: Held
    sent: Sent | None
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class ResumeStarted:
    """A task of its own now drives the outgoing leg the recovery sweep found pending."""

    sent: Sent
    expiry_ms: int
    now: int

    def __post_init__(self) -> None:
        _clock(self.now)


@dataclass(frozen=True, slots=True)
class StatusAnswered:
    """The upstream answered our ``status`` request: ``kind`` and the envelope's fields."""

    kind: str
    fields: tuple[Wire, ...]


Event = (
    PayOrdered
    | InvoiceReceived
    | Logged
    | LogRefused
    | Answered
    | RequestFailed
    | Woke
    | Told
    | Idle
    | LegLoaded
    | Followed
    | PrepareReceived
    | DecisionReceived
    | StatusAsked
    | InvoiceAsked
    | ExpiryDue
    | RecoveryDue
    | ResumeStarted
    | StatusAnswered
)
