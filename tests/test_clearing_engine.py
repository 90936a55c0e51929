"""The clearing engine: maximum set-off that keeps every net position unchanged."""

from __future__ import annotations

from collections import Counter, defaultdict
from random import Random

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsnode.core.amounts import INT64_MAX
from letsnode.core.clearing.engine import Obligation, _check_status, clearing_graph, solve
from letsnode.core.errors import InvalidInput, LocalProtocolError

NAMES = ["ann", "bob", "cat", "dan", "eve", "fay"]


@st.composite
def obligation_lists(draw: st.DrawFn, max_amount: int = 1_000) -> list[Obligation]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=6, unique=True))
    pairs = st.tuples(st.sampled_from(names), st.sampled_from(names)).filter(
        lambda pair: pair[0] != pair[1]
    )
    rows = draw(st.lists(st.tuples(pairs, st.integers(1, max_amount)), max_size=14))
    return [Obligation(debtor, creditor, amount) for (debtor, creditor), amount in rows]


# Amounts near the int64 limit while the total still fits (≤ 14 obligations).
huge_obligation_lists = obligation_lists(max_amount=INT64_MAX // 14)
property_settings = settings(max_examples=200, deadline=None)


def net_positions(obligations: list[Obligation], setoff: tuple[int, ...]) -> dict[str, int]:
    """Owed to minus owes, per participant, counting only what remains after ``setoff``."""
    net: dict[str, int] = defaultdict(int)
    for ob, cancelled in zip(obligations, setoff, strict=True):
        net[ob.creditor] += ob.amount - cancelled
        net[ob.debtor] -= ob.amount - cancelled
    return {name: value for name, value in net.items() if value}


def oracle_max_setoff(obligations: list[Obligation]) -> int:
    """Independent optimum: networkx network simplex on the unfiltered aggregated graph."""
    graph = nx.DiGraph()
    for ob in obligations:
        for name in (ob.debtor, ob.creditor):
            graph.add_node(name, demand=0)
    for ob in obligations:
        graph.nodes[ob.creditor]["demand"] += ob.amount
        graph.nodes[ob.debtor]["demand"] -= ob.amount
        if graph.has_edge(ob.debtor, ob.creditor):
            graph.edges[ob.debtor, ob.creditor]["capacity"] += ob.amount
        else:
            graph.add_edge(ob.debtor, ob.creditor, capacity=ob.amount, weight=1)
    if graph.number_of_edges() == 0:
        return 0
    least_remaining: int = nx.network_simplex(graph)[0]
    return sum(ob.amount for ob in obligations) - least_remaining


def setoff_per_pair(
    obligations: list[Obligation], setoff: tuple[int, ...]
) -> Counter[tuple[str, str]]:
    per_pair: Counter[tuple[str, str]] = Counter()
    for ob, cancelled in zip(obligations, setoff, strict=True):
        per_pair[ob.debtor, ob.creditor] += cancelled
    return per_pair


# --- exact cases -------------------------------------------------------------------------


def test_a_three_cycle_clears_its_smallest_obligation_on_every_edge() -> None:
    obligations = [
        Obligation("ann", "bob", 10),
        Obligation("bob", "cat", 7),
        Obligation("cat", "ann", 5),
    ]
    result = solve(obligations)
    assert result.setoff == (5, 5, 5)
    assert (result.total, result.cleared, result.remaining) == (22, 15, 7)
    assert result.net_internal_debt == 5
    assert result.participants == ("ann", "bob", "cat")


def test_a_chain_clears_nothing() -> None:
    obligations = [Obligation("ann", "bob", 3), Obligation("bob", "cat", 4)]
    result = solve(obligations)
    assert result.setoff == (0, 0)
    assert result.cleared == 0
    assert result.cleared_percent == 0.0
    assert result.net_internal_debt == 4


def test_parallel_obligations_share_the_setoff_in_input_order() -> None:
    obligations = [
        Obligation("ann", "bob", 3),
        Obligation("ann", "bob", 4),
        Obligation("bob", "ann", 5),
    ]
    assert solve(obligations).setoff == (3, 2, 5)
    swapped = [obligations[1], obligations[0], obligations[2]]
    assert solve(swapped).setoff == (4, 1, 5)


def test_mutual_debts_cancel_down_to_the_difference() -> None:
    result = solve([Obligation("ann", "bob", 9), Obligation("bob", "ann", 4)])
    assert result.setoff == (4, 4)
    assert result.cleared_percent == pytest.approx(100 * 8 / 13)


def test_edges_between_cycles_are_left_alone() -> None:
    obligations = [
        Obligation("ann", "bob", 2),
        Obligation("bob", "ann", 2),
        Obligation("bob", "cat", 6),  # bridge: lies on no cycle
        Obligation("cat", "dan", 1),
        Obligation("dan", "cat", 1),
    ]
    assert solve(obligations).setoff == (2, 2, 0, 1, 1)
    graph = clearing_graph(obligations)
    names = graph.participants
    arcs = [
        (names[t], names[h], c)
        for t, h, c in zip(
            graph.tails.tolist(), graph.heads.tolist(), graph.capacities.tolist(), strict=True
        )
    ]
    assert arcs == [("ann", "bob", 2), ("bob", "ann", 2), ("cat", "dan", 1), ("dan", "cat", 1)]


def test_no_obligations_clear_nothing() -> None:
    result = solve([])
    assert (result.setoff, result.total, result.cleared, result.net_internal_debt) == ((), 0, 0, 0)
    assert result.participants == ()
    assert result.cleared_percent == 0.0


def test_amounts_at_the_int64_limit_are_cleared_exactly() -> None:
    big = INT64_MAX // 2
    result = solve([Obligation("ann", "bob", big), Obligation("bob", "ann", big)])
    assert result.setoff == (big, big)
    assert result.total == 2 * big


def test_a_long_cycle_does_not_hit_the_recursion_limit() -> None:
    size = 50_000
    obligations = [Obligation(f"p{i}", f"p{(i + 1) % size}", 7) for i in range(size)]
    result = solve(obligations)
    assert result.cleared == 7 * size


# --- properties --------------------------------------------------------------------------


@property_settings
@given(obligation_lists())
def test_setoff_is_never_negative_nor_more_than_the_obligation(
    obligations: list[Obligation],
) -> None:
    result = solve(obligations)
    assert len(result.setoff) == len(obligations)
    for ob, cancelled in zip(obligations, result.setoff, strict=True):
        assert 0 <= cancelled <= ob.amount
    assert result.cleared == sum(result.setoff)


@property_settings
@given(obligation_lists())
def test_clearing_never_changes_any_net_position(obligations: list[Obligation]) -> None:
    result = solve(obligations)
    assert net_positions(obligations, result.setoff) == net_positions(
        obligations, (0,) * len(obligations)
    )


@property_settings
@given(obligation_lists())
def test_the_setoff_is_the_maximum_the_oracle_finds(obligations: list[Obligation]) -> None:
    assert solve(obligations).cleared == oracle_max_setoff(obligations)


@property_settings
@given(huge_obligation_lists)
def test_the_setoff_is_the_maximum_even_near_the_int64_limit(obligations: list[Obligation]) -> None:
    result = solve(obligations)
    assert result.cleared == oracle_max_setoff(obligations)
    assert net_positions(obligations, result.setoff) == net_positions(
        obligations, (0,) * len(obligations)
    )


@property_settings
@given(obligation_lists())
def test_net_internal_debt_is_what_no_clearing_can_remove(obligations: list[Obligation]) -> None:
    result = solve(obligations)
    positive = sum(v for v in net_positions(obligations, (0,) * len(obligations)).values() if v > 0)
    assert result.net_internal_debt == positive
    assert result.remaining >= result.net_internal_debt


@property_settings
@given(obligation_lists())
def test_the_same_input_gives_the_same_result(obligations: list[Obligation]) -> None:
    assert solve(obligations) == solve(list(obligations))


@property_settings
@given(obligation_lists(), st.randoms(use_true_random=False))
def test_the_setoff_per_pair_does_not_depend_on_input_order(
    obligations: list[Obligation], random: Random
) -> None:
    shuffled = list(obligations)
    random.shuffle(shuffled)
    assert setoff_per_pair(obligations, solve(obligations).setoff) == setoff_per_pair(
        shuffled, solve(shuffled).setoff
    )


@property_settings
@given(obligation_lists())
def test_parallel_obligations_are_filled_earliest_first(obligations: list[Obligation]) -> None:
    result = solve(obligations)
    seen_partial: set[tuple[str, str]] = set()
    for ob, cancelled in zip(obligations, result.setoff, strict=True):
        pair = (ob.debtor, ob.creditor)
        if pair in seen_partial:
            assert cancelled == 0  # an earlier obligation of the pair was not fully set off
        if cancelled < ob.amount:
            seen_partial.add(pair)


# --- invalid input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("debtor", "creditor", "amount", "complaint"),
    [
        ("ann", "ann", 5, "'ann' owes 'ann' 5: debtor and creditor are the same participant"),
        ("ann", "bob", 0, "'ann' owes 'bob' 0: amount must be greater than zero"),
        ("ann", "bob", -3, "'ann' owes 'bob' -3: amount must be greater than zero"),
        ("ann", "bob", 1.5, "'ann' owes 'bob' 1.5: amount must be an integer number of minor"),
        ("ann", "bob", True, "'ann' owes 'bob' True: amount must be an integer number of minor"),
        ("ann", "bob", 2**63, "'ann' owes 'bob' 9223372036854775808: amount 922337203685477580"),
        ("", "bob", 5, "'' owes 'bob' 5: debtor must be a non-empty name"),
        ("ann", 7, 5, "'ann' owes 7 5: creditor must be a non-empty name"),
    ],
)
def test_an_invalid_obligation_is_refused_by_name(
    debtor: object, creditor: object, amount: object, complaint: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        Obligation(debtor, creditor, amount)  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"obligation {complaint}")
    assert caught.value.code == "invalid_input"


def test_a_total_past_int64_names_the_obligation_where_it_overflows() -> None:
    obligations = [
        Obligation("ann", "bob", INT64_MAX - 10),
        Obligation("bob", "ann", 10),
        Obligation("bob", "cat", 1),
    ]
    with pytest.raises(
        InvalidInput, match=r"obligation at index 2 \('bob' owes 'cat' 1\) takes the total"
    ):
        solve(obligations)


def test_a_solver_status_other_than_optimal_is_reported_as_our_bug() -> None:
    from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

    _check_status(SimpleMinCostFlow.OPTIMAL)
    with pytest.raises(LocalProtocolError, match="status INFEASIBLE instead of OPTIMAL") as caught:
        _check_status(SimpleMinCostFlow.INFEASIBLE)
    assert caught.value.code == "clearing_solver_failed"
