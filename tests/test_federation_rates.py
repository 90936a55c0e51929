"""Payments forwarded over a line whose rate is not 1/1 (real nodes, memory transport)."""

from letsnode.net.memory import memory_addr
from tests.fed_harness import adverts_settled, federation


async def open_line_at(a, b, limit: int, rate_num: int, rate_den: int) -> None:
    await a.federation.transport.connect(memory_addr(b.id))
    proposal = await a.federation.lines.propose(b.id, limit, limit, rate_num, rate_den)
    await b.federation.lines.accept(proposal.id)


async def test_a_forwarder_books_the_onward_leg_in_its_own_units(tmp_path, autojump_clock):
    async with federation(tmp_path, ["a", "b", "c"]) as (_, n):
        await open_line_at(n["a"], n["b"], 5000, 1, 1)
        await open_line_at(n["b"], n["c"], 5000, 2, 1)  # one unit of b is two units of c
        await adverts_settled(list(n.values()))
        outcome = await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["c"].id, "m-c", 100))
        assert (outcome.state, outcome.delivered) == ("fulfilled", 200)
        b, c = n["b"].community, n["c"].community
        assert c.account("m-c").balance == 200 and c.account("line-b").balance == -200
        assert b.account("line-a").balance == -100
        assert b.account("transit").balance == 0  # a forwarder neither gains nor loses
        assert b.account("line-c").balance == 100  # b owes c 100 of b's units: 200 of c's


async def test_both_sides_of_a_line_not_at_par_agree_after_payments_both_ways(
    tmp_path, autojump_clock
):
    async with federation(tmp_path, ["a", "b", "c"]) as (_, n):
        await open_line_at(n["a"], n["b"], 5000, 1, 1)
        await open_line_at(n["b"], n["c"], 5000, 2, 1)
        await adverts_settled(list(n.values()))
        paid = await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["c"].id, "m-c", 100))
        back = await n["c"].federation.transfers.pay(*n["c"].order("m-c", n["a"].id, "m-a", 100))
        assert (paid.state, back.state) == ("fulfilled", "fulfilled")
        assert back.delivered == 50  # 100 of c's units are 50 of b's, then of a's
        a, b, c = (n[x].community for x in "abc")
        assert b.account("line-c").balance * 2 == -c.account("line-b").balance == 100
        assert b.account("line-a").balance == -a.account("line-b").balance == -50
        for ledger in (a, b, c):
            assert ledger.ledger.total() == 0
        assert b.account("transit").balance == 0
