"""Statistics for metrics and validation, in plain Python so that they are exact where
they can be and the same on every machine: integer sums, one division, ``math.fsum``.

Rounded to six decimals (``r6``) wherever a figure is written, so that the last-digit
differences a platform's ``exp`` or ``log`` might show never reach a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def r6(x: float) -> float:
    return round(x, 6)


def gini(values: Sequence[int]) -> float:
    """The Gini coefficient of non-negative integers (0: all equal; 1: one holds all).

    ``sum((2i - n - 1) x_(i)) / (n * sum(x))`` over the sorted values, exact in integers
    until the one division; 0.0 for an empty list or a zero total."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return 0.0
    ordered = sorted(values)
    weighted = sum((2 * i - n + 1) * x for i, x in enumerate(ordered))
    return weighted / (n * total)


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0–100) of an already sorted sequence (0.0 if empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def batch_means_se(values: Sequence[float], batches: int = 20) -> float:
    """Standard error of the mean of a correlated series (a Markov chain's output) by batch
    means: the series cut into ``batches`` consecutive equal batches, whose means are close
    to independent once a batch is much longer than the chain's memory."""
    size = len(values) // batches
    if size < 2:
        return math.inf
    means = [math.fsum(values[i * size : (i + 1) * size]) / size for i in range(batches)]
    m = math.fsum(means) / batches
    var = math.fsum((x - m) ** 2 for x in means) / (batches - 1)
    return math.sqrt(var / batches)


def chi_square(observed: Sequence[int], expected: Sequence[float]) -> float:
    return math.fsum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X chi-square with ``df`` degrees of freedom: the regularised upper
    incomplete gamma Q(df/2, x/2), by its series below a+1 and its continued fraction
    above (Numerical Recipes, 6.2), to about 1e-12."""
    if x <= 0:
        return 1.0
    a, z = df / 2.0, x / 2.0
    log_front = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1:
        term = total = 1.0 / a
        k = a
        for _ in range(10_000):
            k += 1
            term *= z / k
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = z + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def chi2_quantile(p: float, df: int) -> float:
    """The x with P(X <= x) = ``p`` for chi-square with ``df`` degrees of freedom (bisection
    on ``chi2_sf``)."""
    lo, hi = 0.0, max(10.0, 10.0 * df)
    while chi2_sf(hi, df) > 1 - p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if chi2_sf(mid, df) > 1 - p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def binned(
    counts: dict[int, int], probabilities: Sequence[float], n: int, min_expected: float = 5.0
) -> tuple[list[int], list[float], list[str]]:
    """Observed and expected counts in bins 0, 1, ... and one last bin for the tail, merged
    so that every expected count is at least ``min_expected`` (the usual condition for the
    chi-square approximation). ``probabilities[k]`` is P(k); the tail takes the rest."""
    observed: list[int] = []
    expected: list[float] = []
    labels: list[str] = []
    k = 0
    rest = 1.0
    while k < len(probabilities) and n * (rest - probabilities[k]) >= min_expected:
        if n * probabilities[k] < min_expected:
            break
        observed.append(counts.get(k, 0))
        expected.append(n * probabilities[k])
        labels.append(str(k))
        rest -= probabilities[k]
        k += 1
    observed.append(sum(c for value, c in counts.items() if value >= k))
    expected.append(n * max(rest, 0.0))
    labels.append(f"{k}+")
    return observed, expected, labels
