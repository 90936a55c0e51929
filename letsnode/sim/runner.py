"""``run_scenario``: one run of a scenario, from empty data folders to its measurements.

The timeline, on the scenario's clock (simulated seconds; on libp2p, real seconds times
``libp2p.speed`` for trade and days, while the nodes' own timers run in real seconds):

1. every community is built and started, lines are agreed, adverts settle (before t = 0);
2. from t = 0 members trade (``traders``), each day's end is measured (``metrics``), benefits
   and churn happen at each day's start, faults at their hours;
3. trade stops at ``trade.stop_day``, payments still under way finish, the run goes on to
   ``days``; then the final clearing round (if asked) and the last day's measurement.

On the memory network the run is on ``MockClock(autojump_threshold=0)`` with deterministic
scheduling (``schedule``), so it takes as long as the CPU needs, not as long as it says.
"""

from __future__ import annotations

import gc
import math
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import trio
import trio.testing

from letsnode.community.folder import now_ms
from letsnode.core import crypto
from letsnode.core.clearing.engine import Obligation, solve
from letsnode.core.errors import InvalidInput
from letsnode.core.wire.clearing import Proposal
from letsnode.federation.peers import Partners
from letsnode.net.memory import MemoryNetwork
from letsnode.net.transport import PeerTransport
from letsnode.sim import world
from letsnode.sim.metrics import Day, row, snapshot
from letsnode.sim.nodes import SimNode
from letsnode.sim.payments import Payments
from letsnode.sim.scenario import DAY_S, CrashFault, PartitionFault, Scenario
from letsnode.sim.schedule import deterministic_scheduling
from letsnode.sim.streams import network_seed
from letsnode.sim.traders import Traders
from letsnode.store.clearing_store import RoundRow

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: day 0 of the simulated calendar
Transport = Literal["memory", "libp2p"]


@dataclass(frozen=True, slots=True)
class Progress:
    day: float
    days: float
    payments: int
    wall_s: float


@dataclass(frozen=True, slots=True)
class RunOptions:
    transport: Transport = "memory"
    signatures: bool = True  # False: crypto.unsigned() (see there)
    record: bool = False  # keep every payment's Record (tests; validations keep their own)
    progress: Callable[[Progress], None] | None = None
    folder: Path | None = None  # where the data folders go (default: a temporary folder)


@dataclass
class RunData:
    """Everything a run measured: for the summary, the files and the report."""

    scenario: Scenario
    options: RunOptions
    rows: list[list[Any]]
    payments: Payments
    nodes: list[SimNode]
    line_use: list[list[float]]  # per line of the scenario: utilisation at each day's end
    line_end: list[tuple[int, float]]  # per line: balance (a's units, + = a owes), utilisation
    members_end: list[list[int]]  # per community: active members' balances above the floor
    obligations: list[tuple[str, str, int]] | None = None  # before the final round
    final_cleared: int | None = None  # line debt the final round removed
    final_expected: int | None = None  # what the clearing engine finds on `obligations`
    rounds: list[list[RoundRow]] = field(default_factory=list)  # per community, at the end
    wall_s: float = 0.0
    setup_wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunData:
    """Run ``scenario`` once. On the memory transport the outcome depends on the scenario
    (its seed included) alone; on libp2p it runs in real time and is only as repeatable as
    the network."""
    options = options or RunOptions()
    if options.transport == "libp2p" and scenario.faults:
        raise InvalidInput("faults (partitions, crashes) need the memory transport")
    with (
        tempfile.TemporaryDirectory(prefix="letsnode-sim-") as tmp,
        crypto.unsigned() if not options.signatures else nullcontext(),
    ):
        folder = options.folder or Path(tmp)
        if options.transport == "memory":
            with deterministic_scheduling(scenario.seed):
                clock = trio.testing.MockClock(autojump_threshold=0)
                return trio.run(_main, scenario, options, folder, clock=clock)
        return trio.run(_main, scenario, options, folder)


async def _main(scenario: Scenario, options: RunOptions, folder: Path) -> RunData:
    try:
        return await Simulation(scenario, options, folder).run()
    finally:
        gc.unfreeze()  # a process that goes on (a sweep's worker, tests) collects this run


def _virtual_ms() -> int:
    return T0_MS + int(trio.current_time() * 1000)


class Simulation:
    def __init__(self, scenario: Scenario, options: RunOptions, folder: Path) -> None:
        self.wall0 = time.perf_counter()
        self.s = scenario
        self.options = options
        memory = options.transport == "memory"
        self.speed = 1.0 if memory else scenario.libp2p.speed
        self.network = (
            MemoryNetwork(
                seed=network_seed(scenario.seed),
                latency=scenario.network.latency_ms / 1000,
            )  # messages are lost from t = 0 on, not while lines are agreed
            if memory
            else None
        )
        opener = self._memory_transport if memory else _libp2p_transport
        clock = _virtual_ms if memory else now_ms
        self.nodes, self.models, self.keys = world.build(
            scenario, folder, clock, opener, self.speed
        )
        self.by_short = {n.spec.short: n for n in self.nodes}
        self.days = [Day() for _ in self.nodes]
        self.t0 = 0.0
        validating = scenario.validation is not None and scenario.validation.kind == "credit-line"
        self.payments = Payments(
            self.nodes, self.keys, lambda i: self.days[i], self.now_s, options.record or validating
        )
        self.traders = Traders(scenario, self.nodes, self.models, self.keys, self.payments, self)
        self.rows: list[list[Any]] = []
        self._sent = [(0, 0) for _ in self.nodes]
        self._cleared: list[dict[bytes, int]] = [{} for _ in self.nodes]
        self.line_use: list[list[float]] = [[] for _ in scenario.lines]

    def _memory_transport(
        self, sim: SimNode, partners: Partners
    ) -> AbstractAsyncContextManager[PeerTransport]:
        assert self.network is not None
        return self.network.transport(sim.id, known_peers=partners.known(), on_peer=partners.met)

    # -- the scenario's clock ------------------------------------------------------------

    def now_s(self) -> float:
        return (trio.current_time() - self.t0) * self.speed

    async def sleep_until_s(self, t: float) -> None:
        await trio.sleep_until(self.t0 + t / self.speed)

    # -- the run -------------------------------------------------------------------------

    async def run(self) -> RunData:
        async with trio.open_nursery() as nodes_nursery:
            await world.start(self.nodes, nodes_nursery)
            await world.open_lines(self.s, self.nodes)
            await world.settle_adverts(self.nodes, 0.5)
            # What is built by now lives as long as the run: the cyclic GC need not walk it
            # again at every full collection (as run_node does for a node).
            gc.collect()
            gc.freeze()
            setup_wall_s = time.perf_counter() - self.wall0
            if self.network is not None:
                self.network.set_drop_rate(self.s.network.drop_rate)
            self.t0 = trio.current_time()
            stop_s = min(self.s.trade.stop_day, self.s.days) * DAY_S
            async with trio.open_nursery() as timeline:
                timeline.start_soon(self._days)
                timeline.start_soon(self._progress)
                for fault in self.s.faults:
                    timeline.start_soon(self._fault, fault, nodes_nursery)
                await self.traders.run(stop_s)
                await self.sleep_until_s(self.s.seconds)
                timeline.cancel_scope.cancel()
            data = RunData(
                self.s,
                self.options,
                self.rows,
                self.payments,
                self.nodes,
                self.line_use,
                [],
                [],
                setup_wall_s=setup_wall_s,
            )
            if self.s.clearing.final_round:
                await self._final_round(data)
            self._end_day(math.ceil(self.s.days) - 1)
            self._finish(data)
            if self.network is None:
                await world.stop(self.nodes)
            nodes_nursery.cancel_scope.cancel()
        data.wall_s = time.perf_counter() - self.wall0
        return data

    async def _days(self) -> None:
        await self.traders.start_day(0)
        for d in range(1, math.ceil(self.s.days)):
            await self.sleep_until_s(d * DAY_S)
            self._end_day(d - 1)
            await self.traders.start_day(d)

    async def _progress(self) -> None:
        """Report progress every simulated hour (or 1/100 of a short run). It runs whether
        anyone watches or not, so that watching changes nothing in the run."""
        step = min(3600.0, self.s.seconds / 100)
        t = 0.0
        while True:
            t += step
            await self.sleep_until_s(t)
            progress = self.options.progress
            if progress is not None:
                wall = time.perf_counter() - self.wall0
                progress(Progress(t / DAY_S, self.s.days, self.payments.count, wall))

    def _end_day(self, d: int) -> None:
        for i, sim in enumerate(self.nodes):
            active = [m.handle for m in self.models[i].members if m.active]
            cleared = self._cleared_today(i, sim)
            snap = snapshot(
                sim.spec, sim.ledger, active, sim.traffic, self._sent[i], cleared, sim.up
            )
            self._sent[i] = (sim.traffic.messages, sim.traffic.bytes)
            self.rows.append(row(d, sim.spec.short, self.days[i], snap))
            self.days[i] = Day()
        for k, (_, use) in enumerate(self._lines()):
            self.line_use[k].append(use)
        progress = self.options.progress
        if progress is not None:
            wall = time.perf_counter() - self.wall0
            progress(Progress(min(d + 1, self.s.days), self.s.days, self.payments.count, wall))

    def _cleared_today(self, i: int, sim: SimNode) -> int:
        """Our own line debt cleared by rounds committed since we last looked."""
        if not (self.s.clearing.period_days or self.s.clearing.final_round):
            return 0
        seen, total = self._cleared[i], 0
        for r in sim.rounds():
            if r.state == "committed" and r.proposal is not None and r.nonce not in seen:
                items = Proposal.decode(r.proposal).items
                seen[r.nonce] = sum(x.amount for x in items if x.debtor == sim.id)
                total += seen[r.nonce]
        return total

    def _lines(self) -> list[tuple[int, float]]:
        """Each line's balance in ``a``'s ledger (+: a owes b) and its utilisation."""
        out = []
        for line in self.s.lines:
            a, b = self.by_short[line.a], self.by_short[line.b]
            ledger = a.ledger
            mirror = next(x for x in ledger.lines.values() if x.partner == b.id)
            account = ledger.accounts[mirror.handle]
            limit = (account.ceiling or 0) if account.balance > 0 else -account.floor
            out.append((account.balance, abs(account.balance) / limit if limit else 0.0))
        return out

    async def _fault(self, fault: PartitionFault | CrashFault, nodes: trio.Nursery) -> None:
        if isinstance(fault, PartitionFault):
            assert self.network is not None
            a, b = self.by_short[fault.a].id, self.by_short[fault.b].id
            await self.sleep_until_s(fault.from_day * DAY_S)
            self.network.partition(a, b)
            await self.sleep_until_s(fault.to_day * DAY_S)
            self.network.heal(a, b)
            return
        sim = self.by_short[fault.community]
        await self.sleep_until_s(fault.day * DAY_S)
        sim.crash()
        await self.sleep_until_s(fault.day * DAY_S + fault.down_hours * 3600)
        await sim.restart(nodes)

    async def _final_round(self, data: RunData) -> None:
        """One clearing round after trade: the debts it saw, what it removed, and what the
        clearing engine (``letsnode clearing solve``) finds on the same debts."""
        before = [
            (line.a, line.b, bal)
            for line, (bal, _) in zip(self.s.lines, self._lines(), strict=True)
        ]
        data.obligations = [(a, b, x) if x > 0 else (b, a, -x) for a, b, x in before if x]
        coordinator = self.by_short[self.s.clearing.coordinators[0]]
        timeout = self.s.clearing.timeout_s
        report = await coordinator.call(lambda _, fed: fed.clearing.run_round(timeout))
        with trio.move_on_after(60):  # the others apply the round as the commit reaches them
            while report.round_id is not None and not all(
                n.federation is not None and n.federation.clearing.applied(report.round_id)
                for n in self.nodes
                if n.id in report.participants
            ):
                await trio.sleep(0.1)
        after = sum(abs(bal) for bal, _ in self._lines())
        data.final_cleared = sum(abs(x) for _, _, x in before) - after
        result = solve([Obligation(d, c, x) for d, c, x in data.obligations])
        data.final_expected = result.cleared
        data.extra["final_round"] = {"state": report.state, "reason": report.reason}

    def _finish(self, data: RunData) -> None:
        data.line_end = self._lines()
        data.rounds = [sim.rounds() for sim in self.nodes]
        for i, sim in enumerate(self.nodes):
            ledger = sim.ledger
            data.members_end.append(
                [
                    ledger.accounts[m.handle].balance - ledger.accounts[m.handle].floor
                    for m in self.models[i].members
                    if m.active
                ]
            )


def _libp2p_transport(
    sim: SimNode, partners: Partners
) -> AbstractAsyncContextManager[PeerTransport]:
    from letsnode.net.libp2p.host import open_libp2p_transport  # only for this transport

    return open_libp2p_transport(
        sim.key.seed, ["/ip4/127.0.0.1/tcp/0"], known_peers=partners.known(), on_peer=partners.met
    )
