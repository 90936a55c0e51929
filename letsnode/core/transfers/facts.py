"""What the transfer machine is told about the world: the node's log, its outbox, its timing.

The machine keeps no copy of the log. Before each event the desk reads what the log says
about the transfer (a ``View``: its pending legs, as the ledger has applied them, and
whether a task drives it) and hands it over with the event; facts only some events need
(a leg's stored row, the prepare kept in the outbox) travel in those events. So after a
crash nothing has to be rebuilt: the log is the state, and the machine starts again from
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import LocalProtocolError
from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import HoldState
from letsnode.core.wire.lines import LineTerms
from letsnode.core.wire.transfers import Prepare

# Typed words of the protocol (protocol/SPEC.md §6.3). ``Role`` is the leg's side at this
# node: ``out`` for the leg it sends (and decides), ``in`` for the leg it receives.
Role = Literal["in", "out"]
LegState = Literal["pending", "settled", "expired", "rejected"]
# How a payment (or one leg of it) ended, as a payer's ``Outcome`` says it; ``pending``
# only when the log is read in the middle of a write (see ``Result``).
OutcomeState = Literal["fulfilled", "rejected", "expired", "pending"]
LEG_STATES: tuple[LegState, ...] = ("pending", "settled", "expired", "rejected")


@dataclass(frozen=True, slots=True)
class Timing:
    """How long legs live and how often a silent downstream is asked again."""

    hop_ms: int = 3000  # how much the expiry shrinks at each hop
    base_ms: int = 4000  # what the payee's node is given to answer
    max_hops: int = 4
    retry_s: float = 0.25

    def __post_init__(self) -> None:
        if self.hop_ms <= 0 or self.base_ms <= 0 or self.max_hops <= 0 or self.retry_s <= 0:
            raise LocalProtocolError("transfer timings are positive")


@dataclass(frozen=True, slots=True)
class Held:
    """A pending leg as the ledger has applied it (``ledger.holds``), copied at one moment.

    ``partner`` is the community on the other side of the leg: the upstream (the key of
    the debited line account) for an incoming leg, the downstream for an outgoing one.
    """

    transfer_id: bytes
    role: Role
    debit: str
    credit: str
    amount: int
    condition: bytes
    expiry_ms: int
    revealed: bool
    partner: bytes


@dataclass(frozen=True, slots=True)
class LegRow:
    """A leg as stored, pending or ended, durable: its state and preimage (once known)."""

    state: LegState
    revealed: bool
    preimage: bytes | None

    def __post_init__(self) -> None:
        if self.state not in LEG_STATES:
            raise LocalProtocolError(f"a leg is one of {LEG_STATES}, not {self.state!r}")
        if (self.revealed or self.state == "settled") and self.preimage is None:
            raise LocalProtocolError("a revealed or settled leg has its preimage")

    @property
    def preimage_bytes(self) -> bytes:
        assert self.preimage is not None  # checked above for revealed and settled legs
        return self.preimage


@dataclass(frozen=True, slots=True)
class Sent:
    """The prepare this node keeps for its outgoing leg (the outbox), to send it again."""

    peer: bytes
    data: bytes
    sig: bytes

    @property
    def hop(self) -> int:
        return Prepare.decode(self.data).hop


@dataclass(frozen=True, slots=True)
class Onward:
    """The line towards the next community of a prepare's route, as the ledger has it."""

    handle: str
    terms: LineTerms
    balance: int
    held_in: int
    ceiling: int | None


@dataclass(frozen=True, slots=True)
class View:
    """What the log says about one transfer now, and whether a task of ours drives it."""

    incoming: Held | None = None
    outgoing: Held | None = None
    busy: bool = False

    def __post_init__(self) -> None:
        if self.incoming is not None and self.incoming.role != "in":
            raise LocalProtocolError("the incoming leg of a view has role in")
        if self.outgoing is not None and self.outgoing.role != "out":
            raise LocalProtocolError("the outgoing leg of a view has role out")


@dataclass(frozen=True, slots=True)
class Context:
    """Who the machine speaks for: the node's key signs its messages and makes the payee's
    preimages; ``timing`` sets expiries and retries."""

    key: SigningKey
    timing: Timing

    @property
    def me(self) -> bytes:
        return self.key.public


# -- reading the facts from a ledger (the desk does, and so do the machine's tests) ----------


def held_of(ledger: Ledger, hold: HoldState) -> Held:
    """A copy of ``hold`` as it is now (even if it has just ended), with its partner."""
    role: Role = "in" if hold.role == "in" else "out"
    partner = ledger.accounts[hold.debit if role == "in" else hold.credit].key
    return Held(
        hold.transfer_id,
        role,
        hold.debit,
        hold.credit,
        hold.amount,
        hold.condition,
        hold.expiry_ms,
        hold.revealed,
        partner,
    )


def view_of(ledger: Ledger, transfer_id: bytes, busy: bool) -> View:
    """The pending legs of ``transfer_id`` as the ledger has applied them."""
    incoming = ledger.holds.get((transfer_id, "in"))
    outgoing = ledger.holds.get((transfer_id, "out"))
    return View(
        None if incoming is None else held_of(ledger, incoming),
        None if outgoing is None else held_of(ledger, outgoing),
        busy,
    )


def line_of(ledger: Ledger, prepare: Prepare, peer: bytes) -> str | None:
    """Our mirror account of the line ``prepare`` names, if that line is ``peer``'s."""
    line = ledger.lines.get(prepare.line_id)
    return line.handle if line is not None and line.partner == peer else None


def onward_of(ledger: Ledger, prepare: Prepare) -> Onward | None:
    """Our line towards the next community of the prepare's route (None at its end)."""
    if not prepare.route:
        return None
    line = next((x for x in ledger.lines.values() if x.partner == prepare.route[0]), None)
    if line is None:
        return None
    account = ledger.accounts[line.handle]
    return Onward(line.handle, line.terms, account.balance, account.held_in, account.ceiling)
