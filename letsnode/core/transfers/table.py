"""THE transition table of the conditional-transfer protocol (SPEC §6), and the machine
that applies it. This is the one place that says which event may come in which step.

Each row reads: in *step*, on *event*, the *handler* decides, and the flow moves to one
of the *next* steps. ``TransferMachine.handle`` looks the row up (an event with no row is
a ``LocalProtocolError``: the desk fed the machine out of turn), runs the handler, and
checks that the flow went where the row says and that the effects are well formed (any
actions, then one await, or one terminal when the flow is ``done``).

A handler may raise: a ``RemoteProtocolError`` when a peer's bytes are malformed or forged,
a ``LedgerRefusal`` when the protocol refuses the request (the codes travel to the peer);
the flow then ends, and nothing was logged in that step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import LocalProtocolError
from letsnode.core.transfers import driving, following, sweeping, taking
from letsnode.core.transfers.effects import ACTIONS, AWAITS, TERMINALS, Effect
from letsnode.core.transfers.events import (
    Answered,
    DecisionReceived,
    Event,
    ExpiryDue,
    Followed,
    Idle,
    InvoiceAsked,
    InvoiceReceived,
    LegLoaded,
    Logged,
    LogRefused,
    PayOrdered,
    PrepareReceived,
    RecoveryDue,
    RequestFailed,
    ResumeStarted,
    StatusAnswered,
    StatusAsked,
    Told,
    Woke,
)
from letsnode.core.transfers.facts import Context, Timing, View
from letsnode.core.transfers.flow import Flow, Step

# A handler takes (context, flow, event of its row's type, view).
Handler = Callable[[Context, Flow, Any, View], tuple[Flow, list[Effect]]]

# Where the shared handlers may lead.
ASKS: tuple[Step, ...] = ("asking", "lapsing", "expiring_out", "loading_outcome")
DECIDES: tuple[Step, ...] = ("backing_off", "settling_out", "rejecting_out", *ASKS[1:])
LAPSES: tuple[Step, ...] = ("lapsing", "expiring_out", "telling")
FINISHES: tuple[Step, ...] = ("done", "revealing_in", "releasing_in")
TAKES: tuple[Step, ...] = ("waiting", "done", "holding_in")
HOLDS_IN: tuple[Step, ...] = ("revealing", "holding_onward", "unwinding")
FOLLOWS: tuple[Step, ...] = ("done", "following_reveal", "following_settle", "following_release")
EXPIRES: tuple[Step, ...] = ("done", "sweep_release_out", "sweep_writing")
RECOVERS: tuple[Step, ...] = ("done", "sweep_writing", "sweep_asking")
TELLS: tuple[Step, ...] = ("done", "sweep_telling")
ANSWERS: tuple[Step, ...] = ("done", "sweep_following")
DONE: tuple[Step, ...] = ("done",)

# fmt: off
ROWS: Final[tuple[tuple[Step, type[Event], Handler, tuple[Step, ...]], ...]] = (
    # step                event             handler                          next step(s)
    # -- the payer's node ----------------------------------------------------------------
    ("start",             PayOrdered,       taking.ordered,                  ("invoicing",)),
    ("invoicing",         InvoiceReceived,  taking.invoiced,                 ("holding_out",)),
    ("holding_out",       Logged,           taking.held_out,                 ASKS),
    # -- a node that receives a prepare --------------------------------------------------
    ("start",             PrepareReceived,  taking.prepared,                 TAKES),
    ("waiting",           Idle,             taking.idle,                     DONE),
    ("holding_in",        Logged,           taking.held_in,                  HOLDS_IN),
    ("holding_in",        LogRefused,       taking.held_in_refused,          DONE),
    ("revealing",         Logged,           taking.revealed,                 DONE),
    ("holding_onward",    Logged,           taking.held_onward,              ASKS),
    ("holding_onward",    LogRefused,       taking.held_onward_refused,      ("unwinding",)),
    ("unwinding",         Logged,           taking.unwound,                  DONE),
    ("start",             InvoiceAsked,     taking.invoice_asked,            DONE),
    # -- driving an outgoing leg ---------------------------------------------------------
    ("asking",            Answered,         driving.answered,                DECIDES),
    ("asking",            RequestFailed,    driving.failed,                  DECIDES),
    ("backing_off",       Woke,             driving.backed_off,              ASKS),
    ("lapsing",           Woke,             driving.lapsing,                 LAPSES),
    ("settling_out",      Logged,           driving.settled_out,             ("telling",)),
    ("rejecting_out",     Logged,           driving.rejected_out,            FINISHES),
    ("expiring_out",      Logged,           driving.expired_out,             ("telling",)),
    ("telling",           Told,             driving.told,                    FINISHES),
    ("loading_outcome",   LegLoaded,        driving.loaded_outcome,          FINISHES),
    ("revealing_in",      Logged,           driving.revealed_in,             DONE),
    ("releasing_in",      Logged,           driving.released_in,             DONE),
    # -- following the upstream, answering the downstream --------------------------------
    ("start",             DecisionReceived, following.decided,               FOLLOWS),
    ("following_reveal",  Logged,           following.revealed_for_settle,   ("following_settle",)),
    ("following_settle",  Logged,           following.followed,              DONE),
    ("following_release", Logged,           following.followed,              DONE),
    ("start",             StatusAsked,      following.status_asked,          DONE),
    # -- the sweeps ----------------------------------------------------------------------
    ("start",             ExpiryDue,        sweeping.expiry_due,             EXPIRES),
    ("sweep_release_out", Logged,           sweeping.released_out,           TELLS),
    ("sweep_telling",     Told,             sweeping.told,                   DONE),
    ("sweep_writing",     Logged,           sweeping.written,                DONE),
    ("start",             RecoveryDue,      sweeping.recovery_due,           RECOVERS),
    ("sweep_asking",      StatusAnswered,   sweeping.upstream_answered,      ANSWERS),
    ("sweep_asking",      RequestFailed,    sweeping.upstream_silent,        DONE),
    ("sweep_following",   Followed,         sweeping.followed,               DONE),
    ("start",             ResumeStarted,    sweeping.resumed,                ASKS),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Row:
    handler: Handler
    next: frozenset[Step]


def _index(
    rows: tuple[tuple[Step, type[Event], Handler, tuple[Step, ...]], ...],
) -> dict[tuple[Step, type[Event]], Row]:
    table: dict[tuple[Step, type[Event]], Row] = {}
    for step, event, handler, nxt in rows:
        if (step, event) in table:
            raise LocalProtocolError(f"the table has two rows for {step} on {event.__name__}")
        table[(step, event)] = Row(handler, frozenset(nxt))
    return table


TABLE: Final[Mapping[tuple[Step, type[Event]], Row]] = _index(ROWS)


class TransferMachine:
    """The transfer protocol of one node, as a pure function of flows, events and views.

    ``handle(flow, event, view)`` returns the next flow and the effects to carry out. It
    never does I/O, never reads a clock, and given the same arguments returns the same
    result (signatures are deterministic Ed25519).
    """

    def __init__(self, key: SigningKey, timing: Timing) -> None:
        self.context = Context(key, timing)

    def handle(self, flow: Flow, event: Event, view: View) -> tuple[Flow, list[Effect]]:
        row = TABLE.get((flow.step, type(event)))
        if row is None:
            raise LocalProtocolError(f"{type(event).__name__} is not expected in step {flow.step}")
        new, effects = row.handler(self.context, flow, event, view)
        _check(flow, event, row, new, effects)
        return new, effects


def _check(flow: Flow, event: Event, row: Row, new: Flow, effects: list[Effect]) -> None:
    where = f"{flow.step} on {type(event).__name__}"
    if new.step not in row.next:
        raise LocalProtocolError(f"{where} went to {new.step}, not one of {sorted(row.next)}")
    if new.transfer_id != flow.transfer_id:
        raise LocalProtocolError(f"{where} changed the flow's transfer")
    if not effects or not all(isinstance(e, ACTIONS) for e in effects[:-1]):
        raise LocalProtocolError(f"{where}: effects are actions, then one await or terminal")
    last = effects[-1]
    if isinstance(last, TERMINALS) != (new.step == "done") or not isinstance(
        last, (*AWAITS, *TERMINALS)
    ):
        raise LocalProtocolError(f"{where}: a flow ends exactly when its last effect is terminal")
