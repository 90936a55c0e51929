"""The signed structures of a community's log: entries, their bodies, and payment orders.

Wire forms (protocol/SPEC.md §3–§5), all canonical msgpack arrays:

    order  = ["letsnode/order", 1, community_id, payer, payee, amount, nonce, memo]
             signed by the payer's key under DOMAIN_ORDER
    entry  = ["letsnode/entry", 1, seq, prev_hash, timestamp_ms, body]
             signed by the node's key under DOMAIN_ENTRY; its hash is BLAKE2b-256(entry)
    record = [entry_bytes, node_signature]      (what the log stores and exports)
    body   = [kind, ...fields]                  (one of the classes below)

Each class declares its fields once (:mod:`letsnode.core.wire.schema`); the wire order is
the declaration order. The body union is open: a new kind gets a new ``kind`` string and a
new class, and old logs never contain it, so they stay valid. A reader meeting a kind it
does not know refuses the entry rather than guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, TypeAlias, cast, get_args

from letsnode.core.amounts import MAX_SCALE, check_int64
from letsnode.core.crypto import (
    DOMAIN_ENTRY,
    DOMAIN_ORDER,
    HASH_BYTES,
    SIGNATURE_BYTES,
    SigningKey,
    blake2b256,
)
from letsnode.core.errors import DecodeError, InvalidInput
from letsnode.core.names import NAME_MAX
from letsnode.core.wire import codec
from letsnode.core.wire.bodies import Clear, Hold, LineAgreement, Release, Reveal, Settle
from letsnode.core.wire.codec import Wire
from letsnode.core.wire.schema import LogBody, Message, Struct, body, message, reader, struct
from letsnode.core.wire.specs import (
    Bin,
    Bytes,
    Ceiling,
    Derived,
    Floor,
    Handle,
    Inline,
    Int,
    Key,
    Local,
    Memo,
    Positive,
    Sig,
    Text,
    Unit,
)

PROTOCOL_VERSION = 1
ENTRY_TYPE = "letsnode/entry"
ORDER_TYPE = "letsnode/order"
GENESIS_PREV = bytes(HASH_BYTES)

MAX_ENTRY_BYTES = 32 * 1024
MAX_ORDER_BYTES = 1024

AccountKind = Literal["member", "issuer", "fund", "line"]
AccountStatus = Literal["active", "frozen", "closed"]
ACCOUNT_KINDS: tuple[AccountKind, ...] = get_args(AccountKind)
ACCOUNT_STATUSES: tuple[AccountStatus, ...] = get_args(AccountStatus)


def account_kind(text: str) -> AccountKind:
    """``text`` as an account kind, or InvalidInput naming the kinds there are."""
    for kind in ACCOUNT_KINDS:
        if text == kind:
            return kind
    raise InvalidInput(f"account kind {text!r} is not one of {', '.join(ACCOUNT_KINDS)}")


def account_status(text: str) -> AccountStatus:
    """``text`` as an account status, or InvalidInput naming the statuses there are."""
    for status in ACCOUNT_STATUSES:
        if text == status:
            return status
    raise InvalidInput(f"status {text!r} is not one of {', '.join(ACCOUNT_STATUSES)}")


def check_limits(floor: int, ceiling: int | None) -> None:
    """A floor is ≤ 0 and a ceiling, when set, ≥ 0; both fit in int64."""
    check_int64(floor, "floor")
    if floor > 0:
        raise InvalidInput(f"floor must be zero or negative, got {floor}")
    if ceiling is not None:
        check_int64(ceiling, "ceiling")
        if ceiling < 0:
            raise InvalidInput(f"ceiling must be zero or positive, got {ceiling}")


@body("genesis")
@dataclass(frozen=True, slots=True)
class Genesis(LogBody):
    """The first entry: names the community and its node key (= community id)."""

    community_id: Key
    name: Annotated[str, Text(NAME_MAX), "community name"]
    short: Annotated[Handle, "short name"]
    unit: Annotated[str, Unit()]
    scale: Annotated[int, Int(0, MAX_SCALE)]
    floor: Floor
    ceiling: Ceiling


@body("admit")
@dataclass(frozen=True, slots=True)
class Admit(LogBody):
    """A new account: its handle, its holder's public key, kind and limits."""

    handle: Handle
    key: Key
    kind: Annotated[AccountKind, "account kind"]
    floor: Floor
    ceiling: Ceiling


@body("limits")
@dataclass(frozen=True, slots=True)
class Limits(LogBody):
    """New floor and ceiling for an account."""

    handle: Handle
    floor: Floor
    ceiling: Ceiling


@body("status")
@dataclass(frozen=True, slots=True)
class Status(LogBody):
    """An account becomes active, frozen or closed."""

    handle: Handle
    status: AccountStatus


@message(ORDER_TYPE, version=PROTOCOL_VERSION, max_size=MAX_ORDER_BYTES, domain=DOMAIN_ORDER)
@dataclass(frozen=True, slots=True)
class Order(Message):
    """A payment order as the payer signed it."""

    community_id: Key
    payer: Handle
    payee: Handle
    amount: Positive
    nonce: Positive
    memo: Memo

    def __post_init__(self) -> None:
        if self.payer == self.payee:
            raise InvalidInput(f"{self.payer} cannot pay itself")

    def sign(self, key: SigningKey) -> SignedOrder:
        return SignedOrder(*self.signed_parts(key), self)


@struct()
@dataclass(frozen=True, slots=True)
class SignedOrder(Struct):
    """The exact bytes the payer signed, the signature, and the decoded order."""

    data: Annotated[Bytes, "order"]
    signature: Annotated[Sig, "order signature"]
    order: Annotated[Order, Derived("data", Order.decode)]

    @classmethod
    def from_parts(cls, data: bytes, signature: bytes) -> SignedOrder:
        """Decode an order and its signature (DecodeError if either is malformed)."""
        return cls.from_wire([data, signature])


@body("payment")
@dataclass(frozen=True, slots=True)
class Payment(LogBody):
    """A member-to-member payment: carries the payer's signed order verbatim."""

    signed: Annotated[SignedOrder, Inline()]

    @property
    def order(self) -> Order:
        return self.signed.order


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

BODY_KINDS: dict[str, Callable[[Wire], Body]] = {c.KIND: c.from_wire for c in get_args(Body)}


@message(ENTRY_TYPE, version=PROTOCOL_VERSION, max_size=MAX_ENTRY_BYTES, domain=DOMAIN_ENTRY)
@dataclass(frozen=True, slots=True)
class Entry(Struct):
    """One node-signed link of the hash chain. ``data`` is its encoding, ``hash`` the hash
    of that; ``signature`` is the node's (empty while a batch waits to be signed)."""

    seq: Annotated[int, Int(min=0)]
    prev: Annotated[bytes, Bin(HASH_BYTES), "prev hash"]
    timestamp_ms: Annotated[int, Int(min=0), "timestamp"]
    body: Annotated[Body, "entry body"]
    data: Annotated[bytes, Local()]
    signature: Annotated[bytes, Local()]
    hash: Annotated[bytes, Local()]

    @classmethod
    def create(cls, key: SigningKey, seq: int, prev: bytes, timestamp_ms: int, body: Body) -> Entry:
        data = codec.pack(cls.SCHEMA.wire_of((seq, prev, timestamp_ms, body)))
        return cls(
            seq, prev, timestamp_ms, body, data, key.sign(DOMAIN_ENTRY, data), blake2b256(data)
        )

    @classmethod
    def decode(cls, data: bytes, signature: bytes) -> Entry:
        """Decode a record's parts. Checks shape only: not the signature, not the rules."""
        value = codec.unpack(data, MAX_ENTRY_BYTES, "entry")
        try:
            _check_signature(signature)
            seq, prev, timestamp_ms, body = cls.SCHEMA.args(value)
            return cls(seq, prev, timestamp_ms, body, data, signature, blake2b256(data))
        except InvalidInput as err:
            raise DecodeError(str(err)) from None

    def record(self) -> bytes:
        """The stored and exported form: ``[entry_bytes, signature]``."""
        return codec.pack([self.data, self.signature])


_check_signature = Bin(SIGNATURE_BYTES).check("entry", "signature")
_read_body = reader(Annotated[Body, "entry body"], "entry")


def body_from_wire(value: Wire) -> Body:
    """A body from its wire array (DecodeError if it is not one of a known kind)."""
    return cast(Body, _read_body(value))
