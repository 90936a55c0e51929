"""A run's plots as PNG bytes (matplotlib's object API on the Agg canvas, as
``views/clearing_report.py`` draws: no pyplot, no global state).

Each function takes what the run wrote (``metrics.csv``'s rows, the summary) so a report
can be drawn again from the files. With more than ``MANY`` communities a figure shows the
median over communities and the band from the 10th to the 90th percentile instead of
one line each.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from letsnode.sim import stats
from letsnode.sim.metrics import COLUMNS

MANY = 12
WIDTH_IN, HEIGHT_IN, DPI = 7.5, 3.6, 110
_DRAWING = threading.Lock()  # matplotlib's caches are shared: one figure at a time
COL = {name: k for k, name in enumerate(COLUMNS)}
GREEN, ORANGE, GREY, BLUE = "#0b6e4f", "#d0893b", "#57606a", "#2f6db5"


@contextmanager
def figure(rows: int = 1, cols: int = 1, height: float = HEIGHT_IN) -> Iterator[tuple[Any, Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _DRAWING:
        fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.flat:
            ax.grid(color="#d0d7de", linewidth=0.6)
            ax.set_axisbelow(True)
        yield fig, axes


def png(fig: Any) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _series(rows: Sequence[Sequence[Any]], name: str) -> tuple[list[int], dict[str, list[float]]]:
    days = sorted({int(r[0]) for r in rows})
    per: dict[str, list[float]] = {}
    for r in rows:
        per.setdefault(str(r[1]), []).append(float(r[COL[name]]))
    return days, per


def _per_community(ax: Any, rows: Sequence[Sequence[Any]], name: str, label: str) -> None:
    days, per = _series(rows, name)
    if len(per) <= MANY:
        for short, values in per.items():
            ax.plot(days[: len(values)], values, label=short, linewidth=1.2)
        ax.legend(fontsize=7, ncols=min(4, len(per)), frameon=False)
    else:
        columns = list(zip(*per.values(), strict=False))
        med = [stats.percentile(sorted(c), 50) for c in columns]
        lo = [stats.percentile(sorted(c), 10) for c in columns]
        hi = [stats.percentile(sorted(c), 90) for c in columns]
        ax.fill_between(
            days[: len(med)], lo, hi, color=BLUE, alpha=0.2, label="10–90% of communities"
        )
        ax.plot(days[: len(med)], med, color=BLUE, label="median community")
        ax.legend(fontsize=7, frameon=False)
    ax.set_xlabel("day")
    ax.set_ylabel(label)


def payments(rows: Sequence[Sequence[Any]]) -> bytes:
    """Payments per day in the whole network, succeeded and failed; the success rate."""
    days = sorted({int(r[0]) for r in rows})
    ok = [0] * len(days)
    bad = [0] * len(days)
    for r in rows:
        ok[int(r[0])] += int(r[COL["succeeded"]])
        bad[int(r[0])] += int(r[COL["payments"]]) - int(r[COL["succeeded"]])
    with figure(1, 2) as (fig, axes):
        ax = axes[0][0]
        ax.bar(days, ok, color=GREEN, label="succeeded", width=1.0)
        ax.bar(days, bad, bottom=ok, color=ORANGE, label="refused", width=1.0)
        ax.set_xlabel("day")
        ax.set_ylabel("payments")
        ax.legend(fontsize=7, frameon=False)
        ax2 = axes[0][1]
        rate = [100 * o / (o + b) if o + b else math.nan for o, b in zip(ok, bad, strict=True)]
        ax2.plot(days, rate, color=GREEN)
        ax2.set_ylim(0, 100)
        ax2.set_xlabel("day")
        ax2.set_ylabel("success rate (%)")
        fig.suptitle("Payments per day (all communities)", fontsize=10)
        return png(fig)


def failures(summary: dict[str, Any]) -> bytes:
    """Refusals by reason over the whole run."""
    reasons = summary["totals"]["failures"]
    with figure() as (fig, axes):
        ax = axes[0][0]
        if reasons:
            names = sorted(reasons, key=lambda k: -reasons[k])
            ax.barh(names, [reasons[n] for n in names], color=ORANGE)
            ax.invert_yaxis()
            ax.set_xlabel("payments refused")
        else:
            ax.text(0.5, 0.5, "no payment was refused", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
        fig.suptitle("Why payments were refused", fontsize=10)
        return png(fig)


def balances(rows: Sequence[Sequence[Any]]) -> bytes:
    """Inequality (Gini of balances above the floor) and members stuck at their floor."""
    with figure(1, 2) as (fig, axes):
        _per_community(axes[0][0], rows, "gini", "Gini of balances above the floor")
        _per_community(axes[0][1], rows, "at_floor_share", "share of members at their floor")
        fig.suptitle("Balance distribution", fontsize=10)
        return png(fig)


def lines(rows: Sequence[Sequence[Any]], summary: dict[str, Any]) -> bytes:
    """Each line's utilisation (mean and highest over the days) and line debt over time."""
    entries = summary["lines"]
    with figure(1, 2, height=max(HEIGHT_IN, 0.22 * len(entries) + 1.2)) as (fig, axes):
        ax = axes[0][0]
        if entries:
            shown = (
                entries
                if len(entries) <= 40
                else sorted(entries, key=lambda e: -e["utilisation_max"])[:40]
            )
            names = [f"{e['a']}–{e['b']}" for e in shown]
            ax.barh(
                names, [100 * e["utilisation_max"] for e in shown], color=ORANGE, label="highest"
            )
            ax.barh(names, [100 * e["utilisation_mean"] for e in shown], color=GREEN, label="mean")
            ax.invert_yaxis()
            ax.tick_params(axis="y", labelsize=6)
            ax.set_xlabel("utilisation (%)")
            ax.legend(fontsize=7, frameon=False)
        else:
            ax.set_axis_off()
        _per_community(axes[0][1], rows, "line_utilisation", "mean utilisation of its lines")
        fig.suptitle("Credit lines", fontsize=10)
        return png(fig)


def clearing(summary: dict[str, Any]) -> bytes | None:
    rounds = [r for r in summary["clearing"]["rounds"] if r["day"] is not None]
    if not rounds:
        return None
    with figure() as (fig, axes):
        ax = axes[0][0]
        done = [r for r in rounds if r["state"] == "committed"]
        other = [r for r in rounds if r["state"] != "committed"]
        ax.scatter(
            [r["day"] for r in done],
            [float(r["cleared"]) for r in done],
            color=GREEN,
            label="committed",
            s=14,
        )
        ax.scatter(
            [r["day"] for r in other],
            [0.0] * len(other),
            color=ORANGE,
            marker="x",
            label="empty, aborted",
            s=14,
        )
        ax.set_xlabel("day")
        ax.set_ylabel("debt cleared per round (coordinator's unit)")
        ax.legend(fontsize=7, frameon=False)
        fig.suptitle("Clearing rounds", fontsize=10)
        return png(fig)


def latency(latencies: Sequence[float]) -> bytes | None:
    if not latencies:
        return None
    with figure() as (fig, axes):
        ax = axes[0][0]
        ax.hist([1000 * x for x in latencies], bins=40, color=BLUE)
        ax.set_xlabel("latency of a payment to another community (ms)")
        ax.set_ylabel("payments")
        fig.suptitle("Cross-community latency (succeeded payments)", fontsize=10)
        return png(fig)


def traffic(summary: dict[str, Any]) -> bytes:
    communities = summary["communities"]
    with figure(height=max(HEIGHT_IN, 0.16 * len(communities) + 1.2)) as (fig, axes):
        ax = axes[0][0]
        names = [c["short"] for c in communities]
        ax.barh(names, [c["bytes_sent"] / 1e6 for c in communities], color=GREY)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=6 if len(names) > 20 else 8)
        ax.set_xlabel("megabytes sent (requests, responses, gossip)")
        fig.suptitle("Traffic per node", fontsize=10)
        return png(fig)


def validation(
    summary: dict[str, Any], members_end: Sequence[Sequence[int]], unit: int
) -> bytes | None:
    v = summary.get("validation")
    if v is None:
        return None
    with figure() as (fig, axes):
        ax = axes[0][0]
        if v["kind"] == "boltzmann-gibbs":
            ks = [x // unit for x in members_end[0]]
            temperature = float(v["checks"][1]["expected"])
            q = temperature / (temperature + 1)
            top = max(ks, default=0)
            counts = [sum(1 for k in ks if k == j) for j in range(top + 1)]
            ax.bar(range(top + 1), counts, color=BLUE, label="members (measured)")
            ax.plot(
                range(top + 1),
                [len(ks) * (1 - q) * q**j for j in range(top + 1)],
                color=ORANGE,
                label=f"Boltzmann–Gibbs, T = {temperature:g}",
            )
            ax.set_yscale("log")
            ax.set_xlabel("balance above the floor (units)")
            ax.set_ylabel("members")
        else:
            names = [c["name"] for c in v["checks"]]
            ax.barh(
                names,
                [c["expected"] for c in v["checks"]],
                color=ORANGE,
                label="expected",
                height=0.35,
                align="edge",
            )
            ax.barh(
                names,
                [c["measured"] for c in v["checks"]],
                color=GREEN,
                label="measured",
                height=-0.35,
                align="edge",
            )
            ax.tick_params(axis="y", labelsize=7)
            ax.invert_yaxis()
        ax.legend(fontsize=7, frameon=False)
        fig.suptitle(
            f"Validation: {v['kind']} ({'passed' if v['passed'] else 'FAILED'})", fontsize=10
        )
        return png(fig)
