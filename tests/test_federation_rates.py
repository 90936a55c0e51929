"""Payments forwarded over a line whose rate is not 1/1 (real nodes, memory transport)."""

import pytest

from letsnode.net.memory import memory_addr
from tests.fed_harness import adverts_settled, federation


async def open_line_at(a, b, limit: int, rate_num: int, rate_den: int) -> None:
    await a.federation.transport.connect(memory_addr(b.id))
    proposal = await a.federation.lines.propose(b.id, limit, limit, rate_num, rate_den)
    await b.federation.lines.accept(proposal.id)


@pytest.mark.xfail(
    strict=True,
    reason="a forwarding node holds its outgoing leg in the next community's units "
    "(Hold amount = to_partner(prepare.amount)) instead of its own, so over a line not at "
    "par its mirror of the next community and its transit account end wrong",
)
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
