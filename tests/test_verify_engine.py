"""The parallel audit engine reports exactly what the sequential reference reports.

Small ledgers are built with ``Ledger.append``, corrupted in many ways (bytes flipped,
records swapped, dropped or duplicated, member signatures forged, rule-breaking entries
re-signed by the node so only the rules catch them), and audited by both
``core.audit.audit_records`` and ``verify_pool.audit_parallel``: same first fault (seq,
code and reason), same entry count, same state. Then incremental audits from checkpoints.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsnode.audit.pool import VerifyPool, audit_parallel
from letsnode.audit.runner import audit_folder, audit_path, export_log
from letsnode.community.folder import DB_NAME, NODE_KEY, Community
from letsnode.core.audit import AuditResult, audit_records
from letsnode.core.checkpoint import (
    DOMAIN_CHECKPOINT,
    Checkpoint,
    SignedCheckpoint,
    encode_state,
    state_digest,
)
from letsnode.core.crypto import DOMAIN_ENTRY, SigningKey
from letsnode.core.errors import DecodeError, LedgerRefusal
from letsnode.core.rules.ledger import Ledger
from letsnode.core.verify import Replayer, bad_signatures
from letsnode.core.wire import codec
from letsnode.core.wire.bodies import Hold, Release
from letsnode.core.wire.entries import (
    ENTRY_TYPE,
    Admit,
    Body,
    Entry,
    Genesis,
    Limits,
    Order,
    Payment,
    Status,
)
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.store.checkpoints import latest_checkpoint, save_checkpoint
from letsnode.store.db import connect
from letsnode.store.ledger_store import LedgerStore
from tests.federation_helpers import KEYS, Net, member_key

Record = tuple[bytes, bytes]
T0 = 1_700_000_000_000


@dataclass(frozen=True)
class Built:
    node: SigningKey
    members: dict[str, SigningKey]
    entries: tuple[Entry, ...]

    @property
    def records(self) -> list[Record]:
        return [(e.data, e.signature) for e in self.entries]


@cache
def build(seed: int, steps: int = 60) -> Built:
    """A small, valid ledger with payments (some up to the floors), limits, freezes, admits."""
    rng = random.Random(seed)
    node = SigningKey(rng.randbytes(32))
    ledger = Ledger()
    entries = [ledger.append(node, T0, Genesis(node.public, "Test", "test", "HOUR", 2, -500, 900))]
    members: dict[str, SigningKey] = {}
    ts = T0

    def add(body: Body) -> None:
        nonlocal ts
        ts += rng.choice([0, 1, 1000])
        with contextlib.suppress(LedgerRefusal):
            entries.append(ledger.append(node, ts, body))

    def admit(handle: str) -> None:
        key = SigningKey(rng.randbytes(32))
        members[handle] = key
        ceiling = rng.choice([None, 300, 900])
        add(Admit(handle, key.public, "member", rng.choice([0, -200, -500]), ceiling))

    for i in range(5):
        admit(f"member-{i}")
    for _ in range(steps):
        handles = sorted(ledger.accounts)
        roll = rng.random()
        if roll < 0.75:
            payer, payee = rng.sample(handles, 2)
            nonce = ledger.accounts[payer].last_nonce + 1
            amount = rng.choice([1, 25, 120, 400, 700])
            memo = rng.choice(["", "bread", "2h gardening", "tea ☕"])
            order = Order(node.public, payer, payee, amount, nonce, memo)
            add(Payment(order.sign(members[payer])))
        elif roll < 0.85:
            add(Limits(rng.choice(handles), rng.choice([0, -100, -600]), rng.choice([None, 500])))
        elif roll < 0.95:
            handle = rng.choice(handles)
            status = "active" if ledger.accounts[handle].status == "frozen" else "frozen"
            add(Status(handle, status))
        else:
            admit(f"late-{len(handles)}")
    return Built(node, members, tuple(entries))


class RecordingNet(Net):
    """The federation helpers' three ledgers, keeping community A's entries."""

    def __init__(self) -> None:
        self.entries_a: list[Entry] = []
        super().__init__(limit=3000)

    def append(self, name: str, body: Body) -> Entry:  # type: ignore[override]
        self.now += 10
        entry = self.ledgers[name].append(KEYS[name], self.now, body)
        if name == "a":
            self.entries_a.append(entry)
        return entry


@cache
def build_federated(seed: int, steps: int = 50) -> Built:
    """Community A with a credit line to B, holds pending and released around payments, so
    the limits count what is held and line accounts refuse plain payments."""
    rng = random.Random(seed)
    net = RecordingNet()
    ledger = net.ledgers["a"]
    members = {"maria": member_key("maria")}
    for i in range(3):
        handle = f"local-{i}"
        members[handle] = SigningKey(rng.randbytes(32))
        net.append("a", Admit(handle, members[handle].public, "member", -2000, 4000))
    condition = hashlib.sha256(b"preimage").digest()
    holds: list[bytes] = []
    for step in range(steps):
        handles = sorted(members)
        roll = rng.random()
        with contextlib.suppress(LedgerRefusal):
            if roll < 0.7:
                payer, payee = rng.sample(handles, 2)
                nonce = ledger.accounts[payer].last_nonce + 1
                amount = rng.choice([100, 900, 2500, 6000])
                order = Order(KEYS["a"].public, payer, payee, amount, nonce, "")
                net.append("a", Payment(order.sign(members[payer])))
            elif roll < 0.85:
                nonce = ledger.accounts["maria"].last_nonce + 1
                amount = rng.choice([500, 2000, 7000])
                remote = RemoteOrder(
                    KEYS["a"].public, "maria", KEYS["c"].public, "karim", amount, nonce, "tea"
                )
                data, sig = remote.sign(members["maria"])
                tid = bytes([step]) * 16
                expiry = net.now + 5000
                net.append(
                    "a", Hold(tid, "out", "maria", "line-b", amount, condition, expiry, data, sig)
                )
                holds.append(tid)
            elif holds:
                net.now += 6000
                net.append("a", Release(holds.pop(0), "out", "expired", b"", b""))
    return Built(KEYS["a"], members, tuple(net.entries_a))


def rechain(built: Built, position: int, body: Body, ts: int | None = None) -> list[Record]:
    """The log with entry ``position`` replaced by ``body``, every entry re-signed by the
    node from there on with correct hashes: only the rules (or the member) can object."""
    entries = list(built.entries)
    prev = entries[position].prev
    out = [(e.data, e.signature) for e in entries[:position]]
    for i in range(position, len(entries)):
        e = entries[i]
        new_body = body if i == position else e.body
        stamp = ts if (i == position and ts is not None) else e.timestamp_ms
        entry = Entry.create(built.node, e.seq, prev, stamp, new_body)
        out.append((entry.data, entry.signature))
        prev = entry.hash
    return out


def state_before(built: Built, position: int) -> Ledger:
    ledger = Ledger()
    for entry in built.entries[:position]:
        ledger.apply(entry, check_node_signature=False, check_member_signature=False)
    return ledger


def spend_held(built: Built, position: int) -> list[Record] | None:
    """Payment ``position`` changed to fit the floor only if pending holds are ignored."""
    body = built.entries[position].body
    assert isinstance(body, Payment)
    payer = state_before(built, position).accounts[body.order.payer]
    room = payer.balance - payer.floor
    if payer.held_out == 0 or room - payer.held_out + 1 > room or room < 1:
        return None
    amount = max(1, room - payer.held_out + 1)
    changed = reorder(body.order, amount=amount).sign(built.members[body.order.payer])
    return rechain(built, position, Payment(changed))


def payments(built: Built) -> list[int]:
    return [i for i, e in enumerate(built.entries) if isinstance(e.body, Payment)]


def reorder(order: Order, **changes: object) -> Order:
    fields = {
        "community_id": order.community_id,
        "payer": order.payer,
        "payee": order.payee,
        "amount": order.amount,
        "nonce": order.nonce,
        "memo": order.memo,
    }
    fields.update(changes)
    return Order(**fields)  # type: ignore[arg-type]


@st.composite
def corrupted(draw: st.DrawFn) -> list[Record]:
    seed = draw(st.integers(0, 5))
    built = build_federated(seed) if draw(st.booleans()) else build(seed)
    records = built.records
    n = len(records)
    kind = draw(
        st.sampled_from(
            [
                "none",
                "flip",
                "swap",
                "drop",
                "duplicate",
                "truncate",
                "forge_member",
                "overspend",
                "replay_nonce",
                "unknown_payee",
                "wrong_community",
                "pay_line_account",
                "spend_held",
                "time_back",
                "two_faults",
            ]
        )
    )
    pays = payments(built)
    p = draw(st.sampled_from(pays))
    payment = built.entries[p].body
    assert isinstance(payment, Payment)
    order = payment.order
    if kind == "none":
        return records
    if kind == "flip":
        i = draw(st.integers(0, n - 1))
        part = draw(st.integers(0, 1))
        blob = bytearray(records[i][part])
        at = draw(st.integers(0, len(blob) - 1))
        blob[at] ^= draw(st.integers(1, 255))
        record = list(records[i])
        record[part] = bytes(blob)
        records[i] = (record[0], record[1])
        return records
    if kind == "swap":
        i, j = sorted(draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
        records[i], records[j] = records[j], records[i]
        return records
    if kind == "drop":
        del records[draw(st.integers(0, n - 1))]
        return records
    if kind == "duplicate":
        i = draw(st.integers(0, n - 1))
        records.insert(i, records[i])
        return records
    if kind == "truncate":
        return records[: draw(st.integers(0, n - 1))]
    if kind == "forge_member":
        other = SigningKey(bytes(draw(st.binary(min_size=32, max_size=32))))
        return rechain(built, p, Payment(order.sign(other)))
    if kind == "spend_held":
        candidates = [q for q in pays if spend_held(built, q) is not None]
        if not candidates:
            return records
        changed_records = spend_held(built, draw(st.sampled_from(candidates)))
        assert changed_records is not None
        return changed_records
    if kind == "time_back":
        return rechain(built, p, payment, ts=built.entries[p].timestamp_ms - 5000)
    payer_key = built.members[order.payer]
    if kind == "overspend":
        changed = reorder(order, amount=draw(st.sampled_from([800, 2000, 10**12])))
    elif kind == "replay_nonce":
        changed = reorder(order, nonce=1)
    elif kind == "unknown_payee":
        changed = reorder(order, payee="nobody")
    elif kind == "pay_line_account":
        changed = reorder(order, payee="line-b")
    elif kind == "wrong_community":
        changed = reorder(order, community_id=bytes(32))
    else:  # two faults: a forged byte somewhere, and a rule broken somewhere else
        changed = reorder(order, amount=10**12)
        records = rechain(built, p, Payment(changed.sign(payer_key)))
        i = draw(st.integers(1, n - 1))
        data = bytearray(records[i][1])
        data[draw(st.integers(0, 63))] ^= 1
        records[i] = (records[i][0], bytes(data))
        return records
    return rechain(built, p, Payment(changed.sign(payer_key)))


def accounts(result: AuditResult) -> dict[str, object]:
    return {h: replace(a) for h, a in result.ledger.accounts.items()}


def assert_same(records: list[Record], pool: VerifyPool, batch_size: int) -> AuditResult:
    expected = audit_records(records)
    got = audit_parallel(records, pool, batch_size=batch_size)
    assert got.fault == expected.fault
    assert got.entries == expected.entries
    assert got.ledger.head == expected.ledger.head
    assert got.ledger.next_seq == expected.ledger.next_seq
    assert accounts(got) == accounts(expected)
    return got


@pytest.fixture(scope="module", params=["process", "thread", "inline"])
def pool(request: pytest.FixtureRequest) -> Iterator[VerifyPool]:
    with VerifyPool(request.param, 2) as pool:
        pool.warm_up()
        yield pool


# -- the same first fault as the reference ---------------------------------------------


@settings(max_examples=80, deadline=None)
@given(records=corrupted(), batch_size=st.sampled_from([1, 3, 7, 16, 2048]))
def test_engine_reports_the_reference_first_fault(
    pool: VerifyPool, records: list[Record], batch_size: int
) -> None:
    assert_same(records, pool, batch_size)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 5), batch_size=st.sampled_from([1, 5, 64]), federated=st.booleans())
def test_valid_ledgers_pass_with_the_reference_state(
    pool: VerifyPool, seed: int, batch_size: int, federated: bool
) -> None:
    built = build_federated(seed) if federated else build(seed)
    result = assert_same(built.records, pool, batch_size)
    assert result.ok


def test_federated_ledgers_have_holds_lines_and_refusals_to_exercise() -> None:
    kinds = {type(e.body).__name__ for s in range(6) for e in build_federated(s).entries}
    assert {"Hold", "Release", "LineAgreement", "Payment"} <= kinds


def test_a_forged_member_signature_is_the_fault_even_when_a_rule_breaks_later(
    pool: VerifyPool,
) -> None:
    built = build(1)
    first, later = payments(built)[2], payments(built)[-1]
    body = built.entries[first].body
    assert isinstance(body, Payment)
    records = rechain(built, first, Payment(body.order.sign(SigningKey(bytes(32)))))
    late = built.entries[later].body
    assert isinstance(late, Payment)
    broken = reorder(late.order, amount=10**12).sign(built.members[late.order.payer])
    tail = rechain(Built(built.node, built.members, _decoded(records)), later, Payment(broken))
    got = assert_same(tail, pool, 4)
    assert got.fault is not None
    assert (got.fault.seq, got.fault.code) == (first, "bad_signature")


def test_a_payment_that_fits_only_without_the_pending_holds_is_refused(
    pool: VerifyPool,
) -> None:
    faults = []
    for seed in range(6):
        built = build_federated(seed)
        for position in payments(built):
            records = spend_held(built, position)
            if records is not None:
                got = assert_same(records, pool, 8)
                assert got.fault is not None
                faults.append((got.fault.seq, got.fault.code))
                assert got.fault.seq == position
    assert faults and {code for _, code in faults} == {"below_floor"}


def test_an_empty_log_is_the_reference_empty_log_fault(pool: VerifyPool) -> None:
    got = assert_same([], pool, 8)
    assert got.fault is not None and got.fault.code == "empty_log"


def _decoded(records: list[Record]) -> tuple[Entry, ...]:
    return tuple(Entry.decode(d, s) for d, s in records)


# -- the source of records ---------------------------------------------------------------


def _then_fail(records: list[Record]) -> Iterator[Record]:
    yield from records
    raise DecodeError("the log is cut in the middle of a record")


def test_an_error_of_the_source_propagates_when_nothing_before_it_is_at_fault(
    pool: VerifyPool,
) -> None:
    with pytest.raises(DecodeError, match="cut in the middle"):
        audit_parallel(_then_fail(build(2).records), pool, batch_size=5)


def test_an_earlier_fault_wins_over_an_error_of_the_source(pool: VerifyPool) -> None:
    records = build(2).records
    records[3] = (records[3][0], bytes(64))
    expected = audit_records(_then_fail(records))
    got = audit_parallel(_then_fail(records), pool, batch_size=5)
    assert got.fault == expected.fault
    assert got.fault is not None and got.fault.seq == 3


# -- the lean decoder and the worker function --------------------------------------------


def test_a_valid_log_scans_unflagged_with_two_jobs_a_payment() -> None:
    built = build(0)
    batch = Replayer().scan(built.records)
    assert batch.flagged is None
    assert len(batch.positions) == len(built.records) + len(payments(built))


def test_odd_encodings_the_reference_accepts_are_left_to_the_reference_decoder(
    pool: VerifyPool,
) -> None:
    # The reference accepts version ``true`` (True == 1): the lean decoder must not guess.
    built = build(3)
    last = built.entries[-1]
    while not isinstance(last.body, Payment):
        built = Built(built.node, built.members, built.entries[:-1])
        last = built.entries[-1]
    wire = [ENTRY_TYPE, True, last.seq, last.prev, last.timestamp_ms, last.body.to_wire()]
    data = codec.pack(wire)
    records = [*built.records[:-1], (data, built.node.sign(DOMAIN_ENTRY, data))]
    assert assert_same(records, pool, 3).ok


def test_bad_signatures_names_exactly_the_failing_jobs() -> None:
    key = SigningKey(bytes(range(32)))
    good = key.sign(b"d", b"message") + b"d" + b"message"
    bad = bytes(64) + b"d" + b"message"
    assert bad_signatures([key.public] * 4, [good, bad, good, bad[:10]]) == [1, 3]
    assert bad_signatures([b"short", key.public], [good, good]) == [0]


# -- data folders, files and checkpoints -------------------------------------------------


def make_folder(path: Path, payments_count: int = 30) -> Path:
    community = Community.create(
        path, name="Folder", short="folder", unit="HOUR", scale=2, floor=-1000, ceiling=None
    )
    try:
        for handle in ("ana", "bo", "cy"):
            community.admit(handle)
        rng = random.Random(7)
        for _ in range(payments_count):
            payer, payee = rng.sample(["ana", "bo", "cy"], 2)
            community.pay(community.sign_order(payer, payee, rng.randint(1, 90)))
    finally:
        community.close()
    return path


def pay_more(path: Path, count: int) -> None:
    with Community.opened(path) as community:
        for i in range(count):
            payer, payee = ("ana", "bo") if i % 2 else ("bo", "cy")
            community.pay(community.sign_order(payer, payee, 5))


def test_folder_and_file_audits_match_the_reference(tmp_path: Path, pool: VerifyPool) -> None:
    folder = make_folder(tmp_path / "d")
    report = audit_path(folder, pool=pool)
    with Community.opened(folder) as c:
        expected = audit_records(c.store.records())
        export_log(c.store, c.ledger, tmp_path / "log.bin")
    assert report.ok and report.entries == expected.entries
    assert report.head == expected.ledger.head
    from_file = audit_path(tmp_path / "log.bin", pool=pool)
    assert from_file.ok and from_file.entries == expected.entries


def test_an_audit_since_a_checkpoint_verifies_only_the_new_entries(
    tmp_path: Path, pool: VerifyPool
) -> None:
    folder = make_folder(tmp_path / "d")
    written = audit_folder(folder, write_checkpoint=True, pool=pool)
    assert written.ok and written.checkpoint_written == written.entries - 1
    pay_more(folder, 7)
    full = audit_folder(folder, pool=pool)
    since = audit_folder(folder, since_checkpoint=True, pool=pool)
    assert since.ok and full.ok
    assert (since.entries, since.head, since.accounts) == (full.entries, full.head, full.accounts)
    assert since.checkpoint_seq == written.entries - 1
    assert since.verified == 7


def test_a_checkpoint_with_altered_balances_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "d")
    assert audit_folder(folder, write_checkpoint=True).ok
    with Community.opened(folder) as c:
        found = latest_checkpoint(c.store.conn)
        assert found is not None
        seq, signed = found
        altered = c.ledger
        altered.accounts["ana"].balance += 50
        altered.accounts["bo"].balance -= 50
        state = encode_state(altered)
        save_checkpoint(c.store.conn, seq, replace(signed, state=state), 0)
    report = audit_folder(folder, since_checkpoint=True)
    assert report.fault is not None and report.fault.code == "bad_checkpoint"
    assert "digest" in report.fault.reason
    with Community.opened(folder) as c:
        # A consistent digest does not help without the node key.
        data = replace(Checkpoint.decode(signed.data), state_digest=state_digest(state)).encode()
        save_checkpoint(c.store.conn, seq, SignedCheckpoint(data, signed.signature, state), 0)
    report = audit_folder(folder, since_checkpoint=True)
    assert report.fault is not None and report.fault.code == "bad_checkpoint"
    assert "not signed" in report.fault.reason


def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "d")
    assert audit_folder(folder, write_checkpoint=True).ok
    with Community.opened(folder) as c:
        found = latest_checkpoint(c.store.conn)
        assert found is not None
        seq, signed = found
        stranger = SigningKey(bytes(range(32)))
        forged = replace(signed, signature=stranger.sign(DOMAIN_CHECKPOINT, signed.data))
        save_checkpoint(c.store.conn, seq, forged, 0)
    report = audit_folder(folder, since_checkpoint=True)
    assert report.fault is not None and report.fault.code == "bad_checkpoint"


def test_a_changed_entry_before_the_checkpoint_is_caught_by_the_prefix_hash(
    tmp_path: Path,
) -> None:
    folder = make_folder(tmp_path / "d")
    assert audit_folder(folder, write_checkpoint=True).ok
    with Community.opened(folder) as c:
        (data,) = c.store.conn.execute("SELECT data FROM log WHERE seq = 10").fetchone()
        tampered = bytearray(data)
        tampered[-3] ^= 1
        c.store.conn.execute("UPDATE log SET data = ? WHERE seq = 10", (bytes(tampered),))
    report = audit_folder(folder, since_checkpoint=True)
    assert report.fault is not None
    assert (report.fault.seq, report.fault.code) == (11, "checkpoint_mismatch")


def test_a_log_shorter_than_its_checkpoint_is_caught(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "d")
    assert audit_folder(folder, write_checkpoint=True).ok
    with Community.opened(folder) as c:
        c.store.conn.execute("DELETE FROM log WHERE seq >= 20")
    report = audit_folder(folder, since_checkpoint=True)
    assert report.fault is not None and report.fault.code == "checkpoint_beyond_log"


def test_a_full_audit_ignores_checkpoints(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "d")
    assert audit_folder(folder, write_checkpoint=True).ok
    with Community.opened(folder) as c:
        c.store.conn.execute("UPDATE checkpoints SET state = x'00'")
    assert audit_folder(folder).ok


def write_folder(path: Path, built: Built, entries: tuple[Entry, ...]) -> None:
    """Store ``entries`` (a prefix or the rest of ``built``) in the data folder ``path``."""
    path.mkdir(exist_ok=True)
    key_file = path / NODE_KEY
    if not key_file.exists():
        key_file.write_bytes(built.node.seed)
    db = connect(path / DB_NAME)
    try:
        store = LedgerStore(db)
        ledger = store.load() or Ledger()
        for entry in entries:
            ledger.apply(entry)
            store.commit([entry], ledger)
    finally:
        db.conn.close()


def test_a_checkpoint_carries_holds_and_lines_to_the_entries_after_it(tmp_path: Path) -> None:
    built = build_federated(2)
    releases = [i for i, e in enumerate(built.entries) if isinstance(e.body, Release)]
    middle = releases[len(releases) // 2]  # holds are pending here, released after
    folder = tmp_path / "fed"
    write_folder(folder, built, built.entries[:middle])
    written = audit_folder(folder, write_checkpoint=True)
    assert written.ok, written.fault
    write_folder(folder, built, built.entries[middle:])
    since = audit_folder(folder, since_checkpoint=True)
    full = audit_folder(folder)
    assert since.ok and full.ok, (since.fault, full.fault)
    assert since.verified_from == middle
    assert (since.entries, since.head) == (full.entries, full.head)
