"""The members' side of a run: when each community's members pay, whom, how much; the
monthly benefits of an issuer; members joining and leaving.

Each community draws from its own trade stream in a fixed order (arrival, payer, home or
away, payee, amount), so what happens depends on the seed and not on timing. Payments
arrive as a Poisson process at ``active members x trade_rate`` per day. Concurrently (the
default) each community's payments start on their own and payments to other communities
run while the next arrive; with ``trade.sequential`` one payment at a time in the whole
network, each awaited before the next (the chains of the validation models, and a run
whose outcomes do not depend on how long the network takes).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import LetsError
from letsnode.federation.service import Federation
from letsnode.node.facade import Node
from letsnode.sim.metrics import Day
from letsnode.sim.nodes import SimNode
from letsnode.sim.payments import Payments
from letsnode.sim.scenario import DAY_S, Scenario
from letsnode.sim.streams import member_key
from letsnode.sim.trade import Destinations, MemberModel


class Clock(Protocol):
    days: list[Day]

    def now_s(self) -> float: ...

    async def sleep_until_s(self, t: float) -> None: ...


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's product of uniforms; a rounded normal beyond lambda 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Traders:
    def __init__(
        self,
        scenario: Scenario,
        nodes: list[SimNode],
        models: list[MemberModel],
        keys: list[dict[str, SigningKey]],
        payments: Payments,
        clock: Clock,
    ) -> None:
        self.s = scenario
        self.nodes = nodes
        self.models = models
        self.keys = keys
        self.payments = payments
        self.clock = clock
        index = {n.spec.short: i for i, n in enumerate(nodes)}
        sizes = [c.members for c in scenario.communities]
        partners: list[set[int]] = [set() for _ in nodes]
        for line in scenario.lines:
            partners[index[line.a]].add(index[line.b])
            partners[index[line.b]].add(index[line.a])
        everyone = list(range(len(nodes)))
        self.destinations = [
            Destinations(
                sorted(partners[i]),
                [j for j in everyone if j != i],
                sizes,
                scenario.trade.partner_share,
            )
            for i in everyone
        ]
        self.recipients: list[list[str]] = []
        for i, model in enumerate(models):
            issuer = nodes[i].spec.issuer
            chosen: list[str] = []
            if issuer is not None:
                handles = [m.handle for m in model.members]
                rng = nodes[i].streams.trade
                chosen = sorted(
                    rng.sample(handles, max(1, round(issuer.recipients * len(handles))))
                )
            self.recipients.append(chosen)

    def rng(self, i: int) -> random.Random:
        return self.nodes[i].streams.trade

    # -- trade -----------------------------------------------------------------------------

    async def run(self, stop_s: float) -> None:
        """Members trade until ``stop_s``; returns once every payment started has ended."""
        async with trio.open_nursery() as nursery:
            if self.s.trade.sequential:
                nursery.start_soon(self._sequential, stop_s)
            else:
                for i in range(len(self.nodes)):
                    nursery.start_soon(self._community, i, stop_s, nursery)

    async def _community(self, i: int, stop_s: float, nursery: trio.Nursery) -> None:
        rng, model, t = self.rng(i), self.models[i], 0.0
        while True:
            rate = model.rate_per_second()
            t += rng.expovariate(rate) if rate > 0 else DAY_S
            if t >= stop_s:
                return
            await self.clock.sleep_until_s(t)
            if rate > 0:
                await self._one(i, nursery)

    async def _sequential(self, stop_s: float) -> None:
        heap: list[tuple[float, int]] = []
        for i, model in enumerate(self.models):
            rate = model.rate_per_second()
            heap.append((self.rng(i).expovariate(rate) if rate > 0 else DAY_S, i))
        heapq.heapify(heap)
        while heap:
            t, i = heapq.heappop(heap)
            if t >= stop_s:
                return
            await self.clock.sleep_until_s(t)
            rate = self.models[i].rate_per_second()
            if rate > 0:
                await self._one(i, None)
            heapq.heappush(heap, (t + (self.rng(i).expovariate(rate) if rate > 0 else DAY_S), i))

    async def _one(self, i: int, nursery: trio.Nursery | None) -> None:
        """Draw one payment of community ``i`` and make it (in ``nursery`` if it crosses
        lines and runs concurrently; awaited otherwise)."""
        rng, model = self.rng(i), self.models[i]
        payer = model.payer(rng)
        if payer is None:
            return
        if rng.random() < self.s.trade.cross_share:
            j = self.destinations[i].draw(rng)
            payee = self.models[j].anyone(rng) if j is not None else None
            amount = model.amount(rng)
            if j is None or payee is None:
                return
            if nursery is None:
                await self.payments.cross(i, payer.handle, j, payee.handle, amount)
            else:
                nursery.start_soon(self.payments.cross, i, payer.handle, j, payee.handle, amount)
            return
        local = model.local_payee(payer, rng)
        amount = model.amount(rng)
        if local is not None:
            await self.payments.local(i, payer.handle, local.handle, amount)

    # -- each day's start --------------------------------------------------------------------

    async def start_day(self, d: int) -> None:
        """Churn (from day 1), then benefits on an issuer's paying days, community by
        community in the scenario's order."""
        for i in range(len(self.nodes)):
            if d > 0:
                await self._churn(i)
            issuer = self.nodes[i].spec.issuer
            if issuer is not None and d % issuer.period_days == 0:
                for handle in self.recipients[i]:
                    await self.payments.local(
                        i, issuer.handle, handle, issuer.benefit, benefit=True
                    )

    async def _churn(self, i: int) -> None:
        churn, model, rng, sim = self.s.churn, self.models[i], self.rng(i), self.nodes[i]
        leaving = poisson(rng, model.active_count * churn.leave_per_year / 365)
        joining = poisson(rng, model.spec.members * churn.join_per_year / 365)
        if not (leaving or joining):
            return
        day = self.clock.days[i]
        for _ in range(leaving):
            member = model.leave(rng)
            if member is None:
                break
            try:
                await sim.call(_freeze(member.handle))
                day.left += 1
            except LetsError:
                member.active = True  # the node is down: nobody could leave today
        for _ in range(joining):
            member = model.join(rng)
            key = member_key(self.s.seed, sim.spec.short, member.handle)
            self.keys[i][member.handle] = key
            try:
                await sim.call(_admit(member.handle, key.public))
                day.joined += 1
            except LetsError:
                member.active = False
        model.rebuild()


def _freeze(handle: str) -> Callable[[Node, Federation], Awaitable[None]]:
    async def freeze(node: Node, _: Federation) -> None:
        await node.set_status(handle, "frozen")

    return freeze


def _admit(handle: str, public: bytes) -> Callable[[Node, Federation], Awaitable[None]]:
    async def admit(node: Node, _: Federation) -> None:
        await node.admit(handle, public)

    return admit
