"""Federation test harness: communities on real SQLite, talking over the memory transport."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import trio

from letsnode.community.folder import Community
from letsnode.core.wire.entries import Body, Entry
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.federation.peers import Partners
from letsnode.federation.service import Federation, FederationConfig
from letsnode.federation.transfers import Timing
from letsnode.net.memory import MemoryNetwork, memory_addr
from letsnode.store.federation_store import FederationStore

T0 = 1_900_000_000_000


def virtual_ms() -> int:
    return T0 + int(trio.current_time() * 1000)


def bank(path: Path, short: str) -> Community:
    """A test community: HOUR at scale 2, limits ±100.00, one member ``m-<short>``."""
    c = Community.create(
        path, name=f"Bank {short}", short=short, unit="HOUR", scale=2, floor=-10_000, ceiling=10_000
    )
    c.admit(f"m-{short}")
    return c


class CommunityPort:
    """The LedgerPort of a Community without a running node (one write at a time)."""

    def __init__(self, community: Community, clock: Callable[[], int] = virtual_ms) -> None:
        self.community = community
        self.clock = clock
        community.clock = clock

    @property
    def ledger(self):
        return self.community.ledger

    @property
    def store(self):
        return self.community.store

    @property
    def key(self):
        return self.community.key

    async def submit(self, body: Body) -> Entry:
        await trio.sleep(0)
        return self.community.commit(body)


class FedNode:
    def __init__(self, community: Community, federation: Federation) -> None:
        self.community = community
        self.federation = federation

    @property
    def id(self) -> bytes:
        return self.community.key.public

    def order(
        self, payer: str, payee_community: bytes, payee: str, amount: int, memo: str = ""
    ) -> tuple[bytes, bytes]:
        c = self.community
        nonce = c.account(payer).last_nonce + 1
        o = RemoteOrder(c.key.public, payer, payee_community, payee, amount, nonce, memo)
        from letsnode.community.keystore import read_key

        return o.sign(read_key(c.member_key_path(payer)))


@asynccontextmanager
async def federation(
    tmp: Path,
    names: list[str],
    network: MemoryNetwork | None = None,
    timing: Timing | None = None,
    config: FederationConfig | None = None,
):
    network = network or MemoryNetwork()
    config = config or FederationConfig(
        timing=timing or Timing(), advert_interval_s=2.0, tick_s=0.2
    )
    nodes: dict[str, FedNode] = {}
    async with AsyncExitStack() as stack:
        for name in names:
            c = bank(tmp / name, name)
            stack.callback(c.close)
            c.clock = virtual_ms
            transport = await stack.enter_async_context(network.transport(c.key.public))
            fed = Federation(CommunityPort(c), transport, FederationStore(c.store.conn), config)
            nodes[name] = FedNode(c, fed)
        chain = list(nodes.values())
        for left, right in itertools.pairwise(chain):  # each knows its neighbour
            await left.federation.transport.connect(memory_addr(right.id))
        nursery = await stack.enter_async_context(trio.open_nursery())
        for node in nodes.values():
            await nursery.start(node.federation.run)
        yield network, nodes
        nursery.cancel_scope.cancel()


async def open_line(a: FedNode, b: FedNode, out: int, in_: int) -> None:
    await a.federation.transport.connect(memory_addr(b.id))
    proposal = await a.federation.lines.propose(b.id, out, in_)
    await b.federation.lines.accept(proposal.id)
    await a.federation.publish_advert()
    await b.federation.publish_advert()
    await adverts_settled([a, b])


async def cut_then_heal(network: MemoryNetwork, n: dict[str, FedNode]) -> None:
    """Over lines a – b – c: with b – c cut, a payment from a to c expires or is rejected
    and, 20 s later, no node keeps a hold; healed, the same payment is fulfilled."""
    network.partition(n["b"].id, n["c"].id)
    outcome = await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["c"].id, "m-c", 5))
    assert outcome.state in ("expired", "rejected")
    await trio.sleep(20)
    for x in "abc":
        assert not n[x].community.ledger.holds, x
    network.heal(n["b"].id, n["c"].id)
    outcome = await n["a"].federation.transfers.pay(*n["a"].order("m-a", n["c"].id, "m-c", 5))
    assert outcome.state == "fulfilled"


async def adverts_settled(nodes: list[FedNode], real_time: bool = False) -> None:
    """Wait until every node has every other's current advert."""
    with trio.fail_after(30):
        while True:
            expected = {n.id: n.federation.own_advert().lines for n in nodes}
            if all(
                other.id == n.id
                or (
                    other.id in n.federation.routes.adverts
                    and n.federation.routes.adverts[other.id].lines == expected[other.id]
                )
                for n in nodes
                for other in nodes
            ):
                return
            for n in nodes:
                await n.federation.publish_advert()
            await trio.sleep(0.3 if real_time else 0.1)


class Restartable:
    """A node that can crash at a chosen write and start again from its data folder."""

    def __init__(
        self, tmp: Path, name: str, network: MemoryNetwork, config: FederationConfig
    ) -> None:
        self.path = tmp / name
        c = bank(self.path, name)
        self.id = c.key.public
        c.close()
        self.network = network
        self.config = config
        self.node: FedNode | None = None
        self.crash_after: Callable[[Body], bool] = lambda body: False
        self._scope: trio.CancelScope | None = None

    def crash(self) -> None:
        assert self._scope is not None
        self._scope.cancel()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as self._scope:
            c = Community.open(self.path)
            try:
                c.clock = virtual_ms
                port = CrashingPort(c, self)
                store = FederationStore(c.store.conn)
                partners = Partners(lambda: c.ledger, store, virtual_ms)
                transport = self.network.transport(
                    c.key.public, known_peers=partners.known(), on_peer=partners.met
                )
                async with transport as t, trio.open_nursery() as n:
                    fed = Federation(port, t, store, self.config, partners)
                    self.node = FedNode(c, fed)
                    await n.start(fed.run)
                    task_status.started()
            finally:
                self.node = None
                c.close()


class CrashingPort(CommunityPort):
    def __init__(self, community: Community, owner: Restartable) -> None:
        super().__init__(community)
        self.owner = owner

    async def submit(self, body: Body) -> Entry:
        entry = await super().submit(body)
        if self.owner.crash_after(body):
            self.owner.crash_after = lambda body: False
            self.owner.crash()
            await trio.sleep(0)  # the crash takes effect here, after the write
        return entry


async def open_line_real(a: FedNode, b: FedNode, out: int, in_: int) -> None:
    """open_line for nodes that already know each other (real hosts: bootstrap dialled)."""
    with trio.fail_after(30):
        while not any(
            p.community_id == b.id and p.connected for p in a.federation.transport.peers()
        ):
            await trio.sleep(0.05)
    proposal = await a.federation.lines.propose(b.id, out, in_)
    await b.federation.lines.accept(proposal.id)
