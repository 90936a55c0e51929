"""Property: over random topologies, payments, message loss and partitions, every ledger
stays sound, the mirrors of every line agree once transfers finish, and no leg outlives
its expiry. Real node code (Federation, Community, SQLite) on the in-memory transport, on
a virtual clock."""

import random
import tempfile
from pathlib import Path

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from letsnode.core.audit import audit_records
from letsnode.core.wire.lines import TRANSIT
from letsnode.net.memory import MemoryNetwork
from tests.fed_harness import adverts_settled, federation, open_line

NAMES = ["a", "b", "c", "d", "e"]


@st.composite
def scenarios(draw):
    n = draw(st.integers(3, 5))
    edges = {(i - 1, i) for i in range(1, n)}  # a chain keeps everyone reachable
    for _ in range(draw(st.integers(0, 3))):
        i, j = sorted(draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
        edges.add((i, j))
    limits = {e: draw(st.integers(200, 3000)) for e in sorted(edges)}
    payments = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1), st.integers(0, n - 1), st.integers(1, 600), st.floats(0, 5)
            ),
            min_size=1,
            max_size=12,
        )
    )
    return {
        "n": n,
        "limits": limits,
        "payments": [p for p in payments if p[0] != p[1]],
        "drop": draw(st.sampled_from([0.0, 0.0, 0.05, 0.15])),
        "latency": draw(st.sampled_from([0.0, 0.01, 0.2])),
        "cuts": draw(
            st.lists(
                st.tuples(
                    st.integers(0, n - 1),
                    st.integers(0, n - 1),
                    st.floats(0, 4),
                    st.floats(0.5, 20),
                ),
                max_size=2,
            )
        ),
        "seed": draw(st.integers(0, 2**32)),
    }


async def play(tmp: Path, sc: dict) -> None:
    names = NAMES[: sc["n"]]
    network = MemoryNetwork(seed=sc["seed"])
    async with federation(tmp, names, network) as (_, nodes):
        fed = [nodes[x] for x in names]
        for node in fed:
            node.community.set_limits(f"m-{node.community.genesis.short}", -5000, 5000)
        for (i, j), limit in sc["limits"].items():
            await open_line(fed[i], fed[j], limit, limit)
        await adverts_settled(fed)
        network.set_drop_rate(sc["drop"])
        network.set_latency(sc["latency"])
        outcomes = []

        async def pay(i, j, amount, delay):
            await trio.sleep(delay)
            payer = fed[i]
            try:
                outcomes.append(
                    (
                        i,
                        await payer.federation.transfers.pay(
                            *payer.order(f"m-{names[i]}", fed[j].id, f"m-{names[j]}", amount)
                        ),
                    )
                )
            except Exception as err:  # refusals before any hold: no route, unreachable payee
                assert getattr(err, "code", None), err

        async def cut(i, j, at, length):
            if i == j:
                return
            await trio.sleep(at)
            network.partition(fed[i].id, fed[j].id)
            await trio.sleep(length)
            network.heal(fed[i].id, fed[j].id)

        async with trio.open_nursery() as nursery:
            for p in sc["payments"]:
                nursery.start_soon(pay, *p)
            for c in sc["cuts"]:
                nursery.start_soon(cut, *c)
        network.heal_all()
        network.set_drop_rate(0.0)
        with trio.fail_after(600):  # every leg finishes once the network is whole again
            while any(n.community.ledger.holds for n in fed):
                await trio.sleep(1)
        check(fed, outcomes, names)


def check(fed, outcomes, names):
    by_id = {n.id: n for n in fed}
    for node in fed:
        ledger = node.community.ledger
        assert ledger.total() == 0
        for a in ledger.accounts.values():
            assert a.floor <= a.balance and (a.ceiling is None or a.balance <= a.ceiling)
            assert a.held_in == a.held_out == 0
        if TRANSIT in ledger.accounts:
            assert ledger.accounts[TRANSIT].balance <= 0  # only a forwarder's own loss
        replay = audit_records(node.community.store.records())
        assert replay.ok, replay.fault
        assert replay.ledger.accounts == ledger.accounts
        for line in ledger.lines.values():
            partner = by_id[line.partner].community.ledger
            mine = ledger.accounts[line.handle].balance
            theirs = partner.accounts[f"line-{ledger.community.short}"].balance
            assert mine == -theirs, (ledger.community.short, line.handle)
    for i, name in enumerate(names):
        paid = sum(o.amount for j, o in outcomes if j == i and o.state == "fulfilled")
        assert (
            fed[i]
            .community.store.conn.execute(
                "SELECT coalesce(sum(amount), 0) FROM holds WHERE role = 'out' AND state = "
                "'settled' AND debit = ?",
                (f"m-{name}",),
            )
            .fetchone()[0]
            == paid
        )


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_random_federations_keep_every_invariant(sc):
    random.seed(sc["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        trio.run(play, Path(tmp), sc, clock=trio.testing.MockClock(autojump_threshold=0))
