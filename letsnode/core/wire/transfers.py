"""Conditional transfers across communities: the signed messages that travel between nodes.

A payment from ``maria@A`` to ``karim@C`` through B runs in legs A→B and B→C (the
Interledger idea). The payee's node C makes the condition: ``condition = SHA-256(preimage)``
where only C can compute the preimage. Each leg is *prepared* (the amount is held against
the line) with an expiry that shrinks at each hop, and later *settled* with the preimage or
*released* (rejected or expired). For every leg the **upstream** node (the one that sent the
prepare) decides the outcome in its own log; the downstream node follows that decision.

    remote order = ["letsnode/remote-order", 1, community_id, payer, payee_community,
                    payee_handle, amount, nonce, memo]          signed by the payer
    invoice      = ["letsnode/invoice", 1, transfer_id, payee_community, payee_handle,
                    condition]                                   signed by the payee's node
    prepare      = ["letsnode/prepare", 1, transfer_id, hop, line_id, amount, condition,
                    expiry_ms, route, origin, memo, invoice, invoice_signature]
                                                                 signed by the sending node
    decision     = ["letsnode/decision", 1, transfer_id, hop, outcome, preimage]
                                                                 signed by the upstream node
    reject       = ["letsnode/reject", 1, transfer_id, hop, code, message]
                                                                 signed by the downstream node

``route`` lists the community ids still to come after the receiver (empty at the payee);
``amount`` is in the receiver's units.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Self

from letsnode.core.amounts import check_int64
from letsnode.core.crypto import KEY_BYTES, SigningKey, is_valid_signature
from letsnode.core.errors import BadSignature, DecodeError, InvalidInput
from letsnode.core.names import MEMO_MAX, check_slug, check_text
from letsnode.core.wire import codec
from letsnode.core.wire.codec import (
    Wire,
    expect_bytes,
    expect_int,
    expect_list,
    expect_str,
    validated,
)

TRANSFER_ID_BYTES = 16
CONDITION_BYTES = 32
MAX_HOPS_LIMIT = 8
MAX_TRANSFER_MESSAGE = 4096
ADDRESS_MAX = 70

DOMAIN_REMOTE_ORDER = b"letsnode/remote-order/v1\x00"
DOMAIN_INVOICE = b"letsnode/invoice/v1\x00"
DOMAIN_PREPARE = b"letsnode/prepare/v1\x00"
DOMAIN_DECISION = b"letsnode/decision/v1\x00"
DOMAIN_REJECT = b"letsnode/reject/v1\x00"
DOMAIN_PREIMAGE = b"letsnode/preimage/v1\x00"

OUTCOMES = ("fulfilled", "expired", "rejected")


def condition_of(preimage: bytes) -> bytes:
    return hashlib.sha256(preimage).digest()


def preimage_for(node_seed: bytes, transfer_id: bytes) -> bytes:
    """The payee node's preimage for a transfer: only the holder of the seed can compute it,
    and it can always compute it again (after a crash) without storing anything."""
    return hashlib.blake2b(DOMAIN_PREIMAGE + transfer_id, key=node_seed, digest_size=32).digest()


def check_transfer_id(value: bytes) -> bytes:
    if len(value) != TRANSFER_ID_BYTES:
        raise InvalidInput(f"a transfer id is {TRANSFER_ID_BYTES} bytes")
    return value


def _amount(value: int) -> int:
    check_int64(value, "amount")
    if value <= 0:
        raise InvalidInput(f"amount must be greater than zero, got {value}")
    return value


class _Signed:
    """Shared encode/sign/verify for the message classes below."""

    TYPE: str
    DOMAIN: bytes
    FIELDS: int

    def fields(self) -> list[Wire]:
        raise NotImplementedError

    def encode(self) -> bytes:
        return codec.pack([self.TYPE, 1, *self.fields()])

    def sign(self, key: SigningKey) -> tuple[bytes, bytes]:
        data = self.encode()
        return data, key.sign(self.DOMAIN, data)

    @classmethod
    def unpack_fields(cls, data: bytes) -> list[Wire]:
        f = expect_list(
            codec.unpack(data, MAX_TRANSFER_MESSAGE, cls.TYPE), cls.FIELDS + 2, cls.TYPE
        )
        if f[0] != cls.TYPE or f[1] != 1:
            raise DecodeError(f"not a version 1 {cls.TYPE}: {f[0]!r} {f[1]!r}")
        return f[2:]

    @classmethod
    def verify(cls, key: bytes, data: bytes, signature: bytes) -> None:
        if not is_valid_signature(key, cls.DOMAIN, data, signature):
            raise BadSignature(f"{cls.TYPE}: signature does not verify")


@dataclass(frozen=True, slots=True)
class RemoteOrder(_Signed):
    """A member's order to pay a member of another community."""

    TYPE = "letsnode/remote-order"
    DOMAIN = DOMAIN_REMOTE_ORDER
    FIELDS = 7
    community_id: bytes
    payer: str
    payee_community: bytes
    payee_handle: str
    amount: int
    nonce: int
    memo: str

    def __post_init__(self) -> None:
        if len(self.community_id) != KEY_BYTES or len(self.payee_community) != KEY_BYTES:
            raise InvalidInput("community ids are 32 bytes")
        if self.community_id == self.payee_community:
            raise InvalidInput("a remote order pays a member of another community")
        check_slug(self.payer, "payer")
        check_slug(self.payee_handle, "payee")
        _amount(self.amount)
        check_int64(self.nonce, "nonce")
        if self.nonce <= 0:
            raise InvalidInput("nonce must be greater than zero")
        check_text(self.memo, "memo", MEMO_MAX, allow_empty=True)

    def fields(self) -> list[Wire]:
        return [
            self.community_id,
            self.payer,
            self.payee_community,
            self.payee_handle,
            self.amount,
            self.nonce,
            self.memo,
        ]

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = cls.unpack_fields(data)
        return validated(
            lambda: cls(
                expect_bytes(f[0], "community id", KEY_BYTES),
                expect_str(f[1], "payer"),
                expect_bytes(f[2], "payee community", KEY_BYTES),
                expect_str(f[3], "payee"),
                expect_int(f[4], "amount"),
                expect_int(f[5], "nonce"),
                expect_str(f[6], "memo"),
            )
        )


@dataclass(frozen=True, slots=True)
class Invoice(_Signed):
    """The payee node's promise: it will reveal the preimage of ``condition``."""

    TYPE = "letsnode/invoice"
    DOMAIN = DOMAIN_INVOICE
    FIELDS = 4
    transfer_id: bytes
    payee_community: bytes
    payee_handle: str
    condition: bytes

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        if len(self.payee_community) != KEY_BYTES or len(self.condition) != CONDITION_BYTES:
            raise InvalidInput("invoice: bad community id or condition length")
        check_slug(self.payee_handle, "payee")

    def fields(self) -> list[Wire]:
        return [self.transfer_id, self.payee_community, self.payee_handle, self.condition]

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = cls.unpack_fields(data)
        return validated(
            lambda: cls(
                expect_bytes(f[0], "transfer id"),
                expect_bytes(f[1], "payee community"),
                expect_str(f[2], "payee"),
                expect_bytes(f[3], "condition"),
            )
        )


@dataclass(frozen=True, slots=True)
class Prepare(_Signed):
    """One leg's offer: hold ``amount`` (receiver's units) until ``expiry_ms``."""

    TYPE = "letsnode/prepare"
    DOMAIN = DOMAIN_PREPARE
    FIELDS = 11
    transfer_id: bytes
    hop: int
    line_id: bytes
    amount: int
    condition: bytes
    expiry_ms: int
    route: tuple[bytes, ...]
    origin: str
    memo: str
    invoice: bytes
    invoice_signature: bytes

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        if not 0 <= self.hop < MAX_HOPS_LIMIT:
            raise InvalidInput(f"hop {self.hop} is out of range")
        if len(self.line_id) != 16 or len(self.condition) != CONDITION_BYTES:
            raise InvalidInput("prepare: bad line id or condition length")
        _amount(self.amount)
        check_int64(self.expiry_ms, "expiry")
        if len(self.route) >= MAX_HOPS_LIMIT or any(len(r) != KEY_BYTES for r in self.route):
            raise InvalidInput("prepare: the route is too long or malformed")
        check_text(self.origin, "origin", ADDRESS_MAX)
        check_text(self.memo, "memo", MEMO_MAX, allow_empty=True)

    def fields(self) -> list[Wire]:
        return [
            self.transfer_id,
            self.hop,
            self.line_id,
            self.amount,
            self.condition,
            self.expiry_ms,
            list(self.route),
            self.origin,
            self.memo,
            self.invoice,
            self.invoice_signature,
        ]

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = cls.unpack_fields(data)
        route = f[6]
        if not isinstance(route, list):
            raise DecodeError("prepare: route must be an array")
        return validated(
            lambda: cls(
                expect_bytes(f[0], "transfer id"),
                expect_int(f[1], "hop"),
                expect_bytes(f[2], "line id"),
                expect_int(f[3], "amount"),
                expect_bytes(f[4], "condition"),
                expect_int(f[5], "expiry"),
                tuple(expect_bytes(r, "route entry", KEY_BYTES) for r in route),
                expect_str(f[7], "origin"),
                expect_str(f[8], "memo"),
                expect_bytes(f[9], "invoice"),
                expect_bytes(f[10], "invoice signature"),
            )
        )


@dataclass(frozen=True, slots=True)
class Decision(_Signed):
    """The upstream node's outcome for one leg; ``preimage`` is set when fulfilled."""

    TYPE = "letsnode/decision"
    DOMAIN = DOMAIN_DECISION
    FIELDS = 4
    transfer_id: bytes
    hop: int
    outcome: str
    preimage: bytes

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        if self.outcome not in OUTCOMES:
            raise InvalidInput(f"outcome {self.outcome!r} is not one of {OUTCOMES}")
        if (self.outcome == "fulfilled") != (len(self.preimage) == 32):
            raise InvalidInput("a fulfilled decision carries the 32-byte preimage, others none")

    def fields(self) -> list[Wire]:
        return [self.transfer_id, self.hop, self.outcome, self.preimage]

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = cls.unpack_fields(data)
        return validated(
            lambda: cls(
                expect_bytes(f[0], "transfer id"),
                expect_int(f[1], "hop"),
                expect_str(f[2], "outcome"),
                expect_bytes(f[3], "preimage"),
            )
        )


@dataclass(frozen=True, slots=True)
class Reject(_Signed):
    """The downstream node refuses a prepare (it never reveals the preimage for it)."""

    TYPE = "letsnode/reject"
    DOMAIN = DOMAIN_REJECT
    FIELDS = 4
    transfer_id: bytes
    hop: int
    code: str
    message: str

    def __post_init__(self) -> None:
        check_transfer_id(self.transfer_id)
        check_text(self.code, "reject code", 40)
        check_text(self.message, "reject message", 300, allow_empty=True)

    def fields(self) -> list[Wire]:
        return [self.transfer_id, self.hop, self.code, self.message]

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = cls.unpack_fields(data)
        return validated(
            lambda: cls(
                expect_bytes(f[0], "transfer id"),
                expect_int(f[1], "hop"),
                expect_str(f[2], "code"),
                expect_str(f[3], "message"),
            )
        )
