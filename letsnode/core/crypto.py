"""Ed25519 signatures with domain separation, and the one hash (BLAKE2b-256).

Every signature covers ``DOMAIN || message`` where the domain names the message type, so a
signature made for one kind of message can never be replayed as another. Keys are 32-byte
seeds (private) and 32-byte public keys; a community's id is its node's public key.

``unsigned()`` is for simulations alone: inside it nothing is signed or verified (see its
docstring). Nothing in a running node enters it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError, CryptoError

from letsnode.core.errors import BadSignature, InvalidInput

DOMAIN_ENTRY = b"letsnode/entry/v1\x00"
DOMAIN_ORDER = b"letsnode/order/v1\x00"
# A member signs in by signing ``community_id || challenge``, and asks to join by signing
# ``community_id || challenge || handle`` (README, "API").
DOMAIN_SESSION = b"letsnode/session/v1\x00"
DOMAIN_JOIN = b"letsnode/join/v1\x00"

KEY_BYTES = 32
SIGNATURE_BYTES = 64
HASH_BYTES = 32

# False only inside ``unsigned()``. A context variable, not a global: it holds for the code
# (and the trio tasks) started inside the block, and nowhere else in the process.
_SIGNING: ContextVar[bool] = ContextVar("letsnode_signing", default=True)
_PLACEHOLDER = bytes(SIGNATURE_BYTES)


@contextmanager
def unsigned() -> Iterator[None]:
    """Within this block ``SigningKey.sign`` returns 64 zero bytes and every signature
    verifies. For simulations where every party is honest and signing and verifying would
    dominate the cost; a message's bytes and sizes, and so every rule's decision, stay the
    same (``tests/test_sim_signatures.py`` checks that a scenario's payment outcomes are
    identical with and without). Never for a ledger anyone keeps: its entries verify
    nowhere else."""
    token = _SIGNING.set(False)
    try:
        yield
    finally:
        _SIGNING.reset(token)


def signing() -> bool:
    """False inside ``unsigned()``: what a running node and an audit check before they start,
    so a ledger anyone keeps is never written or checked without signatures."""
    return _SIGNING.get()


def blake2b256(data: bytes) -> bytes:
    """BLAKE2b with a 32-byte digest, unkeyed (libsodium's crypto_generichash)."""
    return hashlib.blake2b(data, digest_size=HASH_BYTES).digest()


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key held as its 32-byte seed."""

    seed: bytes = field(repr=False)
    public: bytes = field(init=False)
    _secret: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != KEY_BYTES:
            raise InvalidInput("an Ed25519 seed must be exactly 32 bytes")
        public, secret = crypto_sign_seed_keypair(self.seed)
        object.__setattr__(self, "public", bytes(public))
        object.__setattr__(self, "_secret", bytes(secret))

    def sign(self, domain: bytes, message: bytes) -> bytes:
        """Return the 64-byte signature of ``domain || message``."""
        if not _SIGNING.get():
            return _PLACEHOLDER
        return bytes(crypto_sign(domain + message, self._secret)[:SIGNATURE_BYTES])


def is_valid_signature(public: bytes, domain: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``public``'s signature of ``domain || message``."""
    if len(public) != KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    if not _SIGNING.get():
        return True
    try:
        crypto_sign_open(signature + domain + message, public)
    except (BadSignatureError, CryptoError, ValueError):
        return False
    return True


def verify(public: bytes, domain: bytes, message: bytes, signature: bytes, what: str) -> None:
    """Raise BadSignature naming ``what`` unless the signature verifies."""
    if not is_valid_signature(public, domain, message, signature):
        raise BadSignature(f"{what}: signature does not verify")
