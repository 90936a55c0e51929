"""Audit checkpoints: a signed statement "the log up to entry S, whose hash is H, was fully
verified, and it left these account states", so a later audit can verify only what follows.

Wire forms (canonical msgpack arrays):

    checkpoint = ["letsnode/checkpoint", 1, community_id, seq, head, timestamp_ms,
                  account_count, state_digest]
                 signed by the node's key under DOMAIN_CHECKPOINT
    state      = [[handle, key, kind, floor, ceiling, status, balance, last_nonce], ...]
                 sorted by handle; state_digest = BLAKE2b-256(state)

A checkpoint is never trusted blindly. ``open_checkpoint`` verifies its signature with the
community id named by the log's own genesis entry, the state against its digest, and the
state itself (valid accounts, unique keys, every balance within its limits, zero-sum).
``PrefixCheck`` then re-hashes the log from the genesis up to ``seq``: the chain must end
at ``head``, so the prefix is bit for bit the one that was verified (its signatures and
rules need no second check). Only the entries after ``seq`` are verified again in full.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import msgpack

from letsnode.core import codec
from letsnode.core.amounts import check_int64
from letsnode.core.audit import AuditFault
from letsnode.core.codec import Wire, expect_bytes, expect_int, expect_list, expect_str
from letsnode.core.crypto import HASH_BYTES, KEY_BYTES, SigningKey, is_valid_signature
from letsnode.core.entries import GENESIS_PREV, PROTOCOL_VERSION, Admit, Entry, Genesis, Status
from letsnode.core.errors import DecodeError, InvalidInput, LetsError
from letsnode.core.ledger import Account, Ledger

CHECKPOINT_TYPE = "letsnode/checkpoint"
DOMAIN_CHECKPOINT = b"letsnode/checkpoint/v1\x00"
MAX_CHECKPOINT_BYTES = 1024
MAX_STATE_BYTES = 1 << 30


class CheckpointError(LetsError):
    """A stored checkpoint that does not hold up: it is not used, the audit fails."""

    code = "bad_checkpoint"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    community_id: bytes
    seq: int
    head: bytes
    timestamp_ms: int
    accounts: int
    state_digest: bytes

    def encode(self) -> bytes:
        return codec.pack(
            [
                CHECKPOINT_TYPE,
                PROTOCOL_VERSION,
                self.community_id,
                self.seq,
                self.head,
                self.timestamp_ms,
                self.accounts,
                self.state_digest,
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> Checkpoint:
        f = expect_list(codec.unpack(data, MAX_CHECKPOINT_BYTES, "checkpoint"), 8, "checkpoint")
        if f[0] != CHECKPOINT_TYPE or f[1] != PROTOCOL_VERSION:
            raise DecodeError(f"not a version {PROTOCOL_VERSION} checkpoint")
        checkpoint = cls(
            expect_bytes(f[2], "community id", KEY_BYTES),
            expect_int(f[3], "seq"),
            expect_bytes(f[4], "head", HASH_BYTES),
            expect_int(f[5], "timestamp"),
            expect_int(f[6], "account count"),
            expect_bytes(f[7], "state digest", HASH_BYTES),
        )
        if checkpoint.seq < 0 or checkpoint.timestamp_ms < 0 or checkpoint.accounts < 0:
            raise DecodeError("checkpoint numbers must not be negative")
        return checkpoint


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """What the store keeps: the checkpoint's bytes, the node's signature, the state."""

    data: bytes
    signature: bytes
    state: bytes


def encode_state(accounts: list[Account]) -> bytes:
    rows: list[Wire] = [
        [a.handle, a.key, a.kind, a.floor, a.ceiling, a.status, a.balance, a.last_nonce]
        for a in sorted(accounts, key=lambda a: a.handle)
    ]
    return codec.pack(rows)


def state_digest(state: bytes) -> bytes:
    return hashlib.blake2b(state, digest_size=HASH_BYTES).digest()


def take_checkpoint(ledger: Ledger, key: SigningKey) -> SignedCheckpoint:
    """Sign a checkpoint of ``ledger`` (which must be the state of a verified log)."""
    if key.public != ledger.community.community_id:
        raise InvalidInput("only the community's node key can sign its checkpoints")
    state = encode_state(list(ledger.accounts.values()))
    checkpoint = Checkpoint(
        ledger.community.community_id,
        ledger.next_seq - 1,
        ledger.head,
        ledger.last_timestamp_ms,
        len(ledger.accounts),
        state_digest(state),
    )
    data = checkpoint.encode()
    return SignedCheckpoint(data, key.sign(DOMAIN_CHECKPOINT, data), state)


def open_checkpoint(genesis: Genesis, signed: SignedCheckpoint) -> tuple[Checkpoint, list[Account]]:
    """Check ``signed`` against the log's genesis; return it and its account states.

    Raises CheckpointError naming what does not hold.
    """
    try:
        checkpoint = Checkpoint.decode(signed.data)
    except DecodeError as err:
        raise CheckpointError(f"the checkpoint is malformed: {err}") from None
    if checkpoint.community_id != genesis.community_id:
        raise CheckpointError("the checkpoint names another community")
    if not is_valid_signature(
        genesis.community_id, DOMAIN_CHECKPOINT, signed.data, signed.signature
    ):
        raise CheckpointError("the checkpoint is not signed by the community's node key")
    if state_digest(signed.state) != checkpoint.state_digest:
        raise CheckpointError("the checkpoint's account states do not match its digest")
    accounts = _decode_state(signed.state)
    if len(accounts) != checkpoint.accounts:
        raise CheckpointError("the checkpoint's account count does not match its states")
    return checkpoint, accounts


def _decode_state(state: bytes) -> list[Account]:
    try:
        rows = codec.unpack(state, MAX_STATE_BYTES, "checkpoint state")
        if not isinstance(rows, list):
            raise DecodeError("checkpoint state must be an array")
        accounts = [_account(row) for row in rows]
    except (DecodeError, InvalidInput) as err:
        raise CheckpointError(f"the checkpoint's account states are malformed: {err}") from None
    handles = [a.handle for a in accounts]
    if handles != sorted(set(handles)):
        raise CheckpointError("the checkpoint's accounts are not sorted and unique")
    if len({a.key for a in accounts}) != len(accounts):
        raise CheckpointError("two accounts of the checkpoint share a key")
    for a in accounts:
        if a.balance < a.floor or (a.ceiling is not None and a.balance > a.ceiling):
            raise CheckpointError(f"account {a.handle} is outside its limits in the checkpoint")
    if sum(a.balance for a in accounts) != 0:
        raise CheckpointError("the checkpoint's balances do not sum to zero")
    return accounts


def _account(row: Wire) -> Account:
    f = expect_list(row, 8, "checkpoint account")
    handle = expect_str(f[0], "handle")
    key = expect_bytes(f[1], "key", KEY_BYTES)
    kind = expect_str(f[2], "kind")
    floor = expect_int(f[3], "floor")
    ceiling = None if f[4] is None else expect_int(f[4], "ceiling")
    status = expect_str(f[5], "status")
    Admit(handle, key, kind, floor, ceiling)  # the same checks as when it was admitted
    Status(handle, status)
    balance = check_int64(expect_int(f[6], "balance"), "balance")
    last_nonce = expect_int(f[7], "last nonce")
    if last_nonce < 0:
        raise DecodeError("last nonce must not be negative")
    return Account(handle, key, kind, floor, ceiling, status, balance, last_nonce)


class PrefixCheck:
    """Re-hash the log from its genesis up to a checkpoint, one record at a time.

    Feed records in order from position 0 with ``feed``; it returns a fault or None. The
    genesis entry is decoded and its signature verified (it names the community); every
    later entry only has its chain link checked, which is cheap (no signature, no rules).
    """

    def __init__(self) -> None:
        self.position = 0
        self.head = GENESIS_PREV
        self.genesis: Genesis | None = None

    def feed(self, data: bytes, signature: bytes) -> AuditFault | None:
        position = self.position
        if position == 0:
            ledger = Ledger()
            try:
                ledger.apply(Entry.decode(data, signature))
            except LetsError as err:
                return AuditFault(0, err.code, str(err))
            self.genesis = ledger.community
            self.head = ledger.head
            self.position = 1
            return None
        try:
            value = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
            seq, prev = value[2], value[3]
        except Exception:
            seq, prev = None, None
        if seq != position or prev != self.head:
            return AuditFault(
                position,
                "checkpoint_mismatch",
                "the log before the checkpoint is not the one that was verified "
                f"(entry {position} does not continue the chain)",
            )
        self.head = hashlib.blake2b(data, digest_size=HASH_BYTES).digest()
        self.position = position + 1
        return None

    def finish(self, checkpoint: Checkpoint) -> AuditFault | None:
        """After feeding records 0..checkpoint.seq: the chain must end at its head."""
        last = self.position - 1
        if last < checkpoint.seq:
            return AuditFault(
                max(last, 0),
                "checkpoint_beyond_log",
                f"the log ends at entry {last}, before the checkpoint at entry {checkpoint.seq}",
            )
        if self.head != checkpoint.head:
            return AuditFault(
                checkpoint.seq,
                "checkpoint_mismatch",
                f"entry {checkpoint.seq} is not the one the checkpoint verified (head differs)",
            )
        return None


def resume_ledger(genesis: Genesis, checkpoint: Checkpoint, accounts: list[Account]) -> Ledger:
    """The verified state a checkpoint describes, ready to replay the entries after it."""
    return Ledger.from_snapshot(
        genesis, accounts, checkpoint.seq + 1, checkpoint.head, checkpoint.timestamp_ms
    )
