"""What an audit found, and how the command line and the API show it.

``audit_json`` is the stable shape of ``letsnode audit --json`` and of the stewards' audit
in the API (README.md, "JSON output"): keys are only ever added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from letsnode.core.audit import AuditFault


@dataclass(frozen=True, slots=True)
class AuditReport:
    source: str
    entries: int
    accounts: int
    community_id: bytes | None
    name: str | None
    head: bytes
    seconds: float
    fault: AuditFault | None
    # Incremental audits: entries before ``verified_from`` were covered by the checkpoint
    # at ``checkpoint_seq`` (checked, re-hashed, not re-verified). 0 and None otherwise.
    verified_from: int = 0
    checkpoint_seq: int | None = None
    checkpoint_written: int | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None

    @property
    def verified(self) -> int:
        """Entries whose signatures and rules this audit checked."""
        return max(self.entries - self.verified_from, 0)

    @property
    def entries_per_second(self) -> float:
        return self.verified / self.seconds if self.seconds > 0 else 0.0


def audit_json(r: AuditReport) -> dict[str, Any]:
    return {
        "ok": r.ok,
        "source": r.source,
        "community_id": r.community_id.hex() if r.community_id else None,
        "name": r.name,
        "entries": r.entries,
        "accounts": r.accounts,
        "head": r.head.hex(),
        "seconds": round(r.seconds, 6),
        "entries_per_second": round(r.entries_per_second, 1),
        "fault": None
        if r.fault is None
        else {"seq": r.fault.seq, "code": r.fault.code, "reason": r.fault.reason},
    }


def audit_lines(r: AuditReport) -> list[str]:
    if r.fault is not None:
        return [f"audit FAILED: {r.source}: entry {r.fault.seq}: {r.fault.reason} [{r.fault.code}]"]
    return [
        f"audit ok: {r.source}",
        f"community  {r.name} ({r.community_id.hex() if r.community_id else '?'})",
        f"entries    {r.entries}",
        f"accounts   {r.accounts}",
        f"head       {r.head.hex()}",
        f"seconds    {r.seconds:.3f}",
        f"entries/s  {r.entries_per_second:,.0f}",
    ]
