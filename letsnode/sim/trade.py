"""Who pays whom, how much and when: the trade model of one community.

Members belong to groups (``group_size``; a neighbourhood, a trade) and each has an
activity weight drawn from a Pareto law with exponent ``activity_alpha``: a few members
trade a lot and most a little, and most payments stay inside a group, as the transaction
networks of community currencies show (heavy-tailed activity and modular structure:
Sardex, Iosifidis et al., Nature Human Behaviour 2018; Sarafu, Mattsson, Criscione and
Ruddick, Scientific Data 2022). A payer is drawn by activity; the payee in the payer's
group with probability ``in_group_share``, else anywhere in the community, again by
activity. With ``partners = "uniform"`` every member weighs the same and there are no
groups. Amounts are lognormal around the community's median (or fixed at it).

Everything here is drawn from the ``random.Random`` it is handed; nothing here does I/O.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass

from letsnode.sim.scenario import CommunitySpec, TradeSpec

MAX_WEIGHT = 200.0  # the heaviest member trades at most 200 times the lightest


@dataclass(slots=True)
class Member:
    handle: str
    group: int
    weight: float
    active: bool = True


class _Sampler:
    """Draw an index by weight: cumulative sums and a bisection (rebuilt on change)."""

    def __init__(self, items: list[int], weights: list[float]) -> None:
        self.items = items
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> int | None:
        if not self.items:
            return None
        x = rng.random() * self.cumulative[-1]
        return self.items[min(bisect.bisect_right(self.cumulative, x), len(self.items) - 1)]


class MemberModel:
    """The members of one community and how they choose partners."""

    def __init__(self, spec: CommunitySpec, trade: TradeSpec, rng: random.Random) -> None:
        self.spec = spec
        self.trade = trade
        self.members: list[Member] = []
        self._next = 1
        self._groups = max(1, math.ceil(spec.members / trade.group_size))
        for _ in range(spec.members):
            self._add(rng, group=None)
        self.rebuild()

    # -- membership ----------------------------------------------------------------------

    def _add(self, rng: random.Random, group: int | None) -> Member:
        handle = f"m{self._next}"
        self._next += 1
        if self.trade.partners == "uniform":
            weight, group = 1.0, 0
        else:
            # Pareto(alpha) with minimum 1: (1-U)^(-1/alpha), capped.
            weight = min(MAX_WEIGHT, (1.0 - rng.random()) ** (-1.0 / self.trade.activity_alpha))
            if group is None:
                group = (len(self.members)) // self.trade.group_size
        member = Member(handle, group, weight)
        self.members.append(member)
        return member

    def join(self, rng: random.Random) -> Member:
        """A new member, in a group drawn uniformly (call ``rebuild`` after a batch)."""
        group = 0 if self.trade.partners == "uniform" else rng.randrange(self._groups)
        return self._add(rng, group)

    def leave(self, rng: random.Random) -> Member | None:
        """An active member chosen uniformly leaves (call ``rebuild`` after a batch)."""
        active = [m for m in self.members if m.active]
        if len(active) <= 2:
            return None
        member = active[rng.randrange(len(active))]
        member.active = False
        return member

    def rebuild(self) -> None:
        active = [i for i, m in enumerate(self.members) if m.active]
        self.active_count = len(active)
        self._all = _Sampler(active, [self.members[i].weight for i in active])
        by_group: dict[int, list[int]] = {}
        for i in active:
            by_group.setdefault(self.members[i].group, []).append(i)
        self._by_group = {
            g: _Sampler(ix, [self.members[i].weight for i in ix]) for g, ix in by_group.items()
        }

    # -- drawing -------------------------------------------------------------------------

    def payer(self, rng: random.Random) -> Member | None:
        i = self._all.draw(rng)
        return None if i is None else self.members[i]

    def local_payee(self, payer: Member, rng: random.Random) -> Member | None:
        """A payee other than ``payer``: in its group with ``in_group_share``, else anyone."""
        in_group = self.trade.partners == "modular" and rng.random() < self.trade.in_group_share
        sampler = self._by_group.get(payer.group) if in_group else self._all
        if sampler is None or len(sampler.items) < 2:
            sampler = self._all
        for _ in range(8):  # the payer itself comes up with probability weight/total
            i = sampler.draw(rng)
            if i is not None and self.members[i] is not payer:
                return self.members[i]
        return None

    def anyone(self, rng: random.Random) -> Member | None:
        """A payee for a member of another community: anyone active, by activity."""
        i = self._all.draw(rng)
        return None if i is None else self.members[i]

    def amount(self, rng: random.Random) -> int:
        """A payment's amount in minor units: the median, or lognormal around it."""
        median = self.spec.amount_median
        if self.trade.amount == "fixed" or self.spec.amount_sigma == 0:
            return median
        return max(1, round(median * rng.lognormvariate(0.0, self.spec.amount_sigma)))

    def rate_per_second(self) -> float:
        """Payments started per simulated second by the active members."""
        return self.active_count * self.spec.trade_rate / 86_400.0


class Destinations:
    """Where a member's cross-community payment goes: a line partner with probability
    ``partner_share`` (weighted by members), else any other community (by members)."""

    def __init__(
        self, partners: list[int], others: list[int], sizes: list[int], partner_share: float
    ) -> None:
        self.partner_share = partner_share if partners else 0.0
        self._partners = _Sampler(partners, [float(sizes[i]) for i in partners])
        self._others = _Sampler(others, [float(sizes[i]) for i in others])

    def draw(self, rng: random.Random) -> int | None:
        if self.partner_share and rng.random() < self.partner_share:
            return self._partners.draw(rng)
        return self._others.draw(rng)
