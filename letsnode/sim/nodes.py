"""One simulated community: a real node on a data folder, its federation, its transport.

``SimNode.create`` makes the data folder as ``letsnode init`` and ``member add`` would
(``Community``; the node key and members' keys derived from the run's seed; members hold
their own keys, as wallet members do, so the simulation signs their orders).
``SimNode.run`` then composes what ``run_node`` composes, minus HTTP and the control
socket: ``Node`` (writing through ``Community`` one entry at a time: the group-commit writer
works on a thread, which a virtual clock cannot wait for), a transport, and
``Federation``. The folder is not durable (no fsync); ``crash`` cancels the node at any
point and a later ``run`` starts it again from its folder, as after a kill.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TypeVar

import trio

from letsnode.community.folder import DB_NAME, Community
from letsnode.core.crypto import SigningKey
from letsnode.core.errors import LetsError
from letsnode.core.rules.ledger import Ledger
from letsnode.federation.peers import Partners
from letsnode.federation.service import Federation, FederationConfig
from letsnode.net.transport import PeerTransport
from letsnode.node.facade import Node
from letsnode.sim.counting import CountingTransport, Traffic
from letsnode.sim.scenario import CommunitySpec
from letsnode.sim.streams import Streams
from letsnode.store.clearing_store import ClearingStore, RoundRow
from letsnode.store.db import connect
from letsnode.store.federation_store import FederationStore

OpenTransport = Callable[["SimNode", Partners], AbstractAsyncContextManager[PeerTransport]]
T = TypeVar("T")


class NodeDown(LetsError):
    """The community's node is down (crashed), or went down before the call ended."""

    code = "node_down"


class SimNode:
    def __init__(
        self,
        index: int,
        spec: CommunitySpec,
        folder: Path,
        key: SigningKey,
        streams: Streams,
        config: FederationConfig,
        clock: Callable[[], int],
        open_transport: OpenTransport,
    ) -> None:
        self.index = index
        self.spec = spec
        self.folder = folder
        self.key = key
        self.streams = streams
        self.config = config
        self.clock = clock
        self.open_transport = open_transport
        self.traffic = Traffic()  # kept across restarts
        self.node: Node | None = None
        self.federation: Federation | None = None
        self._last_ledger: Ledger | None = None  # a crashed node's state stays readable
        self.restarts = 0
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._stopped = trio.Event()
        self._stopped.set()
        self._clearing: ClearingStore | None = None

    @property
    def id(self) -> bytes:
        return self.key.public

    @staticmethod
    def create(
        spec: CommunitySpec,
        folder: Path,
        key: SigningKey,
        members: list[tuple[str, bytes]],
        issuer_key: bytes | None,
        clock: Callable[[], int],
    ) -> None:
        """Make the community's data folder: genesis, members and the issuer (if the spec
        has one), each with the public key given; entries dated by ``clock`` (the run's:
        a later entry may not be dated before an earlier one)."""
        c = Community.create(
            folder,
            name=spec.name,
            short=spec.short,
            unit=spec.unit,
            scale=spec.scale,
            floor=spec.floor,
            ceiling=spec.ceiling,
            key=key,
            durable=False,
            clock=clock,
        )
        try:
            for handle, public in members:
                c.admit(handle, key=public)
            if spec.issuer is not None:
                c.admit(
                    spec.issuer.handle,
                    key=issuer_key,
                    kind="issuer",
                    floor=spec.issuer.floor,
                    default_ceiling=False,
                )
            if spec.clearing_policy == "refuse":
                ClearingStore(c.store.conn).set_policy("refuse")
        finally:
            c.close()

    @property
    def up(self) -> bool:
        return self.node is not None

    @property
    def ledger(self) -> Ledger:
        """The ledger as the node has it, or as it was when the node went down."""
        if self.node is not None:
            return self.node.community.ledger
        assert self._last_ledger is not None, "the node never ran"
        return self._last_ledger

    async def call(self, fn: Callable[[Node, Federation], Awaitable[T]]) -> T:
        """``fn(node, federation)`` run as the node's own task, so that a crash interrupts
        it as a kill would; ``NodeDown`` if the node is down or goes down first."""
        node, federation, nursery = self.node, self.federation, self._nursery
        if node is None or federation is None or nursery is None:
            raise NodeDown(f"the node of {self.spec.short} is down")
        done = trio.Event()
        box: list[tuple[T | None, Exception | None]] = []

        async def task() -> None:
            try:
                box.append((await fn(node, federation), None))
            except Exception as exc:  # a LetsError, or a bug: handed to the caller as is
                box.append((None, exc))
            finally:
                done.set()

        nursery.start_soon(task)
        await done.wait()
        if not box:
            raise NodeDown(f"the node of {self.spec.short} went down during the call")
        value, error = box[0]
        if error is not None:
            raise error
        return value  # type: ignore[return-value]

    def crash(self) -> None:
        """Stop the node now, wherever it is (the next ``run`` recovers from its folder)."""
        if self._scope is not None:
            self._scope.cancel()

    def rounds(self) -> list[RoundRow]:
        """Clearing rounds this node coordinated or joined, newest first."""
        if self._clearing is None:
            return []
        return self._clearing.rounds(limit=10_000)

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    async def restart(self, nursery: trio.Nursery) -> None:
        """Start the node again in ``nursery`` once its last run has wound down."""
        await self._stopped.wait()
        self.restarts += 1
        await nursery.start(self.run)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._stopped = trio.Event()
        try:
            await self._run(task_status)
        finally:
            self._stopped.set()

    async def _run(self, task_status: trio.TaskStatus[None]) -> None:
        with trio.CancelScope() as self._scope:
            node = Node.open(self.folder, durable=False)
            fed_db = connect(self.folder / DB_NAME, durable=False)
            try:
                node.clock = node.community.clock = self.clock
                store = FederationStore(fed_db.conn)
                self._clearing = ClearingStore(fed_db.conn)
                partners = Partners(lambda: node.ledger, store, self.clock)
                async with (
                    self.open_transport(self, partners) as inner,
                    trio.open_nursery() as nursery,
                ):
                    transport = CountingTransport(inner, self.traffic)
                    federation = Federation(
                        node, transport, store, self.config, partners, rng=self.streams.node
                    )
                    node.federation = federation
                    await nursery.start(federation.run)
                    self.node, self.federation, self._nursery = node, federation, nursery
                    task_status.started()
            finally:
                self._last_ledger = node.community.ledger
                self.node = self.federation = self._nursery = None
                self._clearing = None
                node.federation = None
                fed_db.conn.close()
                node.close()
