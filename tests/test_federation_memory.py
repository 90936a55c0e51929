"""Lines and cross-community payments between nodes on the in-memory transport."""

import pytest
import trio

from tests.fed_harness import cut_then_heal, federation, open_line


async def test_a_line_is_agreed_by_both_and_pays_across_it(tmp_path, autojump_clock):
    async with federation(tmp_path, ["a", "b"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 300)
        a, b = n["a"].community, n["b"].community
        assert (a.account("line-b").floor, a.account("line-b").ceiling) == (-300, 500)
        assert (b.account("line-a").floor, b.account("line-a").ceiling) == (-500, 300)
        outcome = await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["b"].id, "m-b", 120))
        assert outcome.state == "fulfilled", outcome
        assert a.account("m-a").balance == -120 and b.account("m-b").balance == 120
        assert a.account("line-b").balance == -b.account("line-a").balance == 120


async def test_a_payment_crosses_two_lines_through_a_third_community(tmp_path, autojump_clock):
    async with federation(tmp_path, ["a", "b", "c"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 500)
        await open_line(n["b"], n["c"], 500, 500)
        outcome = await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["c"].id, "m-c", 75))
        assert outcome.state == "fulfilled", outcome
        a, b, c = (n[x].community for x in "abc")
        assert c.account("m-c").balance == 75 and a.account("m-a").balance == -75
        assert a.account("line-b").balance == -b.account("line-a").balance
        assert b.account("line-c").balance == -c.account("line-b").balance
        assert b.account("transit").balance == 0
        for x in (a, b, c):
            assert not x.ledger.holds and x.ledger.total() == 0


async def test_a_payment_beyond_the_line_limit_finds_no_route_and_holds_nothing(
    tmp_path, autojump_clock
):
    from letsnode.core.errors import LedgerRefusal

    async with federation(tmp_path, ["a", "b"]) as (_, n):
        await open_line(n["a"], n["b"], 100, 100)
        with pytest.raises(LedgerRefusal) as err:
            await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["b"].id, "m-b", 101))
        assert err.value.code == "no_route"
        assert not n["a"].community.ledger.holds
        assert n["a"].community.account("m-a").balance == 0


async def test_an_unknown_payee_is_rejected_before_anything_is_held(tmp_path, autojump_clock):
    from letsnode.core.errors import LetsError

    async with federation(tmp_path, ["a", "b"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 500)
        with pytest.raises(LetsError) as err:
            await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["b"].id, "ghost", 10))
        assert err.value.code == "unknown_account"
        assert not n["a"].community.ledger.holds


async def test_a_payee_over_its_ceiling_rejects_and_every_hold_is_released(
    tmp_path, autojump_clock
):
    async with federation(tmp_path, ["a", "b", "c"]) as (_, n):
        await open_line(n["a"], n["b"], 50_000, 50_000)
        await open_line(n["b"], n["c"], 50_000, 50_000)
        n["a"].community.set_limits("m-a", -20_000, 10_000)
        outcome = await n["a"].federation.transfers.pay(
            *n["a"].order("m-a", n["c"].id, "m-c", 10_001)
        )
        assert (outcome.state, outcome.code) == ("rejected", "above_ceiling")
        for x in "abc":
            ledger = n[x].community.ledger
            assert not ledger.holds
            assert all(a.balance == 0 for a in ledger.accounts.values())


async def test_a_cut_link_makes_the_payment_expire_and_releases_every_hold(
    tmp_path, autojump_clock
):
    async with federation(tmp_path, ["a", "b", "c"]) as (network, n):
        await open_line(n["a"], n["b"], 500, 500)
        await open_line(n["b"], n["c"], 500, 500)
        await cut_then_heal(network, n)


async def test_a_prepare_from_a_peer_that_is_not_the_lines_partner_changes_nothing(
    tmp_path, autojump_clock
):
    from letsnode.core.wire.transfers import Prepare
    from letsnode.federation import wire
    from letsnode.net.transport import PeerError

    async with federation(tmp_path, ["a", "b", "c"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 500)
        await open_line(n["b"], n["c"], 500, 500)
        line_ab = next(iter(n["a"].community.ledger.lines.values())).terms
        fake = Prepare(
            bytes(16), 0, line_ab.line_id, 10, bytes(32), 10**13, (), "x@c", "", b"", bytes(64)
        )
        data, sig = fake.sign(n["c"].community.key)  # C speaks about line A–B
        before = n["b"].community.ledger.next_seq
        with pytest.raises(PeerError) as err:
            await n["c"].federation.transport.request(
                n["b"].id, wire.TRANSFER_PROTOCOL, wire.encode("prepare", data, sig), 5
            )
        assert err.value.code == "not_partner"
        assert n["b"].community.ledger.next_seq == before


async def test_a_forged_prepare_signature_is_rejected(tmp_path, autojump_clock):
    from letsnode.core.wire.transfers import Prepare
    from letsnode.federation import wire
    from letsnode.net.transport import PeerError

    async with federation(tmp_path, ["a", "b"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 500)
        line_ab = next(iter(n["a"].community.ledger.lines.values())).terms
        fake = Prepare(
            bytes(16), 0, line_ab.line_id, 10, bytes(32), 10**13, (), "x@a", "", b"", bytes(64)
        )
        data, _ = fake.sign(n["a"].community.key)
        before = n["b"].community.ledger.next_seq
        with pytest.raises(PeerError) as err:
            await n["a"].federation.transport.request(
                n["b"].id, wire.TRANSFER_PROTOCOL, wire.encode("prepare", data, bytes(64)), 5
            )
        assert err.value.code == "bad_signature"
        assert n["b"].community.ledger.next_seq == before


async def test_a_replayed_fulfilment_decision_changes_nothing(tmp_path, autojump_clock):
    from letsnode.core.wire.transfers import Decision
    from letsnode.federation import wire

    async with federation(tmp_path, ["a", "b"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 500)
        outcome = await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["b"].id, "m-b", 9))
        assert outcome.state == "fulfilled"
        row = n["a"].federation.store.hold_row(outcome.transfer_id, "out")
        decision = Decision(outcome.transfer_id, 0, "fulfilled", row["preimage"])
        before = n["b"].community.ledger.next_seq
        for _ in range(2):
            await n["a"].federation.transport.request(
                n["b"].id,
                wire.TRANSFER_PROTOCOL,
                wire.encode("decision", *decision.sign(n["a"].community.key)),
                5,
            )
        assert n["b"].community.ledger.next_seq == before
        assert n["b"].community.account("m-b").balance == 9


async def test_a_forwarding_node_killed_mid_transfer_resumes_from_its_log(tmp_path, autojump_clock):
    from letsnode.core.wire.bodies import Hold
    from letsnode.federation.service import FederationConfig
    from letsnode.net.memory import MemoryNetwork, memory_addr
    from tests.fed_harness import Restartable, adverts_settled

    network = MemoryNetwork()
    config = FederationConfig(advert_interval_s=2.0, tick_s=0.2)
    nodes = {x: Restartable(tmp_path, x, network, config) for x in "abc"}
    async with trio.open_nursery() as nursery:
        for r in nodes.values():
            await nursery.start(r.run)
        a, b, c = (nodes[x].node for x in "abc")
        await a.federation.transport.connect(memory_addr(b.id))
        await c.federation.transport.connect(memory_addr(b.id))
        await open_line(a, b, 500, 500)
        await open_line(b, c, 500, 500)
        await adverts_settled([a, b, c])
        # B dies right after logging both legs, before it sends the prepare on to C.
        nodes["b"].crash_after = lambda body: isinstance(body, Hold) and body.role == "out"
        result = {}

        async def pay():
            result["outcome"] = await a.federation.transfers.pay(*a.order("m-a", c.id, "m-c", 42))

        nursery.start_soon(pay)
        with trio.fail_after(5):
            while nodes["b"].node is not None:
                await trio.sleep(0.01)
        held = nodes["b"].path / "ledger.db"
        assert held.exists()
        await trio.sleep(1)
        await nursery.start(nodes["b"].run)  # restart B from its data folder
        with trio.fail_after(60):
            while "outcome" not in result:
                await trio.sleep(0.1)
        assert result["outcome"].state == "fulfilled", result["outcome"].message
        with trio.fail_after(60):
            while any(nodes[x].node.community.ledger.holds for x in "abc"):
                await trio.sleep(0.1)
        a, b, c = (nodes[x].node.community for x in "abc")
        assert c.account("m-c").balance == 42 and a.account("m-a").balance == -42
        assert a.account("line-b").balance == -b.account("line-a").balance == 42
        assert b.account("line-c").balance == -c.account("line-b").balance == 42
        nursery.cancel_scope.cancel()


async def test_limits_change_with_both_signatures_and_lower_with_one(tmp_path, autojump_clock):
    async with federation(tmp_path, ["a", "b"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 500)
        a, b = n["a"].community, n["b"].community
        proposal = await n["a"].federation.lines.propose(n["b"].id, 900, 700)
        assert a.account("line-b").ceiling == 500  # nothing changes before B accepts
        await n["b"].federation.lines.accept(proposal.id)
        assert (a.account("line-b").floor, a.account("line-b").ceiling) == (-700, 900)
        assert (b.account("line-a").floor, b.account("line-a").ceiling) == (-900, 700)
        await n["b"].federation.lines.lower(n["a"].id, 100)  # B extends less credit to A
        assert b.account("line-a").floor == -100
        assert a.account("line-b").ceiling == 100
        for ledger in (a.ledger, b.ledger):
            assert [x.terms.version for x in ledger.lines.values()] == [3]
