"""Multilateral set-off of obligations (debt clearing), computed as a min-cost flow.

When A owes B, B owes C and C owes A, the cycle can be cancelled. Given a list of
obligations this module finds the **maximum total set-off** that keeps every
participant's net position (what it is owed minus what it owes) unchanged, the way
trade-credit clearing works in Sardex (Fleischman, Dini & Littera 2020) and in
informalsystems' MTCS.

Method:

1. number participants by sorted name and aggregate parallel obligations per
   (debtor, creditor) pair;
2. keep only pairs inside a strongly connected component: any set-off is a sum of
   cycles, and an edge outside every SCC lies on no cycle, so dropping it loses nothing;
3. solve a min-cost flow over the kept pairs: an arc per pair with capacity = amount
   owed and unit cost 1, a node supply = what the participant owes minus what it is
   owed. A feasible flow is a set of remaining obligations with the same net positions
   (the original obligations are one), so the cheapest flow leaves the least debt
   behind: set-off = amount - flow is maximal;
4. split each pair's set-off back onto its obligations greedily in input order.

All amounts are integers in minor units. The sum of all obligations must fit in a
signed 64-bit integer, so every per-pair and per-participant sum does too.

Determinism: the same input sequence gives the same result on every machine. The
aggregated graph depends only on the multiset of obligations, and the solver sees it in
a fixed order, so the per-pair set-off does not depend on the input order either; only
the split of a pair's set-off between parallel obligations follows input order. Several
optimal set-offs can exist for one input; which one is returned is fixed by this
procedure, not by any property of the optimum, so other implementations must follow
the same steps (or compare only ``cleared``) to agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from letsnode.core.amounts import INT64_MAX, check_int64
from letsnode.core.errors import InvalidInput, LocalProtocolError

__all__ = ["ClearingGraph", "ClearingResult", "Obligation", "clearing_graph", "solve"]

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Obligation:
    """``debtor`` owes ``creditor`` ``amount`` minor units (an int64 greater than zero).

    Raises InvalidInput, naming the obligation, if a name is empty or not text, if
    debtor and creditor are the same, or if the amount is not a positive int64
    (``bool`` and ``float`` are refused).
    """

    debtor: str
    creditor: str
    amount: int

    def __post_init__(self) -> None:
        for role, name in (("debtor", self.debtor), ("creditor", self.creditor)):
            if not isinstance(name, str) or name == "":
                raise InvalidInput(f"obligation {self}: {role} must be a non-empty name")
        if self.debtor == self.creditor:
            raise InvalidInput(f"obligation {self}: debtor and creditor are the same participant")
        try:
            check_int64(self.amount, "amount")
        except InvalidInput as err:
            raise InvalidInput(f"obligation {self}: {err.message}") from None
        if self.amount <= 0:
            raise InvalidInput(f"obligation {self}: amount must be greater than zero")

    def __str__(self) -> str:
        return f"{self.debtor!r} owes {self.creditor!r} {self.amount!r}"


@dataclass(frozen=True, slots=True)
class ClearingResult:
    """The set-off found for a list of obligations; every amount is in minor units.

    ``setoff[i]`` is the part of obligation ``i`` (input order) that is cancelled:
    ``0 <= setoff[i] <= amount``. ``total`` is the sum of all obligations, ``cleared``
    the sum of set-off, and ``net_internal_debt`` the sum of the positive net positions,
    a floor under what remains after any clearing. ``participants`` lists every name
    that appears, sorted.
    """

    setoff: tuple[int, ...]
    total: int
    cleared: int
    net_internal_debt: int
    participants: tuple[str, ...]

    @property
    def remaining(self) -> int:
        """What is still owed after the set-off, in minor units."""
        return self.total - self.cleared

    @property
    def cleared_percent(self) -> float:
        """``cleared`` as a percentage of ``total`` (0.0 without obligations); not money."""
        return 100 * self.cleared / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True, eq=False)
class ClearingGraph:
    """The aggregated obligations that lie inside strongly connected components.

    Arc ``k`` says participant ``participants[tails[k]]`` owes ``participants[heads[k]]``
    ``capacities[k]`` minor units in total. Arcs are sorted by (tail, head), one per pair.
    This is exactly what the min-cost flow solver is given.
    """

    participants: tuple[str, ...]
    tails: Int64Array
    heads: Int64Array
    capacities: Int64Array

    def supplies(self) -> Int64Array:
        """Per participant: what it owes minus what it is owed, over these arcs only."""
        supply = np.zeros(len(self.participants), dtype=np.int64)
        np.add.at(supply, self.tails, self.capacities)
        np.subtract.at(supply, self.heads, self.capacities)
        return supply


@dataclass(frozen=True, slots=True, eq=False)
class _Pairs:
    """Obligations numbered and aggregated per (debtor, creditor) pair, sorted by pair."""

    participants: tuple[str, ...]
    tails: Int64Array  # per pair
    heads: Int64Array
    amounts: Int64Array
    order: npt.NDArray[np.intp]  # input positions sorted by pair, input order within a pair
    sorted_amounts: Int64Array  # obligation amounts in ``order``
    starts: npt.NDArray[np.intp]  # where each pair begins in ``order``
    pair_of_sorted: npt.NDArray[np.intp]  # pair index of each position in ``order``


def solve(obligations: Sequence[Obligation]) -> ClearingResult:
    """Find a maximum set-off of ``obligations`` that keeps every net position unchanged.

    Raises InvalidInput if the sum of all amounts does not fit in a signed 64-bit
    integer (naming the obligation where it overflows), and LocalProtocolError if the
    solver fails (a bug: the problem is feasible by construction).
    """
    total = _checked_total(obligations)
    if not obligations:
        return ClearingResult(setoff=(), total=0, cleared=0, net_internal_debt=0, participants=())
    pairs = _aggregate(obligations)
    inside = _inside_components(pairs)
    pair_setoff = np.zeros(len(pairs.amounts), dtype=np.int64)
    pair_setoff[inside] = _max_setoff(
        pairs.tails[inside], pairs.heads[inside], pairs.amounts[inside]
    )
    setoff = _split_in_input_order(pairs, pair_setoff, len(obligations))
    return ClearingResult(
        setoff=tuple(setoff.tolist()),
        total=total,
        cleared=int(pair_setoff.sum()),
        net_internal_debt=_net_internal_debt(pairs),
        participants=pairs.participants,
    )


def clearing_graph(obligations: Sequence[Obligation]) -> ClearingGraph:
    """The SCC-filtered aggregated graph that ``solve`` hands to the solver (for oracles
    and benchmarks). Raises InvalidInput like ``solve``."""
    _checked_total(obligations)
    if not obligations:
        empty = np.zeros(0, dtype=np.int64)
        return ClearingGraph(participants=(), tails=empty, heads=empty, capacities=empty)
    pairs = _aggregate(obligations)
    inside = _inside_components(pairs)
    return ClearingGraph(
        participants=pairs.participants,
        tails=pairs.tails[inside],
        heads=pairs.heads[inside],
        capacities=pairs.amounts[inside],
    )


def _checked_total(obligations: Sequence[Obligation]) -> int:
    """Sum of all amounts; InvalidInput naming the obligation where it passes int64."""
    total = sum(ob.amount for ob in obligations)
    if total <= INT64_MAX:
        return total
    running = 0
    for position, ob in enumerate(obligations):
        running += ob.amount
        if running > INT64_MAX:
            raise InvalidInput(
                f"obligation at index {position} ({ob}) takes the total of all obligations past "
                f"{INT64_MAX}, the largest amount a signed 64-bit integer holds"
            )
    raise AssertionError("unreachable: the running total must overflow somewhere")


def _aggregate(obligations: Sequence[Obligation]) -> _Pairs:
    """Number participants by sorted name and sum amounts per (debtor, creditor) pair."""
    participants = tuple(
        sorted({ob.debtor for ob in obligations} | {ob.creditor for ob in obligations})
    )
    number = {name: i for i, name in enumerate(participants)}
    count = len(obligations)
    debtors = np.fromiter((number[ob.debtor] for ob in obligations), np.int64, count)
    creditors = np.fromiter((number[ob.creditor] for ob in obligations), np.int64, count)
    amounts = np.fromiter((ob.amount for ob in obligations), np.int64, count)
    keys = debtors * len(participants) + creditors
    order = np.argsort(keys, kind="stable")  # stable: input order within a pair
    sorted_keys = keys[order]
    starts_mask = np.empty(count, dtype=bool)
    starts_mask[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts_mask[1:])
    starts = np.flatnonzero(starts_mask)
    pair_keys = sorted_keys[starts]
    sorted_amounts = amounts[order]
    return _Pairs(
        participants=participants,
        tails=pair_keys // len(participants),
        heads=pair_keys % len(participants),
        amounts=np.add.reduceat(sorted_amounts, starts),  # exact: the total fits in int64
        order=order,
        sorted_amounts=sorted_amounts,
        starts=starts,
        pair_of_sorted=np.cumsum(starts_mask) - 1,
    )


def _inside_components(pairs: _Pairs) -> npt.NDArray[np.bool_]:
    """Mask of the pairs whose debtor and creditor are in the same strongly connected
    component, i.e. the pairs that lie on at least one cycle."""
    component = _strong_components(len(pairs.participants), pairs.tails, pairs.heads)
    inside: npt.NDArray[np.bool_] = component[pairs.tails] == component[pairs.heads]
    return inside


def _strong_components(nodes: int, tails: Int64Array, heads: Int64Array) -> Int64Array:
    """Component label per node (iterative Tarjan; ``tails`` must be sorted).

    Iterative so that paths of any length (a million edges) cannot hit Python's
    recursion limit.
    """
    starts: list[int] = np.searchsorted(tails, np.arange(nodes + 1)).tolist()
    targets: list[int] = heads.tolist()
    index = [-1] * nodes
    low = [0] * nodes
    on_stack = [False] * nodes
    label = [-1] * nodes
    cursor = starts[:-1]  # next arc to look at, per node
    stack: list[int] = []
    visited = 0
    components = 0
    for root in range(nodes):
        if index[root] != -1:
            continue
        index[root] = low[root] = visited
        visited += 1
        stack.append(root)
        on_stack[root] = True
        calls = [root]
        while calls:
            node = calls[-1]
            arc, end = cursor[node], starts[node + 1]
            descended = False
            while arc < end:
                nxt = targets[arc]
                arc += 1
                if index[nxt] == -1:
                    cursor[node] = arc
                    index[nxt] = low[nxt] = visited
                    visited += 1
                    stack.append(nxt)
                    on_stack[nxt] = True
                    calls.append(nxt)
                    descended = True
                    break
                if on_stack[nxt] and index[nxt] < low[node]:
                    low[node] = index[nxt]
            if descended:
                continue
            cursor[node] = arc
            calls.pop()
            if calls and low[node] < low[calls[-1]]:
                low[calls[-1]] = low[node]
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    label[member] = components
                    if member == node:
                        break
                components += 1
    return np.array(label, dtype=np.int64)


def _max_setoff(tails: Int64Array, heads: Int64Array, capacities: Int64Array) -> Int64Array:
    """Set-off per arc that maximises the total while keeping net positions; min-cost flow."""
    if len(capacities) == 0:
        return np.zeros(0, dtype=np.int64)
    used, compact = np.unique(np.concatenate((tails, heads)), return_inverse=True)
    local = compact.astype(np.int32)
    local_tails, local_heads = local[: len(tails)], local[len(tails) :]
    supplies = np.zeros(len(used), dtype=np.int64)
    np.add.at(supplies, local_tails, capacities)  # a debtor is a source of remaining debt
    np.subtract.at(supplies, local_heads, capacities)
    flow = SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        local_tails, local_heads, capacities, np.ones(len(capacities), dtype=np.int64)
    )
    flow.set_nodes_supplies(np.arange(len(used), dtype=np.int32), supplies)
    _check_status(flow.solve())
    remaining: Int64Array = np.asarray(flow.flows(arcs), dtype=np.int64)
    if np.any(remaining < 0) or np.any(remaining > capacities):
        raise LocalProtocolError("min-cost flow returned a flow outside the arc capacities")
    setoff: Int64Array = capacities - remaining
    return setoff


def _check_status(status: object) -> None:
    """Raise LocalProtocolError unless the solver reports an optimal solution."""
    if status != SimpleMinCostFlow.OPTIMAL:
        name = getattr(status, "name", repr(status))
        raise LocalProtocolError(
            f"clearing: the min-cost flow solver stopped with status {name} instead of "
            "OPTIMAL; the problem is feasible by construction, so this is a bug",
            code="clearing_solver_failed",
        )


def _split_in_input_order(pairs: _Pairs, pair_setoff: Int64Array, count: int) -> Int64Array:
    """Give each pair's set-off to its obligations greedily, earliest in the input first."""
    amounts = pairs.sorted_amounts
    before = np.cumsum(amounts) - amounts  # exact: the total fits in int64
    before_in_pair = before - before[pairs.starts][pairs.pair_of_sorted]
    wanted = pair_setoff[pairs.pair_of_sorted] - before_in_pair
    setoff = np.empty(count, dtype=np.int64)
    setoff[pairs.order] = np.clip(wanted, 0, amounts)
    return setoff


def _net_internal_debt(pairs: _Pairs) -> int:
    """Sum of positive net positions (owed to minus owes) over all obligations."""
    net = np.zeros(len(pairs.participants), dtype=np.int64)
    np.add.at(net, pairs.heads, pairs.amounts)
    np.subtract.at(net, pairs.tails, pairs.amounts)
    return int(net[net > 0].sum())
