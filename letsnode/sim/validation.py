"""Validation against published results: what each kind needs of a scenario, what the
literature expects, and the comparison with what the simulation measured.

``credit-line`` — Dandekar, Goel, Govindan and Post, "Liquidity in credit networks: a
little trust goes a long way" (EC 2011). A line of capacity c each way, under unit
payments whose rate from i to j equals the rate from j to i, is a Markov chain whose
transition matrix is symmetric (a payment and its reverse are equally likely; a payment
that does not fit changes nothing), hence doubly stochastic: its stationary distribution
is uniform over the states it can reach. On a tree every product of line balances in
[-c, c] is reachable when payments run between every pair of communities (adjacent pairs
move each line alone), so the lines are independent and uniform on their 2c+1 states, and
a payment over a path succeeds with probability prod 2c_e/(2c_e+1). Conditions, checked
here: the lines form a tree (one path between two communities), at par, the same limit
both ways, in whole payments; every payment one unit, between uniformly chosen
communities with equal rates both ways, one at a time; members' own limits never bind; no
clearing, churn or faults. (Routing reads adverts, which trail a payment by a fraction of
a second; payments are hours apart, so the chance that one reads a stale advert is below
one in ten thousand.)

``boltzmann-gibbs`` — Drăgulescu and Yakovenko, "Statistical mechanics of money" (2000). A
closed community whose members pay uniformly chosen others one unit at a time, refused
below a uniform floor -L, has a symmetric chain on the configurations of balances with a
fixed total, so at equilibrium every configuration is equally likely; for many members one
member's balance above the floor, k = b + L, is then geometric, P(k) = (1-q) q^k with
q = T/(T+1) and T = L (the mean of k, fixed by the zero sum): the discrete Boltzmann–Gibbs
law with temperature L. The ceiling must be absent or far above. Checked with Pearson's
chi-square over bins whose expected counts are at least 5, against the chi-square law
with (bins - 1) degrees of freedom (T is not fitted), at p > 0.001.

``clearing`` — a round on a simulated federation removes exactly the debt that ``letsnode
clearing solve`` finds optimal on the same debts (tolerance zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from letsnode.sim import stats
from letsnode.sim.scenario import Scenario

P_THRESHOLD = 0.001  # chi-square: a correct model fails at this rate, on a random seed
SE_MULTIPLE = 4.0  # credit-line: tolerance in batch-means standard errors
MIN_TOLERANCE = 0.01  # and never tighter than this (batch means under-estimate short runs)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    expected: float
    measured: float
    tolerance: str  # how the two must agree, in words
    passed: bool
    samples: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": stats.r6(self.expected),
            "measured": stats.r6(self.measured),
            "tolerance": self.tolerance,
            "passed": self.passed,
            "samples": self.samples,
        }


def check_validation(s: Scenario) -> str | None:
    """Why ``s`` does not meet its validation kind's conditions, or None."""
    assert s.validation is not None
    t = s.trade
    common = [
        (t.amount != "fixed", 'trade.amount must be "fixed" (unit payments)'),
        (t.partners != "uniform", 'trade.partners must be "uniform"'),
        (bool(s.faults), "faults must be empty"),
        (s.churn.leave_per_year > 0 or s.churn.join_per_year > 0, "churn must be zero"),
        (any(c.issuer for c in s.communities), "no community may have an issuer"),
    ]
    kind = s.validation.kind
    if kind == "credit-line":
        rates = {c.members * c.trade_rate for c in s.communities}
        conditions = [
            *common,
            (not t.sequential, "trade.sequential must be true (one payment at a time)"),
            (t.cross_share != 1.0, "trade.cross_share must be 1 (every payment crosses lines)"),
            (t.partner_share != 0.0, "trade.partner_share must be 0 (uniform pairs)"),
            (len(rates) != 1, "members x trade_rate must be equal in every community"),
            (s.clearing.period_days > 0 or s.clearing.final_round, "clearing must be off"),
            (s.network.drop_rate > 0, "network.drop_rate must be 0"),
            (not _is_tree(s), "the lines must form a tree joining every community"),
            (any(ln.rate_num != ln.rate_den for ln in s.lines), "every line must be at par"),
            (any(ln.limit_out != ln.limit_in for ln in s.lines), "limits must be equal both ways"),
            (len({c.scale for c in s.communities}) != 1, "every community needs the same scale"),
            (any(c.amount_median != c.one_unit for c in s.communities), "amount_median must be 1"),
            (any(ln.limit_out % s.community(ln.a).one_unit for ln in s.lines), "whole limits"),
            (
                any(not _far(c.floor, c.ceiling, c.one_unit, 10_000) for c in s.communities),
                "members' floors and ceilings must be at least 10000 units away (or none)",
            ),
        ]
    elif kind == "boltzmann-gibbs":
        c = s.communities[0]
        far_ceiling = c.ceiling is None or c.ceiling >= 50 * -c.floor
        conditions = [
            *common,
            (len(s.communities) != 1 or bool(s.lines), "one community and no lines"),
            (not t.sequential, "trade.sequential must be true (one payment at a time)"),
            (c.amount_median != c.one_unit, "amount_median must be 1"),
            (c.floor >= 0 or c.floor % c.one_unit != 0, "the floor must be a whole number below 0"),
            (not far_ceiling, 'the ceiling must be "none" or at least 50 times -floor'),
        ]
    else:
        shorts = {c.short for c in s.communities}
        degree = {x: sum(x in (ln.a, ln.b) for ln in s.lines) for x in shorts}
        conditions = [
            (not s.clearing.final_round, "clearing.final_round must be true"),
            (len(s.communities) > 20, "a round joins at most 20 communities"),
            (max(degree.values(), default=0) > 24, "a community states at most 24 lines"),
            (any(ln.rate_num != ln.rate_den for ln in s.lines), "every line must be at par"),
            (len({(c.unit, c.scale) for c in s.communities}) != 1, "one unit and scale for all"),
            (s.network.drop_rate > 0, "network.drop_rate must be 0"),
        ]
    for failed, why in conditions:
        if failed:
            return why
    return None


def _far(floor: int, ceiling: int | None, unit: int, units: int) -> bool:
    return floor <= -units * unit and (ceiling is None or ceiling >= units * unit)


def _is_tree(s: Scenario) -> bool:
    n = len(s.communities)
    return len(s.lines) == n - 1 and len(_component(s, s.communities[0].short)) == n


def _component(s: Scenario, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        x = todo.pop()
        for ln in s.lines:
            for a, b in ((ln.a, ln.b), (ln.b, ln.a)):
                if a == x and b not in seen:
                    seen.add(b)
                    todo.append(b)
    return seen


def path_capacities(s: Scenario, a: str, b: str) -> list[int]:
    """The capacities (in payments) of the lines on the tree's path from ``a`` to ``b``."""
    parent: dict[str, tuple[str, int] | None] = {a: None}
    todo = [a]
    while todo:
        x = todo.pop()
        for ln in s.lines:
            for u, v in ((ln.a, ln.b), (ln.b, ln.a)):
                if u == x and v not in parent:
                    parent[v] = (x, ln.limit_out // s.community(ln.a).one_unit)
                    todo.append(v)
    out, at = [], b
    while (step := parent[at]) is not None:
        at, capacity = step
        out.append(capacity)
    return out


def credit_line_checks(s: Scenario, payments: Sequence[tuple[str, str, bool]]) -> list[Check]:
    """One check per path length: the success rate of ``(payer, payee, ok)`` payments
    (in order, burn-in dropped) against the product over the path of 2c/(2c+1)."""
    assert s.validation is not None
    kept = payments[int(len(payments) * s.validation.burn_in_share) :]
    by_path: dict[tuple[int, ...], list[float]] = {}
    for a, b, ok in kept:
        key = tuple(sorted(path_capacities(s, a, b)))
        by_path.setdefault(key, []).append(1.0 if ok else 0.0)
    checks = []
    for capacities, outcomes in sorted(by_path.items(), key=lambda kv: (len(kv[0]), kv[0])):
        expected = math.prod(2 * c / (2 * c + 1) for c in capacities)
        measured = stats.mean(outcomes)
        tol = max(SE_MULTIPLE * stats.batch_means_se(outcomes), MIN_TOLERANCE)
        hops = len(capacities)
        lines = f"{hops} line{'s' if hops > 1 else ''}"
        name = f"success over {lines} (c = {', '.join(map(str, capacities))})"
        checks.append(
            Check(
                name,
                expected,
                measured,
                f"±{tol:.4f} (4 batch-means standard errors, at least {MIN_TOLERANCE})",
                abs(measured - expected) <= tol,
                len(outcomes),
            )
        )
    return checks


def boltzmann_gibbs_checks(s: Scenario, above_floor: Sequence[int]) -> list[Check]:
    """Chi-square of members' final balances above the floor (in units) against the
    geometric law with mean L, and the mean itself (L exactly: balances sum to zero)."""
    c = s.communities[0]
    temperature = -c.floor // c.one_unit
    q = temperature / (temperature + 1)
    n = len(above_floor)
    counts: dict[int, int] = {}
    for k in above_floor:
        counts[k] = counts.get(k, 0) + 1
    probabilities = [(1 - q) * q**k for k in range(10 * temperature + 50)]
    observed, expected, _ = stats.binned(counts, probabilities, n)
    chi2 = stats.chi_square(observed, expected)
    df = len(observed) - 1
    p_value = stats.chi2_sf(chi2, df)
    m = stats.mean([float(k) for k in above_floor])
    critical = stats.chi2_quantile(1 - P_THRESHOLD, df)
    return [
        Check(
            f"chi-square against Boltzmann–Gibbs, {len(observed)} bins ({df} degrees of freedom)",
            critical,
            chi2,
            f"at most the expected (the 99.9% quantile): p = {p_value:.3f} > {P_THRESHOLD}",
            p_value > P_THRESHOLD and df >= 2,
            n,
        ),
        Check(
            "mean balance above the floor (T = L)",
            float(temperature),
            m,
            "exact (zero sum)",
            abs(m - temperature) < 1e-9,
            n,
        ),
    ]


def clearing_checks(expected: int, measured: int, scale: int, unit: str) -> list[Check]:
    """The round's removed debt against ``letsnode clearing solve``'s optimum (minor units
    in the figures; the name says the unit)."""
    unit_value = 10**scale
    return [
        Check(
            f"debt removed by the round ({unit})",
            expected / unit_value,
            measured / unit_value,
            "exact (0)",
            expected == measured,
            1,
        )
    ]
