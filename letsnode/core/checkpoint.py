"""Audit checkpoints: a signed statement "the log up to entry S, whose hash is H, was fully
verified, and it left these account states", so a later audit can verify only what follows.

Wire forms (canonical msgpack arrays):

    checkpoint = ["letsnode/checkpoint", 1, community_id, seq, head, timestamp_ms,
                  account_count, state_digest]
                 signed by the node's key under DOMAIN_CHECKPOINT
    state      = [accounts, holds, lines, finished]; state_digest = BLAKE2b-256(state)
    accounts   = [[handle, key, kind, floor, ceiling, status, balance, last_nonce,
                   held_out, held_in], ...]                          sorted by handle
    holds      = [[transfer_id, role, debit, credit, amount, condition, expiry_ms,
                   revealed], ...]                                   sorted by (id, role)
    lines      = [[terms, handle, partner], ...]                     sorted by handle
    finished   = [transfer_id, ...]                                  sorted

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
from typing import Annotated

import msgpack

from letsnode.core.amounts import check_int64
from letsnode.core.audit import AuditFault
from letsnode.core.crypto import HASH_BYTES, KEY_BYTES, SigningKey, is_valid_signature
from letsnode.core.errors import DecodeError, InvalidInput, LetsError
from letsnode.core.names import check_slug
from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import Account, HoldState, LineState
from letsnode.core.wire import codec
from letsnode.core.wire.bodies import Role
from letsnode.core.wire.codec import Wire, expect_bytes, expect_int, expect_list, expect_str
from letsnode.core.wire.entries import (
    GENESIS_PREV,
    PROTOCOL_VERSION,
    AccountKind,
    AccountStatus,
    Entry,
    Genesis,
    check_limits,
)
from letsnode.core.wire.lines import LineTerms
from letsnode.core.wire.schema import Message, message, reader
from letsnode.core.wire.specs import Hash, Int, Key

CHECKPOINT_TYPE = "letsnode/checkpoint"
DOMAIN_CHECKPOINT = b"letsnode/checkpoint/v1\x00"
MAX_CHECKPOINT_BYTES = 1024
MAX_STATE_BYTES = 1 << 30


class CheckpointError(LetsError):
    """A stored checkpoint that does not hold up: it is not used, the audit fails."""

    code = "bad_checkpoint"


@message(
    CHECKPOINT_TYPE,
    version=PROTOCOL_VERSION,
    max_size=MAX_CHECKPOINT_BYTES,
    domain=DOMAIN_CHECKPOINT,
)
@dataclass(frozen=True, slots=True)
class Checkpoint(Message):
    community_id: Key
    seq: Annotated[int, Int(min=0)]
    head: Hash
    timestamp_ms: Annotated[int, Int(min=0), "timestamp"]
    accounts: Annotated[int, Int(min=0), "account count"]
    state_digest: Hash


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """What the store keeps: the checkpoint's bytes, the node's signature, the state."""

    data: bytes
    signature: bytes
    state: bytes


def encode_state(ledger: Ledger) -> bytes:
    """Everything ``Ledger.apply`` reads besides the chain position, canonically."""
    accounts: list[Wire] = [
        [
            a.handle,
            a.key,
            a.kind,
            a.floor,
            a.ceiling,
            a.status,
            a.balance,
            a.last_nonce,
            a.held_out,
            a.held_in,
        ]
        for a in sorted(ledger.accounts.values(), key=lambda a: a.handle)
    ]
    holds: list[Wire] = [
        [h.transfer_id, h.role, h.debit, h.credit, h.amount, h.condition, h.expiry_ms, h.revealed]
        for _, h in sorted(ledger.holds.items())
    ]
    lines: list[Wire] = [
        [line.terms.encode(), line.handle, line.partner]
        for line in sorted(ledger.lines.values(), key=lambda line: line.handle)
    ]
    finished: list[Wire] = list(sorted(ledger.finished))
    return codec.pack([accounts, holds, lines, finished])


@dataclass(frozen=True, slots=True)
class State:
    """A checkpoint's decoded state."""

    accounts: list[Account]
    holds: list[HoldState]
    lines: list[LineState]
    finished: list[bytes]


def state_digest(state: bytes) -> bytes:
    return hashlib.blake2b(state, digest_size=HASH_BYTES).digest()


def take_checkpoint(ledger: Ledger, key: SigningKey) -> SignedCheckpoint:
    """Sign a checkpoint of ``ledger`` (which must be the state of a verified log)."""
    if key.public != ledger.community.community_id:
        raise InvalidInput("only the community's node key can sign its checkpoints")
    state = encode_state(ledger)
    checkpoint = Checkpoint(
        ledger.community.community_id,
        ledger.next_seq - 1,
        ledger.head,
        ledger.last_timestamp_ms,
        len(ledger.accounts),
        state_digest(state),
    )
    return SignedCheckpoint(*checkpoint.signed_parts(key), state)


def open_checkpoint(genesis: Genesis, signed: SignedCheckpoint) -> tuple[Checkpoint, State]:
    """Check ``signed`` against the log's genesis; return it and its state.

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
    state = _decode_state(signed.state)
    if len(state.accounts) != checkpoint.accounts:
        raise CheckpointError("the checkpoint's account count does not match its states")
    return checkpoint, state


def _decode_state(state: bytes) -> State:
    try:
        parts = expect_list(codec.unpack(state, MAX_STATE_BYTES, "checkpoint state"), 4, "state")
        rows, hold_rows, line_rows, finished = (_array(part) for part in parts)
        decoded = State(
            [_account(row) for row in rows],
            [_hold(row) for row in hold_rows],
            [_line(row) for row in line_rows],
            [expect_bytes(t, "finished transfer") for t in finished],
        )
    except (DecodeError, InvalidInput) as err:
        raise CheckpointError(f"the checkpoint's state is malformed: {err}") from None
    accounts = decoded.accounts
    handles = [a.handle for a in accounts]
    if handles != sorted(set(handles)):
        raise CheckpointError("the checkpoint's accounts are not sorted and unique")
    if len({a.key for a in accounts}) != len(accounts):
        raise CheckpointError("two accounts of the checkpoint share a key")
    for a in accounts:
        if a.balance - a.held_out < a.floor or (
            a.ceiling is not None and a.balance + a.held_in > a.ceiling
        ):
            raise CheckpointError(f"account {a.handle} is outside its limits in the checkpoint")
    if sum(a.balance for a in accounts) != 0:
        raise CheckpointError("the checkpoint's balances do not sum to zero")
    return decoded


def _array(value: Wire) -> list[Wire]:
    if not isinstance(value, list):
        raise DecodeError("checkpoint state parts must be arrays")
    return value


def _account(row: Wire) -> Account:
    f = expect_list(row, 10, "checkpoint account")
    handle = expect_str(f[0], "handle")
    key = expect_bytes(f[1], "key", KEY_BYTES)
    kind: AccountKind = _read_kind(f[2])
    floor = expect_int(f[3], "floor")
    ceiling = None if f[4] is None else expect_int(f[4], "ceiling")
    status: AccountStatus = _read_status(f[5])
    check_slug(handle)
    check_limits(floor, ceiling)
    balance = check_int64(expect_int(f[6], "balance"), "balance")
    numbers = [expect_int(f[i], what) for i, what in ((7, "nonce"), (8, "held"), (9, "held"))]
    if min(numbers) < 0:
        raise DecodeError("nonces and held amounts must not be negative")
    return Account(handle, key, kind, floor, ceiling, status, balance, *numbers)


_read_kind = reader(AccountKind, "account kind")
_read_status = reader(AccountStatus, "account status")
_read_role = reader(Role, "hold role")


def _hold(row: Wire) -> HoldState:
    f = expect_list(row, 8, "checkpoint hold")
    if not isinstance(f[7], bool):
        raise DecodeError("a hold's revealed flag must be a boolean")
    return HoldState(
        expect_bytes(f[0], "transfer id"),
        _read_role(f[1]),
        expect_str(f[2], "debit"),
        expect_str(f[3], "credit"),
        expect_int(f[4], "amount"),
        expect_bytes(f[5], "condition"),
        expect_int(f[6], "expiry"),
        f[7],
    )


def _line(row: Wire) -> LineState:
    f = expect_list(row, 3, "checkpoint line")
    terms = LineTerms.decode(expect_bytes(f[0], "line terms"))
    return LineState(terms, expect_str(f[1], "handle"), expect_bytes(f[2], "partner", KEY_BYTES))


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


def resume_ledger(genesis: Genesis, checkpoint: Checkpoint, state: State) -> Ledger:
    """The verified state a checkpoint describes, ready to replay the entries after it."""
    return Ledger.from_snapshot(
        genesis,
        state.accounts,
        checkpoint.seq + 1,
        checkpoint.head,
        checkpoint.timestamp_ms,
        state.holds,
        state.lines,
        state.finished,
    )
