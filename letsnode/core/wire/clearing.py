"""The signed messages of a clearing round (protocol/SPEC.md §8): statements, the
proposal and the votes.

    statement = ["letsnode/clearing-statement", 1, nonce, community_id, short, unit, scale,
                 timestamp_ms, [[line_id, partner, balance, floor, ceiling, rate_num,
                 rate_den], ...]]                       signed by the community's node
    proposal  = ["letsnode/clearing-proposal", 1, nonce, coordinator, snapshot_digest,
                 deadline_ms, [[line_id, debtor, creditor, amount], ...]]
    vote      = the community's signature of the proposal bytes under DOMAIN_VOTE

How a proposal follows from a snapshot is in :mod:`letsnode.core.clearing.rounds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated

from letsnode.core.crypto import SigningKey, blake2b256, is_valid_signature
from letsnode.core.errors import BadSignature, InvalidInput
from letsnode.core.wire.codec import Wire
from letsnode.core.wire.lines import LINE_ID_BYTES as LINE_ID_BYTES
from letsnode.core.wire.lines import LineId, Rate, ShortName
from letsnode.core.wire.schema import Message, Struct, message, reader, struct
from letsnode.core.wire.specs import (
    Array,
    Bin,
    Bytes,
    Floor,
    Hash,
    Int,
    Int64,
    Key,
    Local,
    Positive,
    Sig,
    Text,
)

STATEMENT_TYPE = "letsnode/clearing-statement"
PROPOSAL_TYPE = "letsnode/clearing-proposal"
DOMAIN_STATEMENT = b"letsnode/clearing-statement/v1\x00"
DOMAIN_VOTE = b"letsnode/clearing-vote/v1\x00"
NONCE_BYTES = 16
ROUND_ID_BYTES = 16

# A whole snapshot travels in one 64 KiB message with the proposal: a statement lists the
# at-par lines that carry a balance (at most 24, the largest), and a round joins at most
# 20 communities.
MAX_STATEMENT_LINES = 24
MAX_ROUND_COMMUNITIES = 20
MAX_PROPOSAL_ITEMS = 160
MAX_STATEMENT_BYTES = 4096
MAX_PROPOSAL_BYTES = 16 * 1024

Nonce = Annotated[bytes, Bin(NONCE_BYTES)]
Vote = tuple[Annotated[Key, "voter"], Annotated[Sig, "vote signature"]]
Votes = Annotated[tuple[Vote, ...], Array(max=MAX_ROUND_COMMUNITIES)]


def _strictly_sorted(keys: Sequence[bytes], what: str) -> None:
    if any(a >= b for a, b in pairwise(keys)):
        raise InvalidInput(f"{what} must be sorted and without repeats")


@struct()
@dataclass(frozen=True, slots=True)
class LineView(Struct):
    """One side's view of a line: its mirror account of the partner, in its own units."""

    line_id: LineId
    partner: Key
    balance: Int64
    floor: Floor
    ceiling: Annotated[int, Int(min=0)]
    rate_num: Annotated[Rate, "rate numerator"]
    rate_den: Annotated[Rate, "rate denominator"]

    @property
    def at_par(self) -> bool:
        return self.rate_num == self.rate_den


@message(STATEMENT_TYPE, max_size=MAX_STATEMENT_BYTES, domain=DOMAIN_STATEMENT)
@dataclass(frozen=True, slots=True)
class Statement(Message):
    """A community's signed account of its lines for one round (``nonce``)."""

    nonce: Nonce
    community_id: Key
    short: ShortName
    unit: Annotated[str, Text(16, control=True)]
    scale: Annotated[int, Int(0, 8)]
    timestamp_ms: Annotated[Int64, "timestamp"]
    lines: Annotated[tuple[LineView, ...], Array(max=MAX_STATEMENT_LINES)]

    def __post_init__(self) -> None:
        _strictly_sorted([x.line_id for x in self.lines], "a statement's lines")
        if any(x.partner == self.community_id for x in self.lines):
            raise InvalidInput("a community has no line with itself")

    def sign(self, key: SigningKey) -> SignedStatement:
        if key.public != self.community_id:
            raise InvalidInput("a statement is signed by its own community's key")
        return SignedStatement(*self.signed_parts(key), self)


@struct()
@dataclass(frozen=True, slots=True)
class SignedStatement(Struct):
    data: Annotated[Bytes, "statement"]
    signature: Sig
    statement: Annotated[Statement, Local()]

    @classmethod
    def verify(cls, data: bytes, signature: bytes) -> SignedStatement:
        """Decode a statement and check its community's signature (BadSignature if not)."""
        statement = Statement.decode(data)
        if not is_valid_signature(statement.community_id, DOMAIN_STATEMENT, data, signature):
            raise BadSignature("clearing statement: the community's signature does not verify")
        return cls(data, signature, statement)

    @classmethod
    def from_wire(cls, value: Wire) -> SignedStatement:
        return cls.verify(*cls.SCHEMA.values(value))


@struct()
@dataclass(frozen=True, slots=True)
class ClearingItem(Struct):
    """On line ``line_id``, ``debtor`` owes ``creditor`` ``amount`` less after the round."""

    line_id: LineId
    debtor: Key
    creditor: Key
    amount: Positive

    def __post_init__(self) -> None:
        if self.debtor == self.creditor:
            raise InvalidInput("a debtor cannot owe itself")


@message(PROPOSAL_TYPE, max_size=MAX_PROPOSAL_BYTES)
@dataclass(frozen=True, slots=True)
class Proposal(Message):
    """What a round clears, and by when every affected community must have signed."""

    nonce: Nonce
    coordinator: Key
    snapshot_digest: Hash
    deadline_ms: Annotated[Int64, "deadline"]
    items: Annotated[tuple[ClearingItem, ...], Array(min=1, max=MAX_PROPOSAL_ITEMS)]

    def __post_init__(self) -> None:
        _strictly_sorted([x.line_id for x in self.items], "a proposal's lines")
        if len(self.participants) > MAX_ROUND_COMMUNITIES:
            raise InvalidInput(f"a round involves at most {MAX_ROUND_COMMUNITIES} communities")
        net: dict[bytes, int] = {}
        for item in self.items:
            net[item.debtor] = net.get(item.debtor, 0) - item.amount
            net[item.creditor] = net.get(item.creditor, 0) + item.amount
        if any(net.values()):
            raise InvalidInput("a proposal must leave every community's net position as it is")

    @property
    def participants(self) -> tuple[bytes, ...]:
        return tuple(sorted({c for x in self.items for c in (x.debtor, x.creditor)}))

    @property
    def cleared(self) -> int:
        return sum(x.amount for x in self.items)

    def items_of(self, community_id: bytes) -> list[ClearingItem]:
        return [x for x in self.items if community_id in (x.debtor, x.creditor)]


_read_votes = reader(Annotated[Votes, "votes"], "clearing round")


def votes_from_wire(value: Wire) -> tuple[tuple[bytes, bytes], ...]:
    """``[[community_id, vote_signature], ...]`` as pairs, in the order given."""
    votes: tuple[tuple[bytes, bytes], ...] = _read_votes(value)
    return votes


def round_id(proposal_data: bytes) -> bytes:
    """A round's id: the first 16 bytes of BLAKE2b-256 of the proposal's bytes."""
    return blake2b256(proposal_data)[:ROUND_ID_BYTES]


ROUND_KEY_PREFIX = b"round/"


def round_key(rid: bytes) -> bytes:
    """How an applied round is kept in a ledger's ``finished`` set: ``b"round/" || id``,
    22 bytes, so it can never be taken for a (16-byte) transfer id, nor one for it."""
    return ROUND_KEY_PREFIX + rid


def sign_vote(key: SigningKey, proposal_data: bytes) -> bytes:
    return key.sign(DOMAIN_VOTE, proposal_data)


def vote_is_valid(community_id: bytes, proposal_data: bytes, signature: bytes) -> bool:
    return is_valid_signature(community_id, DOMAIN_VOTE, proposal_data, signature)
