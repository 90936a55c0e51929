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
from typing import Self

from letsnode.core.amounts import check_int64
from letsnode.core.crypto import (
    KEY_BYTES,
    SIGNATURE_BYTES,
    SigningKey,
    blake2b256,
    is_valid_signature,
)
from letsnode.core.errors import BadSignature, DecodeError, InvalidInput
from letsnode.core.names import check_slug
from letsnode.core.wire import codec
from letsnode.core.wire.codec import (
    Wire,
    expect_bytes,
    expect_int,
    expect_list,
    expect_str,
    validated,
)

STATEMENT_TYPE = "letsnode/clearing-statement"


PROPOSAL_TYPE = "letsnode/clearing-proposal"


DOMAIN_STATEMENT = b"letsnode/clearing-statement/v1\x00"


DOMAIN_VOTE = b"letsnode/clearing-vote/v1\x00"


NONCE_BYTES = 16


ROUND_ID_BYTES = 16


LINE_ID_BYTES = 16


# A whole snapshot travels in one 64 KiB message with the proposal: a statement lists the
# at-par lines that carry a balance (at most 24, the largest), and a round joins at most
# 20 communities.
MAX_STATEMENT_LINES = 24


MAX_ROUND_COMMUNITIES = 20


MAX_PROPOSAL_ITEMS = 160


MAX_STATEMENT_BYTES = 4096


MAX_PROPOSAL_BYTES = 16 * 1024


def _key(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != KEY_BYTES:
        raise InvalidInput(f"{what} is a 32-byte community id")
    return value


def _strictly_sorted(keys: Sequence[bytes], what: str) -> None:
    if any(a >= b for a, b in pairwise(keys)):
        raise InvalidInput(f"{what} must be sorted and without repeats")


@dataclass(frozen=True, slots=True)
class LineView:
    """One side's view of a line: its mirror account of the partner, in its own units."""

    line_id: bytes
    partner: bytes
    balance: int
    floor: int
    ceiling: int
    rate_num: int
    rate_den: int

    def __post_init__(self) -> None:
        if len(self.line_id) != LINE_ID_BYTES:
            raise InvalidInput(f"a line id is {LINE_ID_BYTES} bytes")
        _key(self.partner, "a line's partner")
        for value, what in (
            (self.balance, "balance"),
            (self.floor, "floor"),
            (self.ceiling, "ceiling"),
        ):
            check_int64(value, what)
        if self.floor > 0 or self.ceiling < 0:
            raise InvalidInput("a line's floor is at most zero and its ceiling at least zero")
        for value in (self.rate_num, self.rate_den):
            if not 1 <= value <= 1_000_000:
                raise InvalidInput(f"a rate term must be from 1 to 1000000, got {value}")

    @property
    def at_par(self) -> bool:
        return self.rate_num == self.rate_den

    def to_wire(self) -> list[Wire]:
        return [
            self.line_id,
            self.partner,
            self.balance,
            self.floor,
            self.ceiling,
            self.rate_num,
            self.rate_den,
        ]

    @classmethod
    def from_wire(cls, value: Wire) -> Self:
        f = expect_list(value, 7, "line view")
        return cls(
            expect_bytes(f[0], "line id", LINE_ID_BYTES),
            expect_bytes(f[1], "partner", KEY_BYTES),
            expect_int(f[2], "balance"),
            expect_int(f[3], "floor"),
            expect_int(f[4], "ceiling"),
            expect_int(f[5], "rate numerator"),
            expect_int(f[6], "rate denominator"),
        )


@dataclass(frozen=True, slots=True)
class Statement:
    """A community's signed account of its lines for one round (``nonce``)."""

    nonce: bytes
    community_id: bytes
    short: str
    unit: str
    scale: int
    timestamp_ms: int
    lines: tuple[LineView, ...]

    def __post_init__(self) -> None:
        if len(self.nonce) != NONCE_BYTES:
            raise InvalidInput(f"a round nonce is {NONCE_BYTES} bytes")
        _key(self.community_id, "a statement's community")
        check_slug(self.short, "short name")
        if not 1 <= len(self.unit) <= 16:
            raise InvalidInput("a unit is 1 to 16 characters")
        if not 0 <= self.scale <= 8:
            raise InvalidInput("a scale is from 0 to 8")
        check_int64(self.timestamp_ms, "timestamp")
        if len(self.lines) > MAX_STATEMENT_LINES:
            raise InvalidInput(f"a statement lists at most {MAX_STATEMENT_LINES} lines")
        _strictly_sorted([x.line_id for x in self.lines], "a statement's lines")
        if any(x.partner == self.community_id for x in self.lines):
            raise InvalidInput("a community has no line with itself")

    def encode(self) -> bytes:
        return codec.pack(
            [
                STATEMENT_TYPE,
                1,
                self.nonce,
                self.community_id,
                self.short,
                self.unit,
                self.scale,
                self.timestamp_ms,
                [x.to_wire() for x in self.lines],
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = expect_list(codec.unpack(data, MAX_STATEMENT_BYTES, "statement"), 9, "statement")
        if f[0] != STATEMENT_TYPE or f[1] != 1:
            raise DecodeError(f"not a version 1 clearing statement: {f[0]!r} {f[1]!r}")
        views = f[8]
        if not isinstance(views, list):
            raise DecodeError("a statement's lines are an array")
        return validated(
            lambda: cls(
                expect_bytes(f[2], "nonce", NONCE_BYTES),
                expect_bytes(f[3], "community id", KEY_BYTES),
                expect_str(f[4], "short name"),
                expect_str(f[5], "unit"),
                expect_int(f[6], "scale"),
                expect_int(f[7], "timestamp"),
                tuple(LineView.from_wire(v) for v in views[: MAX_STATEMENT_LINES + 1]),
            )
        )

    def sign(self, key: SigningKey) -> SignedStatement:
        if key.public != self.community_id:
            raise InvalidInput("a statement is signed by its own community's key")
        data = self.encode()
        return SignedStatement(data, key.sign(DOMAIN_STATEMENT, data), self)


@dataclass(frozen=True, slots=True)
class SignedStatement:
    data: bytes
    signature: bytes
    statement: Statement

    @classmethod
    def verify(cls, data: bytes, signature: bytes) -> SignedStatement:
        """Decode a statement and check its community's signature (BadSignature if not)."""
        statement = Statement.decode(data)
        if not is_valid_signature(statement.community_id, DOMAIN_STATEMENT, data, signature):
            raise BadSignature("clearing statement: the community's signature does not verify")
        return cls(data, signature, statement)

    def to_wire(self) -> list[Wire]:
        return [self.data, self.signature]

    @classmethod
    def from_wire(cls, value: Wire) -> SignedStatement:
        f = expect_list(value, 2, "signed statement")
        return cls.verify(
            expect_bytes(f[0], "statement"), expect_bytes(f[1], "signature", SIGNATURE_BYTES)
        )


@dataclass(frozen=True, slots=True)
class ClearingItem:
    """On line ``line_id``, ``debtor`` owes ``creditor`` ``amount`` less after the round."""

    line_id: bytes
    debtor: bytes
    creditor: bytes
    amount: int

    def __post_init__(self) -> None:
        if len(self.line_id) != LINE_ID_BYTES:
            raise InvalidInput(f"a line id is {LINE_ID_BYTES} bytes")
        _key(self.debtor, "a debtor")
        _key(self.creditor, "a creditor")
        if self.debtor == self.creditor:
            raise InvalidInput("a debtor cannot owe itself")
        check_int64(self.amount, "amount")
        if self.amount <= 0:
            raise InvalidInput("a cleared amount is greater than zero")

    def to_wire(self) -> list[Wire]:
        return [self.line_id, self.debtor, self.creditor, self.amount]

    @classmethod
    def from_wire(cls, value: Wire) -> Self:
        f = expect_list(value, 4, "clearing item")
        return cls(
            expect_bytes(f[0], "line id", LINE_ID_BYTES),
            expect_bytes(f[1], "debtor", KEY_BYTES),
            expect_bytes(f[2], "creditor", KEY_BYTES),
            expect_int(f[3], "amount"),
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a round clears, and by when every affected community must have signed."""

    nonce: bytes
    coordinator: bytes
    snapshot_digest: bytes
    deadline_ms: int
    items: tuple[ClearingItem, ...]

    def __post_init__(self) -> None:
        if len(self.nonce) != NONCE_BYTES:
            raise InvalidInput(f"a round nonce is {NONCE_BYTES} bytes")
        _key(self.coordinator, "the coordinator")
        if len(self.snapshot_digest) != 32:
            raise InvalidInput("a snapshot digest is 32 bytes")
        check_int64(self.deadline_ms, "deadline")
        if not 1 <= len(self.items) <= MAX_PROPOSAL_ITEMS:
            raise InvalidInput(f"a proposal clears 1 to {MAX_PROPOSAL_ITEMS} lines")
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

    def encode(self) -> bytes:
        return codec.pack(
            [
                PROPOSAL_TYPE,
                1,
                self.nonce,
                self.coordinator,
                self.snapshot_digest,
                self.deadline_ms,
                [x.to_wire() for x in self.items],
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = expect_list(codec.unpack(data, MAX_PROPOSAL_BYTES, "proposal"), 7, "proposal")
        if f[0] != PROPOSAL_TYPE or f[1] != 1:
            raise DecodeError(f"not a version 1 clearing proposal: {f[0]!r} {f[1]!r}")
        items = f[6]
        if not isinstance(items, list):
            raise DecodeError("a proposal's items are an array")
        return validated(
            lambda: cls(
                expect_bytes(f[2], "nonce", NONCE_BYTES),
                expect_bytes(f[3], "coordinator", KEY_BYTES),
                expect_bytes(f[4], "snapshot digest", 32),
                expect_int(f[5], "deadline"),
                tuple(ClearingItem.from_wire(v) for v in items[: MAX_PROPOSAL_ITEMS + 1]),
            )
        )


def votes_from_wire(value: Wire) -> tuple[tuple[bytes, bytes], ...]:
    """``[[community_id, vote_signature], ...]`` as pairs, in the order given."""
    if not isinstance(value, list) or len(value) > MAX_ROUND_COMMUNITIES:
        raise DecodeError(f"votes are an array of at most {MAX_ROUND_COMMUNITIES}")
    pairs = []
    for vote in value:
        v = expect_list(vote, 2, "vote")
        pairs.append(
            (
                expect_bytes(v[0], "voter", KEY_BYTES),
                expect_bytes(v[1], "vote signature", SIGNATURE_BYTES),
            )
        )
    return tuple(pairs)


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
