"""``letsnode sweep``: one scenario over a grid of parameters and several seeds, each run a
task on Dask distributed.

A sweep file names the scenario (relative to itself), the seeds, fixed overrides
(``[set]``) and the grid (``[grid]``: each key a list of values; the points are their
product). A point is a list of ``KEY=VALUE`` overrides and a seed, run by ``run_point``
exactly as ``letsnode simulate SCENARIO --set KEY=VALUE ... --seed S`` runs it (the same
function makes the same files), so any point can be run again alone for its full report.

Dask is imported here only, inside ``run_sweep``: a ``LocalCluster`` of ``workers``
processes (one thread each: a run is one trio loop on one core) or the cluster at
``scheduler`` (its workers need letsnode installed). Tasks carry the scenario's TOML
document, not its path, so remote workers need no copy of the file.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letsnode.sim.fields import ScenarioError, Table
from letsnode.sim.overrides import apply_overrides, split_override
from letsnode.sim.parse import parse_scenario, read_document

OUTCOMES = (
    ("success_rate", "payments that succeeded"),
    ("cross_success_rate", "payments to other communities that succeeded"),
    ("gini_end", "Gini of balances above the floor (mean over communities, last day)"),
    ("at_floor_share_end", "members at their floor (mean over communities, last day)"),
    ("line_utilisation_mean", "line utilisation (mean over lines and days)"),
    ("cleared_units", "debt cleared by rounds (units, all communities)"),
    ("latency_p50_s", "latency of cross-community payments, median (s)"),
)


@dataclass(frozen=True, slots=True)
class Point:
    index: int
    values: tuple[tuple[str, Any], ...]  # the grid's keys and this point's values
    seed: int

    @property
    def name(self) -> str:
        return f"p{self.index:03d}-seed{self.seed}"


@dataclass(frozen=True, slots=True)
class Plan:
    file: Path
    scenario_file: Path
    document: dict[str, Any]
    fixed: tuple[tuple[str, Any], ...]
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...]
    points: tuple[Point, ...]

    def overrides(self, point: Point) -> list[str]:
        return [f"{k}={toml_value(v)}" for k, v in (*self.fixed, *point.values)]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ScenarioError(f"a sweep value must be a number, text, true/false or an array: {value!r}")


def _flat(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flat(value, name + "."))
        else:
            out.append((name, value))
    return out


def load_sweep(path: Path) -> Plan:
    """Read and check a sweep file: every point's scenario is checked before any runs."""
    top = Table(read_document(path), "", str(path))
    scenario_file = (path.parent / top.get_str("scenario")).resolve()
    raw_seeds = top.raw("seeds", 3)
    if isinstance(raw_seeds, int) and not isinstance(raw_seeds, bool) and 1 <= raw_seeds <= 1000:
        seeds = tuple(range(1, raw_seeds + 1))
    elif (
        isinstance(raw_seeds, list)
        and raw_seeds
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in raw_seeds)
    ):
        seeds = tuple(raw_seeds)
    else:
        raise top.error("seeds", "must be a count (1 to 1000) or a list of seeds (whole numbers)")
    fixed = tuple(_flat(top.get_table("set").data))
    grid_items = _flat(top.get_table("grid", required=True).data)
    if not grid_items:
        raise top.error("grid", "must give at least one key with a list of values")
    for key, values in grid_items:
        if not isinstance(values, list) or not values:
            raise top.error(f"grid.{key}", "must be a non-empty list of values")
    top.done()
    grid = tuple((k, tuple(v)) for k, v in grid_items)
    document = read_document(scenario_file)
    combos = list(itertools.product(*(values for _, values in grid)))
    points = []
    for index, combo in enumerate(combos):
        values = tuple(zip([k for k, _ in grid], combo, strict=True))
        for seed in seeds:
            points.append(Point(index, values, seed))
    plan = Plan(path, scenario_file, document, fixed, grid, seeds, tuple(points))
    for combo_point in points[:: len(seeds)]:  # check each combination once, before running
        items = [split_override(o) for o in plan.overrides(combo_point)]
        parse_scenario(apply_overrides(document, items, str(scenario_file)), str(scenario_file))
    return plan


@dataclass(frozen=True, slots=True)
class PointResult:
    name: str
    summary_text: str
    metrics_text: str
    payments: int
    wall_s: float


def run_point(
    document: dict[str, Any], file: str, overrides: list[str], seed: int, signatures: bool
) -> PointResult:
    """One point, as ``letsnode simulate FILE --set ... --seed SEED`` would run it (a Dask
    task: everything it needs travels in its arguments)."""
    from letsnode.sim.outputs import metrics_text, summary_text
    from letsnode.sim.runner import RunOptions, run_scenario
    from letsnode.sim.summary import build_summary

    items = [split_override(o) for o in overrides] + [("seed", seed)]
    scenario = parse_scenario(apply_overrides(document, items, file), file, tuple(overrides))
    data = run_scenario(scenario, RunOptions(signatures=signatures))
    summary = build_summary(data)
    name = f"{'-'.join(overrides)}-seed{seed}"
    return PointResult(
        name, summary_text(summary), metrics_text(data.rows), data.payments.count, data.wall_s
    )


def outcomes(summary: dict[str, Any]) -> dict[str, float]:
    """The figures a sweep plots, from one point's summary."""
    communities = summary["communities"]
    lines = summary["lines"]
    cleared = 0.0
    units = {c["short"]: c for c in communities}
    for c in units.values():
        cleared += float(c["cleared"])

    def mean(values: list[float]) -> float:
        return math.fsum(values) / len(values) if values else 0.0

    totals = summary["totals"]
    return {
        "success_rate": totals["success_rate"] or 0.0,
        "cross_success_rate": totals["cross_success_rate"] or 0.0,
        "gini_end": mean([c["gini_end"] for c in communities]),
        "at_floor_share_end": mean([c["at_floor_share_end"] for c in communities]),
        "line_utilisation_mean": mean([x["utilisation_mean"] for x in lines]),
        "cleared_units": cleared,
        "latency_p50_s": summary["latency_s"]["p50"],
    }


def run_sweep(
    plan: Plan,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    signatures: bool = True,
) -> list[str]:
    """Run every point on Dask, write each point's files and the sweep's table and report;
    returns the lines the command prints."""
    import logging

    from distributed import Client, LocalCluster, as_completed

    from letsnode.sim.sweep_report import write_sweep_report
    from letsnode.views.progress import task_progress

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    cluster = None
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        )  # fmt: skip
    try:
        with Client(scheduler if scheduler is not None else cluster) as client:  # type: ignore[no-untyped-call]
            n_workers = len(client.scheduler_info().get("workers", {}))
            futures = {}
            for point in plan.points:
                future = client.submit(
                    run_point, plan.document, str(plan.scenario_file), plan.overrides(point),
                    point.seed, signatures, key=f"letsnode-sweep-{point.name}", pure=False,
                )  # fmt: skip
                futures[future] = point
            results: dict[Point, dict[str, Any]] = {}
            with task_progress("sweep", len(futures)) as advance:
                for done, future in enumerate(as_completed(futures), 1):  # type: ignore[no-untyped-call]
                    point = futures[future]
                    result: PointResult = future.result()
                    folder = out / "points" / point.name
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / "summary.json").write_text(result.summary_text, encoding="utf-8")
                    (folder / "metrics.csv").write_text(result.metrics_text, encoding="utf-8")
                    results[point] = json.loads(result.summary_text)
                    advance(done, point.name)
    finally:
        if cluster is not None:
            cluster.close()
    wall = time.perf_counter() - started
    write_sweep_report(plan, results, out, wall, n_workers)
    return [
        f"sweep of {len(plan.points)} runs ({len(plan.points) // len(plan.seeds)} points x "
        f"{len(plan.seeds)} seeds) on {n_workers} Dask workers: {wall:,.1f} s",
        f"wrote {out / 'sweep.csv'}, {out / 'report.html'} and {out / 'points'}/",
    ]
