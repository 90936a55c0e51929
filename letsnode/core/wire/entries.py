"""The signed structures of a community's log: entries, their bodies, and payment orders.

Wire forms (protocol/SPEC.md §3–§5), all canonical msgpack arrays:

    order  = ["letsnode/order", 1, community_id, payer, payee, amount, nonce, memo]
             signed by the payer's key under DOMAIN_ORDER
    entry  = ["letsnode/entry", 1, seq, prev_hash, timestamp_ms, body]
             signed by the node's key under DOMAIN_ENTRY; its hash is BLAKE2b-256(entry)
    record = [entry_bytes, node_signature]      (what the log stores and exports)
    body   = [kind, ...fields]                  (one of the classes below)

The body union is open: a new kind gets a new ``kind`` string and a new class, and old logs
never contain it, so they stay valid. A reader meeting a kind it does not know refuses the
entry rather than guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from letsnode.core.amounts import check_int64, check_scale
from letsnode.core.crypto import (
    DOMAIN_ENTRY,
    DOMAIN_ORDER,
    HASH_BYTES,
    KEY_BYTES,
    SIGNATURE_BYTES,
    SigningKey,
    blake2b256,
)
from letsnode.core.errors import DecodeError, InvalidInput
from letsnode.core.names import MEMO_MAX, NAME_MAX, check_slug, check_text, check_unit
from letsnode.core.wire import codec
from letsnode.core.wire.bodies import Clear, Hold, LineAgreement, Release, Reveal, Settle
from letsnode.core.wire.codec import (
    Wire,
    expect_bytes,
    expect_int,
    expect_list,
    expect_opt_int,
    expect_str,
)

PROTOCOL_VERSION = 1
ENTRY_TYPE = "letsnode/entry"
ORDER_TYPE = "letsnode/order"
GENESIS_PREV = bytes(HASH_BYTES)

MAX_ENTRY_BYTES = 32 * 1024
MAX_ORDER_BYTES = 1024

ACCOUNT_KINDS = ("member", "issuer", "fund", "line")
ACCOUNT_STATUSES = ("active", "frozen", "closed")


def _validated(check: Callable[[], object]) -> None:
    """Run a constructor check, turning InvalidInput into DecodeError for wire input."""
    try:
        check()
    except InvalidInput as err:
        raise DecodeError(str(err)) from None


def check_limits(floor: int, ceiling: int | None) -> None:
    """A floor is ≤ 0 and a ceiling, when set, ≥ 0; both fit in int64."""
    check_int64(floor, "floor")
    if floor > 0:
        raise InvalidInput(f"floor must be zero or negative, got {floor}")
    if ceiling is not None:
        check_int64(ceiling, "ceiling")
        if ceiling < 0:
            raise InvalidInput(f"ceiling must be zero or positive, got {ceiling}")


@dataclass(frozen=True, slots=True)
class Genesis:
    """The first entry: names the community and its node key (= community id)."""

    KIND: ClassVar[str] = "genesis"
    community_id: bytes
    name: str
    short: str
    unit: str
    scale: int
    floor: int
    ceiling: int | None

    def __post_init__(self) -> None:
        if len(self.community_id) != KEY_BYTES:
            raise InvalidInput("community id must be a 32-byte Ed25519 public key")
        check_text(self.name, "community name", NAME_MAX)
        check_slug(self.short, "short name")
        check_unit(self.unit)
        check_scale(self.scale)
        check_limits(self.floor, self.ceiling)

    def to_wire(self) -> list[Wire]:
        return [
            self.KIND,
            self.community_id,
            self.name,
            self.short,
            self.unit,
            self.scale,
            self.floor,
            self.ceiling,
        ]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Genesis:
        expect_list(f, 8, "genesis body")
        return cls(
            expect_bytes(f[1], "community id", KEY_BYTES),
            expect_str(f[2], "name"),
            expect_str(f[3], "short name"),
            expect_str(f[4], "unit"),
            expect_int(f[5], "scale"),
            expect_int(f[6], "floor"),
            expect_opt_int(f[7], "ceiling"),
        )


@dataclass(frozen=True, slots=True)
class Admit:
    """A new account: its handle, its holder's public key, kind and limits."""

    KIND: ClassVar[str] = "admit"
    handle: str
    key: bytes
    kind: str
    floor: int
    ceiling: int | None

    def __post_init__(self) -> None:
        check_slug(self.handle)
        if len(self.key) != KEY_BYTES:
            raise InvalidInput(f"key of {self.handle} must be a 32-byte Ed25519 public key")
        if self.kind not in ACCOUNT_KINDS:
            raise InvalidInput(f"account kind {self.kind!r} is not one of {ACCOUNT_KINDS}")
        check_limits(self.floor, self.ceiling)

    def to_wire(self) -> list[Wire]:
        return [self.KIND, self.handle, self.key, self.kind, self.floor, self.ceiling]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Admit:
        expect_list(f, 6, "admit body")
        return cls(
            expect_str(f[1], "handle"),
            expect_bytes(f[2], "key", KEY_BYTES),
            expect_str(f[3], "kind"),
            expect_int(f[4], "floor"),
            expect_opt_int(f[5], "ceiling"),
        )


@dataclass(frozen=True, slots=True)
class Limits:
    """New floor and ceiling for an account."""

    KIND: ClassVar[str] = "limits"
    handle: str
    floor: int
    ceiling: int | None

    def __post_init__(self) -> None:
        check_slug(self.handle)
        check_limits(self.floor, self.ceiling)

    def to_wire(self) -> list[Wire]:
        return [self.KIND, self.handle, self.floor, self.ceiling]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Limits:
        expect_list(f, 4, "limits body")
        return cls(
            expect_str(f[1], "handle"), expect_int(f[2], "floor"), expect_opt_int(f[3], "ceiling")
        )


@dataclass(frozen=True, slots=True)
class Status:
    """An account becomes active, frozen or closed."""

    KIND: ClassVar[str] = "status"
    handle: str
    status: str

    def __post_init__(self) -> None:
        check_slug(self.handle)
        if self.status not in ACCOUNT_STATUSES:
            raise InvalidInput(f"status {self.status!r} is not one of {ACCOUNT_STATUSES}")

    def to_wire(self) -> list[Wire]:
        return [self.KIND, self.handle, self.status]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Status:
        expect_list(f, 3, "status body")
        return cls(expect_str(f[1], "handle"), expect_str(f[2], "status"))


@dataclass(frozen=True, slots=True)
class Order:
    """A payment order as the payer signed it."""

    community_id: bytes
    payer: str
    payee: str
    amount: int
    nonce: int
    memo: str

    def __post_init__(self) -> None:
        if len(self.community_id) != KEY_BYTES:
            raise InvalidInput("order's community id must be 32 bytes")
        check_slug(self.payer, "payer")
        check_slug(self.payee, "payee")
        check_int64(self.amount, "amount")
        if self.amount <= 0:
            raise InvalidInput(f"amount must be greater than zero, got {self.amount}")
        check_int64(self.nonce, "nonce")
        if self.nonce <= 0:
            raise InvalidInput(f"nonce must be greater than zero, got {self.nonce}")
        if self.payer == self.payee:
            raise InvalidInput(f"{self.payer} cannot pay itself")
        check_text(self.memo, "memo", MEMO_MAX, allow_empty=True)

    def to_wire(self) -> list[Wire]:
        return [
            ORDER_TYPE,
            PROTOCOL_VERSION,
            self.community_id,
            self.payer,
            self.payee,
            self.amount,
            self.nonce,
            self.memo,
        ]

    def encode(self) -> bytes:
        return codec.pack(self.to_wire())

    def sign(self, key: SigningKey) -> SignedOrder:
        data = self.encode()
        return SignedOrder(data, key.sign(DOMAIN_ORDER, data), self)

    @classmethod
    def decode(cls, data: bytes) -> Order:
        f = expect_list(codec.unpack(data, MAX_ORDER_BYTES, "order"), 8, "order")
        if f[0] != ORDER_TYPE or f[1] != PROTOCOL_VERSION:
            raise DecodeError(f"not a version {PROTOCOL_VERSION} order: {f[0]!r} {f[1]!r}")
        order: Order | None = None

        def build() -> None:
            nonlocal order
            order = cls(
                expect_bytes(f[2], "community id", KEY_BYTES),
                expect_str(f[3], "payer"),
                expect_str(f[4], "payee"),
                expect_int(f[5], "amount"),
                expect_int(f[6], "nonce"),
                expect_str(f[7], "memo"),
            )

        _validated(build)
        assert order is not None
        return order


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """The exact bytes the payer signed, the signature, and the decoded order."""

    data: bytes
    signature: bytes
    order: Order

    @classmethod
    def from_parts(cls, data: bytes, signature: bytes) -> SignedOrder:
        expect_bytes(signature, "order signature", SIGNATURE_BYTES)
        return cls(data, signature, Order.decode(data))


@dataclass(frozen=True, slots=True)
class Payment:
    """A member-to-member payment: carries the payer's signed order verbatim."""

    KIND: ClassVar[str] = "payment"
    signed: SignedOrder

    @property
    def order(self) -> Order:
        return self.signed.order

    def to_wire(self) -> list[Wire]:
        return [self.KIND, self.signed.data, self.signed.signature]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> Payment:
        expect_list(f, 3, "payment body")
        return cls(
            SignedOrder.from_parts(
                expect_bytes(f[1], "order", None), expect_bytes(f[2], "order signature")
            )
        )


Body: TypeAlias = (
    Genesis
    | Admit
    | Limits
    | Status
    | Payment
    | LineAgreement
    | Hold
    | Reveal
    | Settle
    | Release
    | Clear
)

BODY_KINDS: dict[str, Callable[[list[Wire]], Body]] = {
    Genesis.KIND: Genesis.from_wire,
    Admit.KIND: Admit.from_wire,
    Limits.KIND: Limits.from_wire,
    Status.KIND: Status.from_wire,
    Payment.KIND: Payment.from_wire,
    LineAgreement.KIND: LineAgreement.from_wire,
    Hold.KIND: Hold.from_wire,
    Reveal.KIND: Reveal.from_wire,
    Settle.KIND: Settle.from_wire,
    Release.KIND: Release.from_wire,
    Clear.KIND: Clear.from_wire,
}


def body_from_wire(value: Wire) -> Body:
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise DecodeError("entry body must be an array starting with its kind")
    decoder = BODY_KINDS.get(value[0])
    if decoder is None:
        raise DecodeError(f"unknown entry kind {value[0]!r}")
    body: Body | None = None

    def build() -> None:
        nonlocal body
        body = decoder(value)

    _validated(build)
    assert body is not None
    return body


@dataclass(frozen=True, slots=True)
class Entry:
    """One node-signed link of the hash chain."""

    seq: int
    prev: bytes
    timestamp_ms: int
    body: Body
    data: bytes
    signature: bytes
    hash: bytes

    @classmethod
    def create(cls, key: SigningKey, seq: int, prev: bytes, timestamp_ms: int, body: Body) -> Entry:
        data = codec.pack([ENTRY_TYPE, PROTOCOL_VERSION, seq, prev, timestamp_ms, body.to_wire()])
        return cls(
            seq, prev, timestamp_ms, body, data, key.sign(DOMAIN_ENTRY, data), blake2b256(data)
        )

    @classmethod
    def decode(cls, data: bytes, signature: bytes) -> Entry:
        """Decode a record's parts. Checks shape only: not the signature, not the rules."""
        f = expect_list(codec.unpack(data, MAX_ENTRY_BYTES, "entry"), 6, "entry")
        if f[0] != ENTRY_TYPE or f[1] != PROTOCOL_VERSION:
            raise DecodeError(f"not a version {PROTOCOL_VERSION} entry: {f[0]!r} {f[1]!r}")
        seq = expect_int(f[2], "seq")
        ts = expect_int(f[4], "timestamp")
        if seq < 0 or ts < 0:
            raise DecodeError("seq and timestamp must not be negative")
        expect_bytes(signature, "entry signature", SIGNATURE_BYTES)
        return cls(
            seq,
            expect_bytes(f[3], "prev hash", HASH_BYTES),
            ts,
            body_from_wire(f[5]),
            data,
            signature,
            blake2b256(data),
        )

    def record(self) -> bytes:
        """The stored and exported form: ``[entry_bytes, signature]``."""
        return codec.pack([self.data, self.signature])
