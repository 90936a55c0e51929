"""Audit: replay a log from its first record, trusting nothing, and report the first fault.

This module is the sequential reference. It checks, entry by entry: decoding and canonical
form, the hash chain and seq numbers, the node's signature, every payer's signature and
nonce, every ledger rule (balances within floor and ceiling after every entry), and at the
end zero-sum. Faster engines must report exactly the same first fault.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from letsnode.core.errors import LetsError
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.entries import Entry


@dataclass(frozen=True, slots=True)
class AuditFault:
    """The first bad entry (by seq, or the record's position) and why it is bad."""

    seq: int
    code: str
    reason: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.reason}"


@dataclass(slots=True)
class AuditResult:
    ledger: Ledger
    entries: int = 0
    fault: AuditFault | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault is None


class AuditFailed(LetsError):
    code = "audit_failed"

    def __init__(self, fault: AuditFault) -> None:
        super().__init__(str(fault), code=fault.code)
        self.fault = fault


def audit_records(records: Iterable[tuple[bytes, bytes]]) -> AuditResult:
    """Replay ``records`` (entry bytes, node signature) into a fresh Ledger.

    Stops at the first fault and returns it in ``fault``; ``entries`` counts the entries
    that passed. Decoding errors raised by the records' source itself propagate.
    """
    ledger = Ledger()
    result = AuditResult(ledger)
    for position, (data, signature) in enumerate(records):
        try:
            entry = Entry.decode(data, signature)
            ledger.apply(entry)
        except LetsError as err:
            result.fault = AuditFault(position, err.code, str(err))
            return result
        result.entries += 1
    return finish(result)


def finish(result: AuditResult) -> AuditResult:
    """End-of-log checks: the log is not empty and balances sum to zero."""
    ledger = result.ledger
    if result.entries == 0:
        result.fault = AuditFault(0, "empty_log", "the log has no genesis entry")
    elif ledger.total() != 0:
        result.fault = AuditFault(
            result.entries - 1, "not_zero_sum", f"balances sum to {ledger.total()}, not zero"
        )
    return result
