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
from typing import Annotated, Literal, get_args

from letsnode.core.crypto import SigningKey, is_valid_signature
from letsnode.core.errors import BadSignature, InvalidInput
from letsnode.core.wire.schema import Message, message
from letsnode.core.wire.specs import (
    Array,
    Bin,
    Bytes,
    Handle,
    Int,
    Int64,
    Key,
    Memo,
    Positive,
    Text,
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

Outcome = Literal["fulfilled", "expired", "rejected"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

TransferId = Annotated[bytes, Bin(TRANSFER_ID_BYTES), "transfer id"]
Condition = Annotated[bytes, Bin(CONDITION_BYTES)]
Preimage = Annotated[bytes, Bin(32)]
Expiry = Annotated[Int64, "expiry"]
Payee = Annotated[Handle, "payee"]


def condition_of(preimage: bytes) -> bytes:
    return hashlib.sha256(preimage).digest()


def preimage_for(node_seed: bytes, transfer_id: bytes) -> bytes:
    """The payee node's preimage for a transfer: only the holder of the seed can compute it,
    and it can always compute it again (after a crash) without storing anything."""
    return hashlib.blake2b(DOMAIN_PREIMAGE + transfer_id, key=node_seed, digest_size=32).digest()


def check_transfer_id(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != TRANSFER_ID_BYTES:
        raise InvalidInput(f"a transfer id is {TRANSFER_ID_BYTES} bytes")
    return value


class _Signed(Message):
    """Signing and verifying for the message classes below."""

    __slots__ = ()

    def sign(self, key: SigningKey) -> tuple[bytes, bytes]:
        return self.signed_parts(key)

    @classmethod
    def verify(cls, key: bytes, data: bytes, signature: bytes) -> None:
        if not is_valid_signature(key, cls.DOMAIN, data, signature):
            raise BadSignature(f"{cls.TYPE}: signature does not verify")


@message("letsnode/remote-order", max_size=MAX_TRANSFER_MESSAGE, domain=DOMAIN_REMOTE_ORDER)
@dataclass(frozen=True, slots=True)
class RemoteOrder(_Signed):
    """A member's order to pay a member of another community."""

    community_id: Key
    payer: Handle
    payee_community: Key
    payee_handle: Payee
    amount: Positive
    nonce: Positive
    memo: Memo

    def __post_init__(self) -> None:
        if self.community_id == self.payee_community:
            raise InvalidInput("a remote order pays a member of another community")


@message("letsnode/invoice", max_size=MAX_TRANSFER_MESSAGE, domain=DOMAIN_INVOICE)
@dataclass(frozen=True, slots=True)
class Invoice(_Signed):
    """The payee node's promise: it will reveal the preimage of ``condition``."""

    transfer_id: TransferId
    payee_community: Key
    payee_handle: Payee
    condition: Condition


@message("letsnode/prepare", max_size=MAX_TRANSFER_MESSAGE, domain=DOMAIN_PREPARE)
@dataclass(frozen=True, slots=True)
class Prepare(_Signed):
    """One leg's offer: hold ``amount`` (receiver's units) until ``expiry_ms``."""

    transfer_id: TransferId
    hop: Annotated[int, Int(0, MAX_HOPS_LIMIT - 1)]
    line_id: Annotated[bytes, Bin(16), "line id"]
    amount: Positive
    condition: Condition
    expiry_ms: Expiry
    route: Annotated[tuple[Key, ...], Array(max=MAX_HOPS_LIMIT - 1)]
    origin: Annotated[str, Text(ADDRESS_MAX)]
    memo: Memo
    invoice: Bytes
    invoice_signature: Bytes


@message("letsnode/decision", max_size=MAX_TRANSFER_MESSAGE, domain=DOMAIN_DECISION)
@dataclass(frozen=True, slots=True)
class Decision(_Signed):
    """The upstream node's outcome for one leg; ``preimage`` is set when fulfilled."""

    transfer_id: TransferId
    hop: Int64
    outcome: Outcome
    preimage: Bytes

    def __post_init__(self) -> None:
        if (self.outcome == "fulfilled") != (len(self.preimage) == 32):
            raise InvalidInput("a fulfilled decision carries the 32-byte preimage, others none")


@message("letsnode/reject", max_size=MAX_TRANSFER_MESSAGE, domain=DOMAIN_REJECT)
@dataclass(frozen=True, slots=True)
class Reject(_Signed):
    """The downstream node refuses a prepare (it never reveals the preimage for it)."""

    transfer_id: TransferId
    hop: Int64
    code: Annotated[str, Text(40), "reject code"]
    message: Annotated[str, Text(300, empty=True), "reject message"]
