"""The conditional-transfer protocol (protocol/SPEC.md §6) as a pure state machine.

Like h11 for HTTP: the machine decides, the shell does the I/O. The federation's
``TransferDesk`` feeds it *events* (a prepare arrived, a log write landed, an answer came,
a sleep ended, a sweep reached a leg) together with a *view* of what the log says about the
transfer now, and carries out the *effects* it returns (log this body, keep this prepare,
send this message, sleep, answer the peer). The machine never does I/O, never reads a
clock (time comes in events) and is deterministic, so it can be driven directly by tests.

    facts.py      what the machine is told: the log's view of a transfer, timing
    events.py     what happened
    effects.py    what to do
    flow.py       one task's place in the protocol (its step) and what it carries
    table.py      the transition table: step x event -> handler -> next steps
    taking.py     paying, and taking a prepare (the payee's node, a forwarding node)
    driving.py    driving an outgoing leg to its outcome, finishing the incoming one
    following.py  following the upstream's decision, answering the downstream's status
    sweeping.py   expiry and recovery, on every tick and after a restart
"""

from letsnode.core.transfers.flow import Flow
from letsnode.core.transfers.table import TABLE, TransferMachine

__all__ = ["TABLE", "Flow", "TransferMachine"]
