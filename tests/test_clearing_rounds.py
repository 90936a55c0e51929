"""Clearing rounds between four communities on the in-memory transport (real SQLite)."""

from __future__ import annotations

import pytest
import trio

from letsnode.core.audit import audit_records
from letsnode.core.errors import LetsError
from letsnode.federation.service import FederationConfig
from letsnode.net.memory import MemoryNetwork, memory_addr
from letsnode.store.clearing_store import ClearingStore
from tests.fed_harness import FedNode, Restartable, adverts_settled, federation, open_line

RING = ["a", "b", "c", "d"]
# Who pays whom around the ring a -> b -> c -> d -> a: the cycle clears 40.00 on each line.
DEBTS = {("a", "b"): 10_000, ("b", "c"): 7_000, ("c", "d"): 8_000, ("d", "a"): 4_000}


def mirrors(nodes: dict[str, FedNode]) -> dict[tuple[str, str], int]:
    out = {}
    for name, node in nodes.items():
        ledger = node.community.ledger
        for line in ledger.lines.values():
            out[(name, line.handle.removeprefix("line-"))] = ledger.accounts[line.handle].balance
    return out


def net_positions(nodes: dict[str, FedNode]) -> dict[str, int]:
    return {
        name: sum(
            node.community.ledger.accounts[x.handle].balance
            for x in node.community.ledger.lines.values()
        )
        for name, node in nodes.items()
    }


def members(nodes: dict[str, FedNode]) -> dict[str, int]:
    return {name: node.community.account(f"m-{name}").balance for name, node in nodes.items()}


def check_consistent(nodes: dict[str, FedNode]) -> None:
    m = mirrors(nodes)
    for (x, y), balance in m.items():
        assert balance == -m[(y, x)], (x, y)
    for node in nodes.values():
        ledger = node.community.ledger
        assert ledger.total() == 0 and not ledger.holds
        replay = audit_records(node.community.store.records())
        assert replay.ok, replay.fault
        assert replay.ledger.accounts == ledger.accounts


async def ring(nodes: dict[str, FedNode]) -> None:
    for x, y in zip(RING, RING[1:] + RING[:1], strict=True):
        await open_line(nodes[x], nodes[y], 20_000, 20_000)
    await adverts_settled(list(nodes.values()))
    for (x, y), amount in DEBTS.items():
        outcome = await nodes[x].federation.transfers.pay(
            *nodes[x].order(f"m-{x}", nodes[y].id, f"m-{y}", amount)
        )
        assert outcome.state == "fulfilled", outcome
    await adverts_settled(list(nodes.values()))


async def test_a_round_clears_the_cycle_and_leaves_every_net_position(tmp_path, autojump_clock):
    async with federation(tmp_path, RING) as (_, n):
        await ring(n)
        before, nets, people = mirrors(n), net_positions(n), members(n)
        report = await n["a"].federation.clearing.run_round()
        assert (report.state, report.cleared, report.communities) == ("committed", 16_000, 4)
        assert set(report.participants) == {n[x].id for x in RING}
        with trio.fail_after(10):  # the commit reaches the others right after the decision
            while not all(x.federation.clearing.applied(report.round_id) for x in n.values()):
                await trio.sleep(0.1)
        after = mirrors(n)
        for (x, y), amount in DEBTS.items():
            assert after[(x, y)] == before[(x, y)] - 4_000 == amount - 4_000
        assert net_positions(n) == nets and members(n) == people
        check_consistent(n)
        for name, node in n.items():
            rows = ClearingStore(node.community.store.conn).rounds()
            assert [(r.state, r.cleared) for r in rows] == [("committed", 16_000)], name
            assert node.community.store.cleared_rounds()[0][0] == report.round_id
        # The lines regained room: a can now pay b what it could not before.
        n["a"].community.set_limits("m-a", -50_000, 50_000)
        n["b"].community.set_limits("m-b", -50_000, 50_000)
        outcome = await n["a"].federation.transfers.pay(
            *n["a"].order("m-a", n["b"].id, "m-b", 13_000)
        )
        assert outcome.state == "fulfilled", outcome
        again = await n["c"].federation.clearing.run_round()
        assert again.state in ("committed", "empty")


async def test_a_community_that_refuses_aborts_the_round_and_nothing_changes(
    tmp_path, autojump_clock
):
    async with federation(tmp_path, RING) as (_, n):
        await ring(n)
        ClearingStore(n["c"].community.store.conn).set_policy("refuse")
        before = {x: node.community.store.entry_count() for x, node in n.items()}
        balances = mirrors(n)
        report = await n["a"].federation.clearing.run_round()
        assert report.state == "aborted" and "clearing_refused" in report.reason
        await trio.sleep(2)
        assert mirrors(n) == balances
        assert {x: node.community.store.entry_count() for x, node in n.items()} == before
        for node in n.values():  # nobody keeps its lines held for a round that is over
            assert not node.federation.clearing._reserved
        outcome = await n["b"].federation.transfers.pay(*n["b"].order("m-b", n["c"].id, "m-c", 100))
        assert outcome.state == "fulfilled", outcome
        refused = ClearingStore(n["c"].community.store.conn).rounds()
        assert refused[0].state == "refused" and "operator" in refused[0].reason
        check_consistent(n)


async def test_a_participant_cut_off_after_voting_applies_the_round_once_healed(
    tmp_path, autojump_clock
):
    async with federation(tmp_path, RING) as (network, n):
        await ring(n)
        nets = net_positions(n)
        b = n["b"].federation.clearing
        coordinator = n["a"].federation.clearing
        tell_commit = coordinator._tell_commit

        async def lose_touch_then_tell(*args):
            network.partition(n["a"].id, n["b"].id)  # every vote is in; b misses the commit
            await tell_commit(*args)

        coordinator._tell_commit = lose_touch_then_tell
        report = await n["a"].federation.clearing.run_round()
        assert report.state == "committed"
        await trio.sleep(3)
        assert not b.applied(report.round_id)
        # In doubt, b holds its lines still: no new transfer over them.
        with pytest.raises(LetsError) as err:
            await n["b"].federation.transfers.pay(*n["b"].order("m-b", n["c"].id, "m-c", 100))
        assert err.value.code == "clearing_in_progress"
        network.heal_all()
        with trio.fail_after(30):
            while not b.applied(report.round_id):
                await trio.sleep(0.2)
        assert net_positions(n) == nets
        check_consistent(n)
        assert not b._reserved


async def test_a_coordinator_stopped_mid_round_aborts_it_after_restart(tmp_path, autojump_clock):
    network = MemoryNetwork()
    config = FederationConfig(advert_interval_s=2.0, tick_s=0.2)
    async with federation(tmp_path, ["b", "c", "d"], network) as (_, n):
        a = Restartable(tmp_path, "a", network, config)
        async with trio.open_nursery() as nursery:
            await nursery.start(a.run)
            assert a.node is not None
            n["a"] = a.node
            await a.node.federation.transport.connect(memory_addr(n["b"].id))
            await ring(n)
            balances, counts = (
                mirrors(n),
                {x: v.community.store.entry_count() for x, v in n.items()},
            )
            d = n["d"].federation.clearing
            vote = d.vote
            round_scope = trio.CancelScope()

            async def vote_then_coordinator_dies(*args):
                d.vote = vote
                sig = await vote(*args)
                round_scope.cancel()  # a has asked for every vote and decided nothing
                a.crash()
                return sig

            async def coordinate(node: FedNode) -> None:
                with round_scope:
                    await node.federation.clearing.run_round()

            d.vote = vote_then_coordinator_dies
            await coordinate(a.node)
            assert round_scope.cancelled_caught
            await trio.sleep(1)
            assert d._reserved  # d voted and waits for the decision
            await nursery.start(a.run)
            assert a.node is not None
            n["a"] = a.node
            with trio.fail_after(30):
                while any(x.federation.clearing._reserved for x in n.values()):
                    await trio.sleep(0.2)
            assert mirrors(n) == balances
            assert {x: v.community.store.entry_count() for x, v in n.items()} == counts
            rows = ClearingStore(a.node.community.store.conn).rounds()
            assert rows[0].state == "aborted" and "stopped" in rows[0].reason
            await adverts_settled(list(n.values()))
            report = await a.node.federation.clearing.run_round()
            assert report.state == "committed"
            check_consistent(n)
            nursery.cancel_scope.cancel()


async def test_a_participant_silent_after_its_statement_aborts_the_round(tmp_path, autojump_clock):
    async with federation(tmp_path, RING) as (network, n):
        await ring(n)
        balances = mirrors(n)
        counts = {x: node.community.store.entry_count() for x, node in n.items()}
        coordinator = n["a"].federation.clearing
        collect = coordinator._collect

        async def collect_then_lose_c(*args):
            found = await collect(*args)
            for x in "abd":  # c stated its lines, and then nobody hears from it
                network.partition(n[x].id, n["c"].id)
            return found

        coordinator._collect = collect_then_lose_c
        report = await coordinator.run_round(timeout_s=6)
        assert report.state == "aborted" and " c " in f" {report.reason} ", report.reason
        network.heal_all()
        await trio.sleep(5)
        assert mirrors(n) == balances
        assert {x: node.community.store.entry_count() for x, node in n.items()} == counts
        assert not any(node.federation.clearing._reserved for node in n.values())
        check_consistent(n)


async def test_an_operator_cannot_change_a_line_held_for_a_round(tmp_path, autojump_clock):
    async with federation(tmp_path, RING) as (network, n):
        await ring(n)
        coordinator = n["a"].federation.clearing
        tell_commit = coordinator._tell_commit

        async def lose_touch_then_tell(*args):
            network.partition(n["a"].id, n["b"].id)
            await tell_commit(*args)

        coordinator._tell_commit = lose_touch_then_tell
        report = await coordinator.run_round()
        assert report.state == "committed"
        with pytest.raises(LetsError) as err:  # b is in doubt: its lines are held
            await n["b"].federation.lines.lower(n["c"].id, 1_000)
        assert err.value.code == "clearing_in_progress"
        network.heal_all()
        with trio.fail_after(30):
            while not n["b"].federation.clearing.applied(report.round_id):
                await trio.sleep(0.2)
        await n["b"].federation.lines.lower(n["c"].id, 15_000)
        check_consistent(n)
