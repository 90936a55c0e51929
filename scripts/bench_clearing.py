#!/usr/bin/env python3
"""Benchmark the clearing engine on synthetic obligation graphs, against networkx.

For each size (obligations) a fresh subprocess builds a seeded graph with heavy-tailed
degrees, times ``letsnode.core.clearing.engine.solve`` end to end (numbering, aggregation,
SCC filter, OR-Tools min-cost flow, split back onto obligations) and records the peak
resident memory of that process (``getrusage`` maxrss, taken before the baseline runs,
so sizes never mix). Up to ``--networkx-max`` obligations the same process then runs
the baseline: networkx ``network_simplex`` on the very graph our solver sees (the
SCC-filtered aggregated graph), timing only the simplex call, and checks that both find
the same optimum. The speedup is baseline seconds / our end-to-end seconds.

Goals: ≥ 20× faster than networkx at 100k obligations; 1M obligations in < 30 s and
< 4 GB. The last line printed is one JSON object with every figure.

    .venv/bin/python scripts/bench_clearing.py [--sizes 10000,100000] [--no-networkx]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
SPEEDUP_GOAL = 20.0
SECONDS_GOAL_1M = 30.0
MEMORY_GOAL_MB = 4096.0


def synthetic_obligations(size: int, seed: int) -> list[Any]:
    """``size`` obligations among ``size // 10`` participants (at least 50).

    Endpoints are drawn from a Zipf-like popularity (weight ∝ rank^-0.9, ranks shuffled),
    the same for buying and selling, so a few hubs trade a lot in both directions, as in
    real credit networks. Amounts are log-normal with a median of 30.00 at scale 2.
    """
    import numpy as np

    from letsnode.core.clearing.engine import Obligation

    rng = np.random.default_rng(seed)
    people = max(50, size // 10)
    weight = 1.0 / np.arange(1, people + 1) ** 0.9
    weight /= weight.sum()
    rank = rng.permutation(people)
    debtors = rank[rng.choice(people, size, p=weight)]
    creditors = rank[rng.choice(people, size, p=weight)]
    while np.any(clash := debtors == creditors):  # no self-loops; redraw those creditors
        creditors[clash] = rank[rng.choice(people, int(clash.sum()), p=weight)]
    amounts = np.maximum(1, np.rint(rng.lognormal(np.log(3000), 1.2, size))).astype(np.int64)
    names = [f"c{i:06d}" for i in range(people)]
    return [
        Obligation(names[d], names[c], a)
        for d, c, a in zip(debtors.tolist(), creditors.tolist(), amounts.tolist(), strict=True)
    ]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def networkx_baseline(obligations: list[Any]) -> tuple[float, int, int]:
    """(simplex seconds, cleared, arcs) of networkx on our SCC-filtered aggregated graph."""
    import networkx as nx

    from letsnode.core.clearing.engine import clearing_graph

    graph = clearing_graph(obligations)
    names = graph.participants
    digraph = nx.DiGraph()
    for node, supply in enumerate(graph.supplies().tolist()):
        if supply:
            digraph.add_node(names[node], demand=-supply)  # networkx: negative demand sends
    for tail, head, capacity in zip(
        graph.tails.tolist(), graph.heads.tolist(), graph.capacities.tolist(), strict=True
    ):
        digraph.add_edge(names[tail], names[head], capacity=capacity, weight=1)
    started = time.perf_counter()
    least_remaining, _ = nx.network_simplex(digraph)
    seconds = time.perf_counter() - started
    return seconds, int(graph.capacities.sum()) - least_remaining, len(graph.capacities)


def worker(size: int, seed: int, with_networkx: bool) -> dict[str, Any]:
    """Measure one size in this (fresh) process."""
    from letsnode.core.clearing.engine import solve

    started = time.perf_counter()
    obligations = synthetic_obligations(size, seed)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = solve(obligations)
    seconds = time.perf_counter() - started
    figures: dict[str, Any] = {
        "obligations": size,
        "participants": len(result.participants),
        "build_seconds": round(build_seconds, 3),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "cleared_percent": round(result.cleared_percent, 2),
        "cleared_minor": result.cleared,
        "total_minor": result.total,
    }
    if with_networkx:
        nx_seconds, nx_cleared, arcs = networkx_baseline(obligations)
        if nx_cleared != result.cleared:
            raise SystemExit(f"networkx cleared {nx_cleared}, we cleared {result.cleared}")
        figures |= {
            "scc_arcs": arcs,
            "networkx_seconds": round(nx_seconds, 3),
            "speedup": round(nx_seconds / seconds, 1),
        }
    return figures


def run_size(size: int, seed: int, with_networkx: bool) -> dict[str, Any]:
    """Run ``worker`` in a fresh interpreter so each size has its own memory peak."""
    command = [sys.executable, __file__, "--worker", str(size), "--seed", str(seed)]
    if with_networkx:
        command.append("--networkx")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"size {size} failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def summary(runs: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Every figure in one object, plus the goals and whether they were met."""
    by_size = {run["obligations"]: run for run in runs}
    out: dict[str, Any] = {"seed": seed, "runs": runs}
    if 100_000 in by_size and "speedup" in by_size[100_000]:
        out["speedup_100k"] = by_size[100_000]["speedup"]
        out["speedup_100k_goal_met"] = out["speedup_100k"] >= SPEEDUP_GOAL
    if 1_000_000 in by_size:
        big = by_size[1_000_000]
        out["seconds_1m"] = big["seconds"]
        out["peak_rss_mb_1m"] = big["peak_rss_mb"]
        out["seconds_1m_goal_met"] = big["seconds"] < SECONDS_GOAL_1M
        out["memory_1m_goal_met"] = big["peak_rss_mb"] < MEMORY_GOAL_MB
    return out


def print_table(runs: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="clearing engine (OR-Tools min-cost flow) vs networkx network_simplex")
    for column in (
        "obligations",
        "participants",
        "SCC arcs",
        "seconds",
        "peak RSS MiB",
        "cleared %",
        "networkx s",
        "speedup",
    ):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(
            f"{run['obligations']:,}",
            f"{run['participants']:,}",
            f"{run['scc_arcs']:,}" if "scc_arcs" in run else "—",
            f"{run['seconds']:.3f}",
            f"{run['peak_rss_mb']:,.0f}",
            f"{run['cleared_percent']:.2f}",
            f"{run['networkx_seconds']:.3f}" if "networkx_seconds" in run else "—",
            f"{run['speedup']:.1f}×" if "speedup" in run else "—",
        )
    Console(width=120).print(table)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="comma-separated numbers of obligations (default: %(default)s)",
    )
    parser.add_argument("--no-networkx", action="store_true", help="skip the networkx baseline")
    parser.add_argument(
        "--networkx-max",
        type=int,
        default=100_000,
        help="largest size to run networkx on (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=20260101, help="RNG seed (default: %(default)s)"
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--networkx", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.seed, args.networkx)))
        return
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    runs = []
    for size in sizes:
        with_networkx = not args.no_networkx and size <= args.networkx_max
        print(f"measuring {size:,} obligations ...", file=sys.stderr, flush=True)
        runs.append(run_size(size, args.seed, with_networkx))
    print_table(runs)
    print(json.dumps(summary(runs, args.seed)))


if __name__ == "__main__":
    main()
