"""Building a scenario's world: every community's data folder, its node, its lines.

``build`` makes the folders (keys derived from the seed), ``start`` runs every node,
``open_lines`` has each pair of partners agree its line through the line desks (propose,
then accept: both logs record it, signed by both) and ``settle_adverts`` waits until every
node holds every other's current advert, so that trade starts on a known network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import trio

from letsnode.core.crypto import SigningKey
from letsnode.federation.service import FederationConfig
from letsnode.federation.transfers import Timing
from letsnode.sim import streams
from letsnode.sim.nodes import OpenTransport, SimNode
from letsnode.sim.scenario import LineSpec, Scenario
from letsnode.sim.streams import member_key
from letsnode.sim.trade import MemberModel

SETTLE_LIMIT_S = 600.0  # on the node's clock: real seconds on libp2p


def build(
    scenario: Scenario,
    folder: Path,
    clock: Callable[[], int],
    open_transport: OpenTransport,
    speed: float,
) -> tuple[list[SimNode], list[MemberModel], list[dict[str, SigningKey]]]:
    """Data folders, nodes (not yet running), trade models and members' keys."""
    nodes, models, keys = [], [], []
    t = scenario.timing
    for i, spec in enumerate(scenario.communities):
        rng = streams.community_rng(scenario.seed, spec.short)
        model = MemberModel(spec, scenario.trade, rng.trade)
        members = {m.handle: member_key(scenario.seed, spec.short, m.handle) for m in model.members}
        own = dict(members)
        issuer = None
        if spec.issuer is not None:
            own[spec.issuer.handle] = member_key(scenario.seed, spec.short, spec.issuer.handle)
            issuer = own[spec.issuer.handle].public
        key = streams.node_key(scenario.seed, spec.short)
        path = folder / spec.short
        SimNode.create(spec, path, key, [(h, k.public) for h, k in members.items()], issuer, clock)
        coordinates = (
            scenario.clearing.period_days > 0 and spec.short in scenario.clearing.coordinators
        )
        config = FederationConfig(
            timing=Timing(),
            advert_interval_s=t.advert_interval_s,
            advert_settle_s=t.advert_settle_s,
            tick_s=t.tick_s,
            idle_tick_s=t.idle_tick_s,
            clearing_every_s=scenario.clearing.period_days * 86_400 / speed
            if coordinates
            else None,
            clearing_timeout_s=scenario.clearing.timeout_s,
        )
        nodes.append(SimNode(i, spec, path, key, rng, config, clock, open_transport))
        models.append(model)
        keys.append(own)
    return nodes, models, keys


async def start(nodes: list[SimNode], nursery: trio.Nursery) -> None:
    for node in nodes:
        await nursery.start(node.run)


async def open_lines(scenario: Scenario, nodes: list[SimNode]) -> None:
    by_short = {n.spec.short: n for n in nodes}
    for line in scenario.lines:
        await _open_line(line, by_short[line.a], by_short[line.b])


async def _open_line(line: LineSpec, a: SimNode, b: SimNode) -> None:
    fa, fb = a.federation, b.federation
    assert fa is not None and fb is not None
    # The later community dials the earlier, so that stopping them in order (``stop``)
    # stops each after every peer it dialled: libp2p then leaves no socket open.
    dialer, target = (fa, fb) if a.index > b.index else (fb, fa)
    await dialer.transport.connect(target.transport.listen_addrs()[0])
    proposal = await fa.lines.propose(
        b.id, line.limit_out, line.limit_in, line.rate_num, line.rate_den
    )
    with trio.fail_after(SETTLE_LIMIT_S):
        while fb.lines.store.proposal(proposal.id) is None:  # on its way (libp2p)
            await trio.sleep(0.05)
    await fb.lines.accept(proposal.id)


async def stop(nodes: list[SimNode]) -> None:
    """Stop every node, first to last, each once the one before has wound down."""
    for node in nodes:
        node.crash()
        await node.wait_stopped()
        await trio.sleep(0.05)  # its peers see its connections close


async def settle_adverts(nodes: list[SimNode], pause_s: float) -> None:
    """Publish until every node has every other's current advert (or fail after a while)."""
    with trio.fail_after(SETTLE_LIMIT_S):
        while True:
            feds = [n.federation for n in nodes]
            assert all(f is not None for f in feds)
            current = {f.port.key.public: f.own_advert().lines for f in feds if f}
            if all(
                other == f.port.key.public
                or (other in f.routes.adverts and f.routes.adverts[other].lines == lines)
                for f in feds
                if f
                for other, lines in current.items()
            ):
                return
            for f in feds:
                if f:
                    await f.publish_advert()
            await trio.sleep(pause_s)
