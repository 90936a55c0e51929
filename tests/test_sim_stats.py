"""The simulator's statistics against values computed by hand or known from tables."""

import math
import random

from letsnode.sim import stats
from letsnode.sim.trade import Destinations, MemberModel
from tests.sim_helpers import scenario


def test_gini_is_zero_for_equals_and_n_minus_1_over_n_when_one_holds_everything():
    assert stats.gini([5, 5, 5, 5]) == 0.0
    assert stats.gini([0, 0, 0, 12]) == 0.75
    assert stats.gini([]) == stats.gini([0, 0]) == 0.0
    assert math.isclose(stats.gini([1, 2, 3, 4]), 0.25)


def test_chi_square_tail_and_quantile_match_the_tables():
    # scipy.stats.chi2.sf(3.84, 1) = 0.05004; chi2.sf(26.12, 8) = 0.001; chi2.sf(10, 10) = 0.4405
    assert math.isclose(stats.chi2_sf(3.841459, 1), 0.05, rel_tol=1e-5)
    assert math.isclose(stats.chi2_sf(10.0, 10), 0.440493, rel_tol=1e-5)
    assert math.isclose(stats.chi2_quantile(0.999, 8), 26.1245, rel_tol=1e-5)
    assert stats.chi2_sf(0.0, 3) == 1.0


def test_batch_means_estimates_the_standard_error_of_independent_draws():
    rng = random.Random(4)
    draws = [rng.random() for _ in range(40_000)]
    se = stats.batch_means_se(draws)
    assert 0.7 < se / math.sqrt(1 / 12 / len(draws)) < 1.3


def test_binned_merges_the_tail_so_that_every_expected_count_is_five_or_more():
    q = 0.5
    probabilities = [(1 - q) * q**k for k in range(40)]
    observed, expected, labels = stats.binned(
        {0: 50, 1: 25, 2: 12, 3: 7, 4: 3, 5: 3}, probabilities, 100
    )
    assert labels == ["0", "1", "2", "3", "4+"] and sum(observed) == 100
    assert min(expected) >= 5 and math.isclose(sum(expected), 100)


def test_members_trade_mostly_in_their_group_and_a_few_trade_most():
    s = scenario("regional.toml")
    rng = random.Random(1)
    model = MemberModel(s.communities[0], s.trade, rng)
    payers, same_group = [], 0
    for _ in range(20_000):
        payer = model.payer(rng)
        payee = model.local_payee(payer, rng)
        payers.append(payer.handle)
        same_group += payee.group == payer.group
    assert same_group / 20_000 > s.trade.in_group_share  # (others may land in the group too)
    counts = sorted((payers.count(m.handle) for m in model.members), reverse=True)
    assert sum(counts[: len(counts) // 10]) > 0.3 * sum(counts)  # top tenth: a third or more
    places = Destinations([1, 2], [1, 2, 3, 4], [10, 10, 10, 10, 10], 0.8)
    drawn = [places.draw(rng) for _ in range(10_000)]
    assert 0.85 < sum(d in (1, 2) for d in drawn) / 10_000 < 0.95  # 0.8 + 0.2 x 1/2
