"""The pure half of the parallel audit engine: scan batches of records, replay them, and
hand out the signature checks so a pool can run them on every core.

The sequential reference is ``letsnode.core.audit.audit_records``. This engine must report
exactly the same first fault, so it is built as a *sound fast path* plus the reference
itself:

* ``Replayer.scan`` decodes a batch of records with a lean decoder, checks each entry's
  position in the chain and the ledger rules on a speculative ``Ledger`` that runs ahead of
  the verified one, and collects the signature checks (node and member) as jobs. It never
  accepts what the reference would refuse: whatever the lean decoder is unsure of goes
  through the reference decoder (``Entry.decode``), non-payment entries through
  ``Ledger.apply``, and anything refused marks the batch as *flagged* at that position.
  Undo: the batch records the first-touch state of each account a payment, admit,
  limits or status entry changes; before the first entry of any other kind (credit
  lines, transfers) it copies the whole ledger state.
* A pool runs ``bad_signatures`` on the jobs (``letsnode.audit.pool``), in parallel.
* A batch whose jobs all verify and that is not flagged is committed (its undo log is
  dropped). Otherwise the speculative state is rolled back to the start of the first bad
  batch and ``continue_audit`` (the reference loop, unchanged) replays from there: the
  fault it reports, and the state it leaves, are the reference's by construction.

The key a member signature is checked with is the payer's key in the speculative ledger at
that entry. Keys never change once admitted, so whenever no earlier entry is at fault this
is the key the reference uses; when an earlier entry is at fault, the earlier fault wins.

Scanning, the lean decoder, undo and replay stay in one module (a little over 400 lines):
they are one speculative loop whose soundness argument, above, needs them side by side.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import msgpack
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError

from letsnode.core.amounts import INT64_MAX, INT64_MIN
from letsnode.core.audit import AuditFault, AuditResult, finish
from letsnode.core.crypto import (
    DOMAIN_ENTRY,
    DOMAIN_ORDER,
    KEY_BYTES,
    SIGNATURE_BYTES,
    SigningKey,
)
from letsnode.core.errors import LetsError
from letsnode.core.names import MEMO_MAX, check_text
from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import Account, is_system_account
from letsnode.core.wire.entries import (
    ENTRY_TYPE,
    MAX_ENTRY_BYTES,
    MAX_ORDER_BYTES,
    ORDER_TYPE,
    Admit,
    Entry,
    Genesis,
    Limits,
    Payment,
    Status,
)

Record = tuple[bytes, bytes]
# What a payment, admit, limits or status entry may change in one account.
Saved = tuple[int, int, int, int | None, str, int, int]
_SAVED_FIELDS = ("balance", "last_nonce", "floor", "ceiling", "status", "held_out", "held_in")
_TRACKED = (Payment, Admit, Limits, Status, Genesis)

# The lean payment path mirrors ``rules.accounts.check_order`` for accounts of exactly these
# fields. If Account changes, the lean path switches itself off (every entry then goes
# through ``Ledger.apply``: slower, still exact) until it is brought up to date.
_ACCOUNT_FIELDS = (
    "handle",
    "key",
    "kind",
    "floor",
    "ceiling",
    "status",
    "balance",
    "last_nonce",
    "held_out",
    "held_in",
)
LEAN_PAYMENTS = tuple(f.name for f in fields(Account)) == _ACCOUNT_FIELDS

_HASH = 32
_MEMO_CACHE_MAX = 1 << 16


def bad_signatures(keys: Sequence[bytes], signed: Sequence[bytes]) -> list[int]:
    """Indexes of the jobs whose signature does not verify, in order.

    Job ``i`` is ``signed[i] = signature || domain || message`` under public key
    ``keys[i]`` (libsodium's combined form), with the same acceptance as
    ``crypto.is_valid_signature``. This is what pool workers run; it releases the GIL
    inside each check.
    """
    bad: list[int] = []
    for i, (key, data) in enumerate(zip(keys, signed, strict=True)):
        if len(key) != KEY_BYTES or len(data) < SIGNATURE_BYTES:
            bad.append(i)
            continue
        try:
            crypto_sign_open(data, key)
        except (BadSignatureError, CryptoError, ValueError):
            bad.append(i)
    return bad


@dataclass(slots=True)
class Batch:
    """One scanned batch: its records, its signature jobs and how to undo it."""

    start: int
    records: list[Record]
    keys: list[bytes] = field(default_factory=list)
    signed: list[bytes] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    flagged: int | None = None
    saved: dict[str, Saved | None] = field(default_factory=dict)
    # The whole ledger state, copied before the first entry of another kind (credit lines,
    # transfers: they change holds, lines and several accounts) changed it, with the
    # undo entries recorded up to then (later ones are covered by the copy).
    snapshot: tuple[dict[str, Any], dict[str, Saved | None]] | None = None
    next_seq: int = 0
    head: bytes = b""
    last_timestamp_ms: int = 0
    genesis: Genesis | None = None

    @property
    def end(self) -> int:
        """Position after the last record scanned (or after the flagged one)."""
        return self.start + len(self.records) if self.flagged is None else self.flagged

    def first_bad(self, bad: Sequence[int]) -> int | None:
        """The earliest position at fault in this batch, given the failing job indexes."""
        first = self.positions[bad[0]] if bad else None
        if self.flagged is not None and (first is None or self.flagged < first):
            return self.flagged
        return first


class Replayer:
    """The speculative ledger: scans batches in order, ahead of their signature checks."""

    def __init__(self, ledger: Ledger | None = None, position: int = 0) -> None:
        self.ledger = ledger if ledger is not None else Ledger()
        self.position = position
        self._pack = msgpack.Packer(use_bin_type=True).pack
        self._memos: set[str] = {""}

    # -- scanning ----------------------------------------------------------------------

    def scan(self, records: list[Record]) -> Batch:
        """Scan ``records`` (the next ones of the log) and return their batch.

        Stops at the first entry the rules or the decoder refuse (``flagged``); the state
        then reflects the entries before it. Signature jobs are collected, not checked.
        """
        ledger = self.ledger
        batch = Batch(
            self.position,
            records,
            next_seq=ledger.next_seq,
            head=ledger.head,
            last_timestamp_ms=ledger.last_timestamp_ms,
            genesis=ledger.genesis,
        )
        position = self.position
        lean = LEAN_PAYMENTS
        for data, signature in records:
            if not (lean and self._lean_payment(batch, position, data, signature)):
                self._generic(batch, position, data, signature)
            if batch.flagged is not None:
                break
            position += 1
        self.position = position
        return batch

    def _lean_payment(self, batch: Batch, position: int, data: bytes, signature: bytes) -> bool:
        """Scan a payment the fast way; False when the reference decoder must decide.

        Accepts only records that ``Entry.decode`` accepts with the same values: every type,
        length, range and canonical-form check of the reference is repeated here, and
        handles are checked by membership (an admitted handle passed ``check_slug``).
        """
        if type(data) is not bytes or type(signature) is not bytes:
            return False
        if len(data) > MAX_ENTRY_BYTES or len(signature) != SIGNATURE_BYTES:
            return False
        try:
            value = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
        except Exception:
            return False
        if type(value) is not list or len(value) != 6:
            return False
        kind, version, seq, prev, ts, body = value
        if kind != ENTRY_TYPE or type(version) is not int or version != 1:
            return False
        if type(seq) is not int or type(ts) is not int or type(prev) is not bytes:
            return False
        if not (0 <= seq <= INT64_MAX and 0 <= ts <= INT64_MAX) or len(prev) != _HASH:
            return False
        if type(body) is not list or len(body) != 3 or body[0] != Payment.KIND:
            return False
        order_data, order_signature = body[1], body[2]
        if type(order_data) is not bytes or type(order_signature) is not bytes:
            return False
        if len(order_signature) != SIGNATURE_BYTES or len(order_data) > MAX_ORDER_BYTES:
            return False
        pack = self._pack
        if pack(value) != data:
            return False
        try:
            order = msgpack.unpackb(order_data, raw=False, use_list=True, strict_map_key=True)
        except Exception:
            return False
        if type(order) is not list or len(order) != 8:
            return False
        otype, oversion, community_id, payer, payee, amount, nonce, memo = order
        if otype != ORDER_TYPE or type(oversion) is not int or oversion != 1:
            return False
        if type(community_id) is not bytes or len(community_id) != KEY_BYTES:
            return False
        if type(payer) is not str or type(payee) is not str or type(memo) is not str:
            return False
        if type(amount) is not int or type(nonce) is not int:
            return False
        if not (0 < amount <= INT64_MAX and 0 < nonce <= INT64_MAX) or payer == payee:
            return False
        if pack(order) != order_data:
            return False
        if memo not in self._memos:
            if len(memo) > MEMO_MAX:
                return False
            try:
                check_text(memo, "memo", MEMO_MAX, allow_empty=True)
            except LetsError:
                return False
            if len(self._memos) >= _MEMO_CACHE_MAX:
                self._memos = {""}
            self._memos.add(memo)

        # Decoded exactly as the reference would. Now what ``Ledger.apply`` checks, in its
        # order; any refusal only needs its position (the reference names it later).
        ledger = self.ledger
        accounts = ledger.accounts
        genesis = ledger.genesis
        if (
            seq != ledger.next_seq
            or prev != ledger.head
            or ts < ledger.last_timestamp_ms
            or genesis is None
        ):
            batch.flagged = position
            return True
        payer_account = accounts.get(payer)
        payee_account = accounts.get(payee)
        if (
            payer_account is None
            or payee_account is None
            or community_id != genesis.community_id
            or is_system_account(payer_account)
            or is_system_account(payee_account)
            or payer_account.status != "active"
            or payee_account.status != "active"
            or nonce <= payer_account.last_nonce
        ):
            batch.flagged = position
            return True
        new_payer = payer_account.balance - payer_account.held_out - amount
        new_payee = payee_account.balance + payee_account.held_in + amount
        ceiling = payee_account.ceiling
        if (
            new_payer < payer_account.floor
            or new_payer < INT64_MIN
            or (ceiling is not None and new_payee > ceiling)
            or new_payee > INT64_MAX
        ):
            batch.flagged = position
            return True
        saved = batch.saved
        if payer not in saved:
            saved[payer] = _save(payer_account)
        if payee not in saved:
            saved[payee] = _save(payee_account)
        payer_account.balance -= amount
        payer_account.last_nonce = nonce
        payee_account.balance += amount
        ledger.next_seq = seq + 1
        ledger.head = _blake2b(data)
        ledger.last_timestamp_ms = ts
        batch.keys.append(genesis.community_id)
        batch.signed.append(signature + DOMAIN_ENTRY + data)
        batch.keys.append(payer_account.key)
        batch.signed.append(order_signature + DOMAIN_ORDER + order_data)
        batch.positions.append(position)
        batch.positions.append(position)
        return True

    def _generic(self, batch: Batch, position: int, data: bytes, signature: bytes) -> None:
        """Scan any entry with the reference decoder and ``Ledger.apply`` (no signatures)."""
        ledger = self.ledger
        try:
            entry = Entry.decode(data, signature)
        except LetsError:
            batch.flagged = position
            return
        body = entry.body
        if isinstance(body, Genesis):
            node_key = body.community_id
        elif ledger.genesis is not None:
            node_key = ledger.genesis.community_id
        else:
            batch.flagged = position
            return
        member: tuple[bytes, bytes] | None = None
        touched: tuple[str, ...] = ()
        if isinstance(body, Payment):
            payer = ledger.accounts.get(body.order.payer)
            if payer is not None:
                member = (payer.key, body.signed.signature + DOMAIN_ORDER + body.signed.data)
            touched = (body.order.payer, body.order.payee)
        elif isinstance(body, Admit | Limits | Status):
            touched = (body.handle,)
        elif not isinstance(body, _TRACKED) and batch.snapshot is None:
            batch.snapshot = (copy.deepcopy(vars(ledger)), dict(batch.saved))
        for handle in touched:
            if handle not in batch.saved:
                account = ledger.accounts.get(handle)
                batch.saved[handle] = None if account is None else _save(account)
        try:
            ledger.apply(entry, check_node_signature=False, check_member_signature=False)
        except LetsError:
            batch.flagged = position
            return
        batch.keys.append(node_key)
        batch.signed.append(entry.signature + DOMAIN_ENTRY + entry.data)
        batch.positions.append(position)
        if member is not None:
            batch.keys.append(member[0])
            batch.signed.append(member[1])
            batch.positions.append(position)

    # -- committing and rolling back ----------------------------------------------------

    def rollback(self, batch: Batch) -> None:
        """Restore the state from before ``batch``. Roll back newer batches first."""
        ledger = self.ledger
        undo = batch.saved
        if batch.snapshot is not None:
            state, undo = batch.snapshot
            vars(ledger).clear()
            vars(ledger).update(state)
        for handle, saved in undo.items():
            if saved is None:
                account = ledger.accounts.pop(handle, None)
                if account is not None:
                    ledger.keys.pop(account.key, None)
                continue
            account = ledger.accounts[handle]
            for name, value in zip(_SAVED_FIELDS, saved, strict=True):
                setattr(account, name, value)
        ledger.next_seq = batch.next_seq
        ledger.head = batch.head
        ledger.last_timestamp_ms = batch.last_timestamp_ms
        ledger.genesis = batch.genesis
        self.position = batch.start

    @staticmethod
    def commit(batch: Batch) -> None:
        """``batch`` is verified: drop what undoing it needed."""
        batch.saved.clear()
        batch.snapshot = None
        batch.keys.clear()
        batch.signed.clear()
        batch.positions.clear()


def _save(a: Account) -> Saved:
    return (a.balance, a.last_nonce, a.floor, a.ceiling, a.status, a.held_out, a.held_in)


def _blake2b(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_HASH).digest()


def continue_audit(ledger: Ledger, records: Iterable[Record], start: int) -> AuditResult:
    """The reference loop of ``audit_records``, from ``ledger`` at position ``start``.

    With a fresh Ledger and ``start == 0`` this is ``audit_records`` itself.
    """
    result = AuditResult(ledger, entries=start)
    for position, (data, signature) in enumerate(records, start):
        try:
            entry = Entry.decode(data, signature)
            ledger.apply(entry)
        except LetsError as err:
            result.fault = AuditFault(position, err.code, str(err))
            return result
        result.entries += 1
    return finish(result)


def finish_clean(ledger: Ledger, entries: int) -> AuditResult:
    """The result of a log whose ``entries`` all verified: end-of-log checks only."""
    return finish(AuditResult(ledger, entries=entries))


def sign_all(seed: bytes, domain: bytes, messages: Sequence[bytes]) -> list[bytes]:
    """``SigningKey(seed).sign(domain, m)`` for each message: what a pool worker runs to
    take the node's entry signatures off the writer's thread."""
    key = SigningKey(seed)
    return [key.sign(domain, message) for message in messages]
