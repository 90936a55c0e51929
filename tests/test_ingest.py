"""The ingest path: concurrent payments through one writer, group commit, durability."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from letsnode.audit.pool import VerifyPool
from letsnode.audit.runner import audit_folder
from letsnode.community.folder import DB_NAME, Community
from letsnode.core.crypto import SigningKey
from letsnode.core.errors import BadSignature, InvalidInput, LedgerRefusal, LetsError
from letsnode.core.wire.entries import Admit, Entry, Genesis, Order, SignedOrder, Status
from letsnode.node.ingest import LedgerWriter, WriteFailed, WriterClosed, open_ledger_writer

HANDLES = [f"member-{i}" for i in range(6)]


@pytest.fixture(scope="module", params=["process", "inline"])
def pool(request: pytest.FixtureRequest) -> Iterator[VerifyPool]:
    with VerifyPool(request.param, 2) as pool:
        pool.warm_up()
        yield pool


@pytest.fixture
def community(tmp_path: Path) -> Iterator[Community]:
    c = Community.create(
        tmp_path / "d",
        name="Ingest",
        short="ingest",
        unit="HOUR",
        scale=2,
        floor=-10_000,
        ceiling=None,
    )
    for handle in HANDLES:
        c.admit(handle)
    try:
        yield c
    finally:
        c.close()


def keys_of(c: Community) -> dict[str, SigningKey]:
    return {h: SigningKey(c.member_key_path(h).read_bytes()) for h in c.ledger.accounts}


def order(
    c: Community, keys: dict[str, SigningKey], payer: str, payee: str, amount: int, nonce: int
) -> SignedOrder:
    return Order(c.genesis.community_id, payer, payee, amount, nonce, "").sign(keys[payer])


def snapshot(c: Community) -> tuple[int, bytes, dict[str, tuple[int, int, str]]]:
    ledger = c.ledger
    state = {h: (a.balance, a.last_nonce, a.status) for h, a in ledger.accounts.items()}
    return ledger.next_seq, ledger.head, state


@contextmanager
def write_lock_held(c: Community) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock from another connection: the writer's next commit waits
    (busy timeout) until the block ends, so requests pile up into one batch meanwhile."""
    other = sqlite3.connect(c.path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


async def until_queued(writer: LedgerWriter, count: int) -> None:
    while writer.queued < count:
        await trio.sleep(0.001)


async def until_applied(c: Community, next_seq: int) -> None:
    while c.ledger.next_seq < next_seq:
        await trio.sleep(0.001)


def reopened(c: Community) -> tuple[int, bytes, dict[str, tuple[int, int, str]]]:
    with Community.opened(c.path) as again:
        return snapshot(again)


async def test_concurrent_payments_are_all_durable_and_in_order(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    start = community.ledger.next_seq
    done: dict[str, list[Entry]] = {h: [] for h in HANDLES}

    async def payer(index: int) -> None:
        handle = HANDLES[index]
        for nonce in range(1, 21):
            payee = HANDLES[(index + nonce) % len(HANDLES)]
            if payee == handle:
                payee = HANDLES[(index + 1) % len(HANDLES)]
            signed = order(community, keys, handle, payee, 10 + nonce, nonce)
            done[handle].append(await writer.pay(signed))

    async with (
        open_ledger_writer(community, pool=pool) as writer,
        trio.open_nursery() as nursery,
    ):
        for i in range(len(HANDLES)):
            nursery.start_soon(payer, i)
    entries = [e for es in done.values() for e in es]
    assert sorted(e.seq for e in entries) == list(range(start, start + 120))
    for es in done.values():  # each payer's payments were logged in its own order
        assert [e.seq for e in es] == sorted(e.seq for e in es)
    assert writer.stats.entries == 120 and writer.stats.batches <= 120
    stored = dict(
        community.store.conn.execute(
            "SELECT seq, data FROM log WHERE seq >= ?", (start,)
        ).fetchall()
    )
    assert {e.seq: e.data for e in entries} == stored
    assert reopened(community) == snapshot(community)
    assert community.ledger.total() == 0


async def test_refused_orders_in_a_batch_leave_the_others_and_the_state_alone(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    outcomes: dict[str, Entry | LetsError] = {}

    async def attempt(name: str, signed: SignedOrder) -> None:
        try:
            outcomes[name] = await writer.pay(signed)
        except LetsError as err:
            outcomes[name] = err

    async with open_ledger_writer(community, pool=pool) as writer:
        await writer.submit(Status("member-5", "frozen"))
        before = snapshot(community)
        good = {
            "good-0": order(community, keys, "member-0", "member-1", 100, 1),
            "good-1": order(community, keys, "member-2", "member-3", 200, 1),
            "good-2": order(community, keys, "member-0", "member-3", 50, 2),
        }
        bad = {
            "below_floor": order(community, keys, "member-4", "member-1", 10_002, 1),
            "account_frozen": order(community, keys, "member-5", "member-1", 1, 1),
            "replayed_order": order(community, keys, "member-2", "member-1", 1, 1),
        }
        async with trio.open_nursery() as nursery:
            with write_lock_held(community):
                nursery.start_soon(
                    attempt, "first", order(community, keys, "member-3", "member-4", 1, 1)
                )
                await until_applied(community, before[0] + 1)  # its commit waits for the lock
                nursery.start_soon(attempt, "good-0", good["good-0"])
                await until_applied(community, before[0] + 2)  # applied, waits its turn
                names = ["good-1", "below_floor", "account_frozen", "good-2", "replayed_order"]
                for i, name in enumerate(names):  # one at a time: the log order is this one
                    nursery.start_soon(attempt, name, {**good, **bad}[name])
                    await until_queued(writer, i + 1)
        # The freeze, the first payment, the next one (applied while the first commits),
        # then the five that queued meanwhile, refusals and all, in one batch.
        assert writer.stats.batches == 4
    for name in bad:
        outcome = outcomes[name]
        assert isinstance(outcome, LedgerRefusal) and outcome.code == name
    assert all(isinstance(outcomes[name], Entry) for name in [*good, "first"])
    seq, _, state = snapshot(community)
    assert seq == before[0] + 4
    expected = dict(before[2])
    expected["member-0"] = (-150, 2, "active")
    expected["member-1"] = (100, 0, "active")
    expected["member-2"] = (-200, 1, "active")
    expected["member-3"] = (249, 1, "active")
    expected["member-4"] = (1, 0, "active")
    assert state == expected
    assert reopened(community) == snapshot(community)


async def test_a_forged_signature_is_refused_and_changes_nothing(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    forged = Order(community.genesis.community_id, "member-0", "member-1", 5, 1, "").sign(
        keys["member-2"]
    )
    before = snapshot(community)
    async with open_ledger_writer(community, pool=pool) as writer:
        with pytest.raises(BadSignature, match="not signed by member-0's key"):
            await writer.pay(forged)
    assert snapshot(community) == before == reopened(community)


async def test_a_payer_admitted_just_ahead_is_checked_by_the_writer(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    newcomer = SigningKey(bytes(range(32)))
    impostor = SigningKey(bytes(range(1, 33)))
    cid = community.genesis.community_id
    results: dict[str, Entry | LetsError] = {}

    async def pay(name: str, key: SigningKey) -> None:
        try:
            results[name] = await writer.pay(Order(cid, "newcomer", "member-0", 5, 1, "").sign(key))
        except LetsError as err:
            results[name] = err

    start = community.ledger.next_seq
    async with (
        open_ledger_writer(community, pool=pool) as writer,
        trio.open_nursery() as nursery,
    ):
        with write_lock_held(community):
            nursery.start_soon(writer.pay, order(community, keys, "member-1", "member-2", 1, 1))
            await until_applied(community, start + 1)  # its commit waits for the lock
            nursery.start_soon(writer.pay, order(community, keys, "member-2", "member-3", 1, 1))
            await until_applied(community, start + 2)  # applied, waits for that commit
            admit = Admit("newcomer", newcomer.public, "member", -50, None)
            nursery.start_soon(writer.submit, admit)
            await until_queued(writer, 1)
            # The newcomer is not in the ledger yet: these skip the early check.
            nursery.start_soon(pay, "impostor", impostor)
            await until_queued(writer, 2)
            nursery.start_soon(pay, "genuine", newcomer)
            await until_queued(writer, 3)
    assert isinstance(results["impostor"], BadSignature)
    assert isinstance(results["genuine"], Entry)
    assert community.ledger.accounts["newcomer"].balance == -5
    assert reopened(community) == snapshot(community)


async def test_state_after_reopening_equals_state_in_memory_and_audit_passes(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    async with (
        open_ledger_writer(community, pool=pool) as writer,
        trio.open_nursery() as nursery,
    ):
        for i, handle in enumerate(HANDLES):
            payee = HANDLES[(i + 1) % len(HANDLES)]
            nursery.start_soon(writer.pay, order(community, keys, handle, payee, 7, 1))
        nursery.start_soon(writer.submit, Admit("late", bytes(range(32)), "member", 0, None))
    assert reopened(community) == snapshot(community)
    report = audit_folder(community.path, pool=pool)
    assert report.ok and report.entries == community.ledger.next_seq


async def test_a_failed_commit_fails_its_batch_and_reloads_the_state(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    before = snapshot(community)
    # Another writer took the next payment row: the batch's transaction must fail whole.
    blocker = sqlite3.connect(community.path / DB_NAME)
    blocker.execute("INSERT INTO payments VALUES (?, 0, 'x', 'y', 1, 1, '')", (before[0],))
    blocker.commit()
    async with open_ledger_writer(community, pool=pool) as writer:
        with pytest.raises(WriteFailed, match="not stored"):
            await writer.pay(order(community, keys, "member-0", "member-1", 3, 1))
        assert snapshot(community) == before == reopened(community)
        blocker.execute("DELETE FROM payments WHERE payer = 'x'")
        blocker.commit()
        blocker.close()
        entry = await writer.pay(order(community, keys, "member-0", "member-1", 3, 1))
    assert entry.seq == before[0]
    assert reopened(community) == snapshot(community)


async def test_the_genesis_cannot_be_submitted_again(
    community: Community, pool: VerifyPool
) -> None:
    async with open_ledger_writer(community, pool=pool) as writer:
        with pytest.raises(InvalidInput):
            await writer.submit(community.genesis)
    assert isinstance(community.genesis, Genesis)


async def test_a_cancelled_caller_leaves_the_writer_working(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    async with open_ledger_writer(community, pool=pool) as writer:
        with trio.move_on_after(0):
            await writer.pay(order(community, keys, "member-0", "member-1", 3, 1))
        entry = await writer.pay(order(community, keys, "member-2", "member-1", 3, 1))
        assert entry.seq >= 7
    assert reopened(community) == snapshot(community)


async def test_leaving_on_an_error_fails_the_callers_still_waiting(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    outcomes: list[object] = []

    async def pay(nonce: int) -> None:
        signed = order(community, keys, "member-0", "member-1", 1, nonce)
        try:
            outcomes.append(await writer.pay(signed))
        except LetsError as err:
            outcomes.append(err)

    async with trio.open_nursery() as outside:
        with pytest.raises(RuntimeError, match="boom"):
            async with open_ledger_writer(community, pool=pool) as writer:
                outside.start_soon(pay, 1)
                await trio.testing.wait_all_tasks_blocked()
                raise RuntimeError("boom")
    assert len(outcomes) == 1 and isinstance(outcomes[0], Entry | WriterClosed)
    assert reopened(community) == snapshot(community)
    with pytest.raises(WriterClosed):
        await writer.pay(order(community, keys, "member-0", "member-1", 1, 9))


async def test_the_default_pool_starts_and_stops_with_the_writer(community: Community) -> None:
    keys = keys_of(community)
    async with open_ledger_writer(community) as writer:
        entry = await writer.pay(order(community, keys, "member-0", "member-1", 3, 1))
        with pytest.raises(BadSignature):
            await writer.pay(
                Order(community.genesis.community_id, "member-1", "member-0", 1, 1, "").sign(
                    keys["member-0"]
                )
            )
    assert entry.seq == 7
    assert reopened(community) == snapshot(community)


async def test_the_writer_makes_the_entry_ledger_append_would_make(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    prev = community.ledger.head
    async with open_ledger_writer(community, pool=pool) as writer:
        entry = await writer.pay(order(community, keys, "member-0", "member-1", 3, 1))
    again = Entry.create(community.key, entry.seq, prev, entry.timestamp_ms, entry.body)
    assert entry == again


async def test_a_failed_commit_also_fails_the_batch_applied_behind_it(
    community: Community, pool: VerifyPool
) -> None:
    keys = keys_of(community)
    before = snapshot(community)
    outcomes: list[Entry | LetsError] = []

    async def attempt(signed: SignedOrder) -> None:
        try:
            outcomes.append(await writer.pay(signed))
        except LetsError as err:
            outcomes.append(err)

    blocker = sqlite3.connect(community.path / DB_NAME)
    blocker.execute("INSERT INTO payments VALUES (?, 0, 'x', 'y', 1, 1, '')", (before[0],))
    blocker.commit()
    blocker.close()
    async with (
        open_ledger_writer(community, pool=pool) as writer,
        trio.open_nursery() as nursery,
    ):
        with write_lock_held(community):
            nursery.start_soon(attempt, order(community, keys, "member-0", "member-1", 3, 1))
            await until_applied(community, before[0] + 1)
            nursery.start_soon(attempt, order(community, keys, "member-2", "member-1", 3, 1))
            await until_applied(community, before[0] + 2)  # built on the first, not stored
    assert len(outcomes) == 2 and all(isinstance(o, WriteFailed) for o in outcomes)
    assert snapshot(community) == before == reopened(community)
