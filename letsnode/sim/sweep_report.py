"""A sweep's table (``sweep.csv``: one row per point and seed) and report: each outcome
plotted against each parameter, the mean over seeds with the spread from the lowest to
the highest seed as error bars, one line per combination of the other parameters (their
mean when there are more than ``MAX_LINES`` combinations).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from letsnode.sim import plots
from letsnode.sim.report import STYLE

if TYPE_CHECKING:
    from letsnode.sim.sweep import Plan, Point

MAX_LINES = 6


def _rows(plan: Plan, results: dict[Point, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    from letsnode.sim.sweep import OUTCOMES, outcomes

    keys = [k for k, _ in plan.grid]
    head = ["point", "seed", *keys, *(name for name, _ in OUTCOMES)]
    rows = []
    for point in sorted(results, key=lambda p: (p.index, p.seed)):
        figures = outcomes(results[point])
        rows.append(
            [point.index, point.seed, *(v for _, v in point.values),
             *(round(figures[name], 6) for name, _ in OUTCOMES)]
        )  # fmt: skip
    return head, rows


def _plot(plan: Plan, rows: list[list[Any]], outcome: int, label: str) -> bytes:
    keys = [k for k, _ in plan.grid]
    n = len(keys)
    with plots.figure(1, n, height=3.0) as (fig, axes):
        for p, key in enumerate(keys):
            ax = axes[0][p]
            values = list(dict.fromkeys(v for k, vs in plan.grid if k == key for v in vs))
            others = sorted({tuple(r[2 + q] for q in range(n) if q != p) for r in rows}, key=repr)
            groups = others if len(others) <= MAX_LINES else [None]
            for other in groups:
                xs, means, lo, hi = [], [], [], []
                for x, value in enumerate(values):
                    ys = [
                        float(r[outcome]) for r in rows
                        if r[2 + p] == value
                        and (other is None or tuple(r[2 + q] for q in range(n) if q != p) == other)
                    ]  # fmt: skip
                    if ys:
                        m = math.fsum(ys) / len(ys)
                        xs.append(x)
                        means.append(m)
                        lo.append(m - min(ys))
                        hi.append(max(ys) - m)
                name = "all" if other is None else ", ".join(map(str, other)) or key
                ax.errorbar(xs, means, yerr=[lo, hi], marker="o", capsize=3, label=name)
            ax.set_xticks(range(len(values)), [str(v) for v in values], fontsize=7)
            ax.set_xlabel(key, fontsize=8)
            if p == 0:
                ax.set_ylabel(label, fontsize=8)
            if len(groups) > 1 and n > 1:
                ax.legend(fontsize=6, frameon=False, title="others", title_fontsize=6)
        fig.suptitle(label, fontsize=10)
        return plots.png(fig)


def write_sweep_report(
    plan: Plan, results: dict[Point, dict[str, Any]], out: Path, wall_s: float, workers: int
) -> None:
    from letsnode.sim.sweep import OUTCOMES

    head, rows = _rows(plan, results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    (out / "sweep.csv").write_text(buffer.getvalue(), encoding="utf-8")
    e = html.escape
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>Sweep: {e(plan.file.name)}</title><style>{STYLE}</style>",
        f"<h1>Sweep of {e(plan.scenario_file.name)}</h1>",
        f"<p class=muted>{e(plan.file.name)}: {len(plan.points)} runs, seeds "
        f"{', '.join(map(str, plan.seeds))}; fixed: "
        f"{e(', '.join(f'{k}={v}' for k, v in plan.fixed) or 'nothing')}. "
        f"{wall_s:,.1f} s on {workers} Dask workers.</p>",
        "<p>Each figure: the mean over seeds, error bars from the lowest to the highest seed. "
        "Every point's files are in points/; run one alone for its full report with "
        "<code>letsnode simulate SCENARIO --set KEY=VALUE ... --seed S</code>.</p>",
    ]
    for k, (name, label) in enumerate(OUTCOMES):
        image = _plot(plan, rows, 2 + len(plan.grid) + k, label)
        parts.append(f"<h2>{e(label)}</h2>")
        parts.append(
            f'<img alt="{e(name)}" src="data:image/png;base64,{base64.b64encode(image).decode()}">'
        )
    parts.append(
        "<h2>Every run</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"
    )
    for r in rows:
        parts.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>")
    parts.append("</table></html>")
    (out / "report.html").write_text("\n".join(parts), encoding="utf-8")
