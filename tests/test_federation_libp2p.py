"""Cross-community payments between real libp2p hosts on 127.0.0.1."""

from contextlib import AsyncExitStack

import pytest
import trio

from letsnode.community.folder import now_ms
from letsnode.core.errors import LedgerRefusal
from letsnode.federation.service import Federation, FederationConfig
from letsnode.net.libp2p.host import open_libp2p_transport
from letsnode.store.federation_store import FederationStore
from tests.fed_harness import CommunityPort, FedNode, adverts_settled, bank, open_line_real


async def start_nodes(stack, tmp_path, names):
    """Communities and their hosts first, then one nursery for the federations, so that on
    exit the federations stop before any host or database closes."""
    nodes = []
    for name in names:
        c = bank(tmp_path / name, name)
        stack.callback(c.close)
        bootstrap = [nodes[-1].federation.transport.listen_addrs()[0]] if nodes else []
        transport = await stack.enter_async_context(
            open_libp2p_transport(c.key.seed, bootstrap=bootstrap)
        )
        fed = Federation(
            CommunityPort(c, now_ms),
            transport,
            FederationStore(c.store.conn),
            FederationConfig(advert_interval_s=1.0, tick_s=0.2),
        )
        nodes.append(FedNode(c, fed))
    nursery = await stack.enter_async_context(trio.open_nursery())
    for node in nodes:
        await nursery.start(node.federation.run)
    return nursery, nodes


async def test_payments_cross_one_and_two_lines_between_real_hosts(tmp_path):
    async with AsyncExitStack() as stack:
        nursery, (a, b, c) = await start_nodes(stack, tmp_path, "abc")
        await open_line_real(b, a, 500, 500)
        await open_line_real(c, b, 500, 500)
        await adverts_settled([a, b, c], real_time=True)

        direct = await a.federation.transfers.pay(*a.order("m-a", b.id, "m-b", 100))
        assert direct.state == "fulfilled" and len(direct.route) == 1
        via_b = await a.federation.transfers.pay(*a.order("m-a", c.id, "m-c", 40))
        assert via_b.state == "fulfilled" and len(via_b.route) == 2
        ca, cb, cc = a.community, b.community, c.community
        assert cc.account("m-c").balance == 40 and ca.account("m-a").balance == -140
        assert ca.account("line-b").balance == -cb.account("line-a").balance == 140
        assert cb.account("line-c").balance == -cc.account("line-b").balance == 40

        with pytest.raises(LedgerRefusal) as err:
            await a.federation.transfers.pay(*a.order("m-a", c.id, "m-c", 461))
        assert err.value.code == "no_route"
        assert not ca.ledger.holds and ca.account("m-a").balance == -140
        nursery.cancel_scope.cancel()
