"""Log entry bodies for credit lines, conditional transfers (protocol/SPEC.md §6) and
clearing rounds (§8).

    ["line", terms, sig_a|nil, sig_b|nil]            a line agreement or a change of it
    ["hold", transfer_id, role, debit, credit, amount, condition, expiry_ms,
             evidence, evidence_sig]                 a leg prepared: amount held
    ["reveal", transfer_id, preimage]                the preimage was given upstream
    ["settle", transfer_id, role, preimage, evidence, evidence_sig]
    ["release", transfer_id, role, reason, evidence, evidence_sig]
    ["clear", proposal, [[community_id, vote_sig], ...]]   a clearing round applied

``role`` is ``out`` for the leg this node sends (it is upstream and decides the outcome)
and ``in`` for the leg it receives (it follows the upstream's decision). A node holds at
most one leg of each role per transfer. ``evidence`` is the signed message that justifies
the step (the payer's remote order, the upstream's prepare or decision, the downstream's
reject), checked by the ledger rules, so each node's log proves what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal, Self, get_args

from letsnode.core.crypto import SIGNATURE_BYTES
from letsnode.core.errors import InvalidInput
from letsnode.core.wire.clearing import Proposal, Votes, round_id
from letsnode.core.wire.lines import SignedLine
from letsnode.core.wire.schema import LogBody, body
from letsnode.core.wire.specs import Bin, Bytes, Derived, Handle, Inline, Int64, Positive
from letsnode.core.wire.transfers import Condition, Preimage, TransferId

Role = Literal["out", "in"]
ReleaseReason = Literal["expired", "rejected"]
ROLES: tuple[Role, ...] = get_args(Role)
RELEASE_REASONS: tuple[ReleaseReason, ...] = get_args(ReleaseReason)
MAX_EVIDENCE_BYTES = 4096

Evidence = Annotated[bytes, Bin(max=MAX_EVIDENCE_BYTES)]
EvidenceSig = Annotated[Bytes, "evidence signature"]


def _evidence(evidence: bytes, signature: bytes) -> None:
    if evidence and len(signature) != SIGNATURE_BYTES:
        raise InvalidInput("evidence needs a 64-byte signature")
    if not evidence and signature:
        raise InvalidInput("a signature without evidence")


@body("line", what="line agreement")
@dataclass(frozen=True, slots=True)
class LineAgreement(LogBody):
    signed: Annotated[SignedLine, Inline()]

    def __post_init__(self) -> None:
        if self.signed.sig_a is None and self.signed.sig_b is None:
            raise InvalidInput("a line agreement needs at least one signature")


@body("hold")
@dataclass(frozen=True, slots=True)
class Hold(LogBody):
    transfer_id: TransferId
    role: Role
    debit: Annotated[Handle, "debit account"]
    credit: Annotated[Handle, "credit account"]
    amount: Positive
    condition: Condition
    expiry_ms: Annotated[Int64, "expiry"]
    evidence: Evidence
    evidence_sig: EvidenceSig

    def __post_init__(self) -> None:
        if self.debit == self.credit:
            raise InvalidInput("a hold moves money between two different accounts")
        _evidence(self.evidence, self.evidence_sig)


@body("reveal")
@dataclass(frozen=True, slots=True)
class Reveal(LogBody):
    transfer_id: TransferId
    preimage: Preimage


@body("settle")
@dataclass(frozen=True, slots=True)
class Settle(LogBody):
    transfer_id: TransferId
    role: Role
    preimage: Preimage
    evidence: Evidence
    evidence_sig: EvidenceSig

    def __post_init__(self) -> None:
        _evidence(self.evidence, self.evidence_sig)


@body("release")
@dataclass(frozen=True, slots=True)
class Release(LogBody):
    transfer_id: TransferId
    role: Role
    reason: ReleaseReason
    evidence: Evidence
    evidence_sig: EvidenceSig

    def __post_init__(self) -> None:
        _evidence(self.evidence, self.evidence_sig)


@body("clear")
@dataclass(frozen=True, slots=True)
class Clear(LogBody):
    """A clearing round applied here: the proposal and every affected community's vote.

    ``votes`` pairs each participant's community id with its signature of the proposal,
    sorted by community id.
    """

    proposal_data: Annotated[Bytes, "proposal"]
    votes: Votes
    proposal: Annotated[Proposal, Derived("proposal_data", Proposal.decode)] = field(
        compare=False, repr=False
    )

    def __post_init__(self) -> None:
        ids = [community for community, _ in self.votes]
        if ids != list(self.proposal.participants):
            raise InvalidInput("a clear entry carries one vote from each participant, in order")

    @classmethod
    def of(cls, proposal_data: bytes, votes: dict[bytes, bytes]) -> Self:
        return cls(proposal_data, tuple(sorted(votes.items())), Proposal.decode(proposal_data))

    @property
    def round_id(self) -> bytes:
        return round_id(self.proposal_data)
