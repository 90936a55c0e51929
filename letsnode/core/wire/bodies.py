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
from typing import ClassVar, Self

from letsnode.core.amounts import check_int64
from letsnode.core.crypto import SIGNATURE_BYTES
from letsnode.core.errors import InvalidInput
from letsnode.core.names import check_slug
from letsnode.core.wire.clearing import Proposal, round_id, votes_from_wire
from letsnode.core.wire.codec import (
    Wire,
    expect_bytes,
    expect_int,
    expect_list,
    expect_str,
)
from letsnode.core.wire.lines import SignedLine
from letsnode.core.wire.transfers import CONDITION_BYTES, check_transfer_id

ROLES = ("out", "in")
RELEASE_REASONS = ("expired", "rejected")


def _opt_sig(value: Wire, what: str) -> bytes | None:
    return None if value is None else expect_bytes(value, what, SIGNATURE_BYTES)


def _role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {ROLES}")
    return role


def _evidence(evidence: bytes, signature: bytes) -> None:
    if len(evidence) > 4096:
        raise InvalidInput("evidence is larger than 4096 bytes")
    if evidence and len(signature) != SIGNATURE_BYTES:
        raise InvalidInput("evidence needs a 64-byte signature")
    if not evidence and signature:
        raise InvalidInput("a signature without evidence")


@dataclass(frozen=True, slots=True)
class LineAgreement:
    KIND: ClassVar[str] = "line"
    signed: SignedLine

    def __post_init__(self) -> None:
        if self.signed.sig_a is None and self.signed.sig_b is None:
            raise InvalidInput("a line agreement needs at least one signature")

    def to_wire(self) -> list[Wire]:
        return [self.KIND, self.signed.data, self.signed.sig_a, self.signed.sig_b]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Self:
        expect_list(f, 4, "line body")
        return cls(
            SignedLine.from_parts(
                expect_bytes(f[1], "line terms"),
                _opt_sig(f[2], "signature a"),
                _opt_sig(f[3], "signature b"),
            )
        )


@dataclass(frozen=True, slots=True)
class Hold:
    KIND: ClassVar[str] = "hold"
    transfer_id: bytes
    role: str
    debit: str
    credit: str
    amount: int
    condition: bytes
    expiry_ms: int
    evidence: bytes
    evidence_sig: bytes

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        _role(self.role)
        check_slug(self.debit, "debit account")
        check_slug(self.credit, "credit account")
        if self.debit == self.credit:
            raise InvalidInput("a hold moves money between two different accounts")
        check_int64(self.amount, "amount")
        if self.amount <= 0:
            raise InvalidInput("a hold's amount must be greater than zero")
        if len(self.condition) != CONDITION_BYTES:
            raise InvalidInput("a condition is 32 bytes")
        check_int64(self.expiry_ms, "expiry")
        _evidence(self.evidence, self.evidence_sig)

    def to_wire(self) -> list[Wire]:
        return [
            self.KIND,
            self.transfer_id,
            self.role,
            self.debit,
            self.credit,
            self.amount,
            self.condition,
            self.expiry_ms,
            self.evidence,
            self.evidence_sig,
        ]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Self:
        expect_list(f, 10, "hold body")
        return cls(
            expect_bytes(f[1], "transfer id"),
            expect_str(f[2], "role"),
            expect_str(f[3], "debit"),
            expect_str(f[4], "credit"),
            expect_int(f[5], "amount"),
            expect_bytes(f[6], "condition"),
            expect_int(f[7], "expiry"),
            expect_bytes(f[8], "evidence"),
            expect_bytes(f[9], "evidence signature"),
        )


@dataclass(frozen=True, slots=True)
class Reveal:
    KIND: ClassVar[str] = "reveal"
    transfer_id: bytes
    preimage: bytes

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        if len(self.preimage) != 32:
            raise InvalidInput("a preimage is 32 bytes")

    def to_wire(self) -> list[Wire]:
        return [self.KIND, self.transfer_id, self.preimage]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Self:
        expect_list(f, 3, "reveal body")
        return cls(expect_bytes(f[1], "transfer id"), expect_bytes(f[2], "preimage"))


@dataclass(frozen=True, slots=True)
class Settle:
    KIND: ClassVar[str] = "settle"
    transfer_id: bytes
    role: str
    preimage: bytes
    evidence: bytes
    evidence_sig: bytes

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        _role(self.role)
        if len(self.preimage) != 32:
            raise InvalidInput("a preimage is 32 bytes")
        _evidence(self.evidence, self.evidence_sig)

    def to_wire(self) -> list[Wire]:
        return [
            self.KIND,
            self.transfer_id,
            self.role,
            self.preimage,
            self.evidence,
            self.evidence_sig,
        ]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Self:
        expect_list(f, 6, "settle body")
        return cls(
            expect_bytes(f[1], "transfer id"),
            expect_str(f[2], "role"),
            expect_bytes(f[3], "preimage"),
            expect_bytes(f[4], "evidence"),
            expect_bytes(f[5], "evidence signature"),
        )


@dataclass(frozen=True, slots=True)
class Release:
    KIND: ClassVar[str] = "release"
    transfer_id: bytes
    role: str
    reason: str
    evidence: bytes
    evidence_sig: bytes

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        _role(self.role)
        if self.reason not in RELEASE_REASONS:
            raise InvalidInput(f"reason {self.reason!r} is not one of {RELEASE_REASONS}")
        _evidence(self.evidence, self.evidence_sig)

    def to_wire(self) -> list[Wire]:
        return [
            self.KIND,
            self.transfer_id,
            self.role,
            self.reason,
            self.evidence,
            self.evidence_sig,
        ]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Self:
        expect_list(f, 6, "release body")
        return cls(
            expect_bytes(f[1], "transfer id"),
            expect_str(f[2], "role"),
            expect_str(f[3], "reason"),
            expect_bytes(f[4], "evidence"),
            expect_bytes(f[5], "evidence signature"),
        )


@dataclass(frozen=True, slots=True)
class Clear:
    """A clearing round applied here: the proposal and every affected community's vote.

    ``votes`` pairs each participant's community id with its signature of the proposal,
    sorted by community id.
    """

    KIND: ClassVar[str] = "clear"
    proposal_data: bytes
    votes: tuple[tuple[bytes, bytes], ...]
    proposal: Proposal = field(compare=False, repr=False)

    def __post_init__(self) -> None:
        ids = [community for community, _ in self.votes]
        if ids != list(self.proposal.participants):
            raise InvalidInput("a clear entry carries one vote from each participant, in order")
        if any(len(sig) != SIGNATURE_BYTES for _, sig in self.votes):
            raise InvalidInput("a vote is a 64-byte signature")

    @classmethod
    def of(cls, proposal_data: bytes, votes: dict[bytes, bytes]) -> Self:
        return cls(proposal_data, tuple(sorted(votes.items())), Proposal.decode(proposal_data))

    @property
    def round_id(self) -> bytes:
        return round_id(self.proposal_data)

    def to_wire(self) -> list[Wire]:
        return [self.KIND, self.proposal_data, [[c, s] for c, s in self.votes]]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Self:
        expect_list(f, 3, "clear body")
        data = expect_bytes(f[1], "proposal")
        return cls(data, votes_from_wire(f[2]), Proposal.decode(data))
