"""Benchmark of the simulator: simulated payments per second of wall time.

    .venv/bin/python scripts/bench_simulate.py [--payments 1000000] [--communities 100]
        [--members 1000] [--skip-signed] [--skip-sweep]

1. Baseline, in the same run: the plain ledger's ``apply`` on one core (payments already
   signed, applied to a fresh ledger with both signatures checked, and without checks).
2. 100 communities x 1,000 members in a small world of lines, real rules, with and without
   signatures (each run in a process of its own, for its own peak memory): payments per
   second of wall time, and the ratio to the baseline.
3. A sweep of 16 runs on 1 and on 2 Dask workers: how much faster 2 are.

The machine is shared: each figure comes with the CPU that other processes took meanwhile
(in cores, from /proc/stat) and the load average. Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def other_load(
    before: tuple[int, int], after: tuple[int, int], own_cpu_s: float, wall: float
) -> float:
    """Cores that other processes kept busy while we ran."""
    hz = os.sysconf("SC_CLK_TCK")
    busy_s = (after[0] - before[0]) / hz
    return max(0.0, (busy_s - own_cpu_s) / wall) if wall else 0.0


def baseline(n: int = 20_000) -> dict[str, float]:
    from letsnode.core.crypto import SigningKey
    from letsnode.core.rules.ledger import Ledger
    from letsnode.core.wire.entries import Admit, Genesis, Order, Payment

    node = SigningKey(bytes(range(32)))
    keys = [SigningKey(i.to_bytes(32, "big")) for i in range(1, 1001)]
    source = Ledger()
    entries = [
        source.append(node, 1, Genesis(node.public, "Bench", "bench", "UNIT", 2, -(10**9), None))
    ]
    for i, k in enumerate(keys):
        entries.append(source.append(node, 1, Admit(f"m{i}", k.public, "member", -(10**9), None)))
    rng = random.Random(1)
    payments = []
    for _ in range(n):
        a, b = rng.sample(range(len(keys)), 2)
        nonce = source.accounts[f"m{a}"].last_nonce + 1
        signed = Order(node.public, f"m{a}", f"m{b}", 100, nonce, "").sign(keys[a])
        payments.append(source.append(node, 2, Payment(signed)))
    out = {}
    for label, check in (("apply_per_s_checked", True), ("apply_per_s_unchecked", False)):
        ledger = Ledger()
        for e in entries:
            ledger.apply(e)
        started = time.process_time()
        for e in payments:
            ledger.apply(e, check_node_signature=check, check_member_signature=check)
        out[label] = n / (time.process_time() - started)
    return out


def bench_scenario(communities: int, members: int, payments: int) -> dict[str, Any]:
    """A generated federation whose trade makes about ``payments`` payments."""
    rate = 5.0  # payments a member starts per day: a million in two days
    days = payments / (communities * members * rate)
    return {
        "name": f"Benchmark: {communities} communities x {members} members",
        "days": round(days, 4),
        "seed": 1,
        "defaults": {"members": members, "trade_rate": rate, "floor": -100, "ceiling": 200,
                     "amount_median": 5, "unit": "UNIT"},
        "communities": [{"short": "c", "name": "Community", "count": communities}],
        "topology": {"kind": "small-world", "k": 4, "p": 0.1, "limit": 5000},
        "trade": {"cross_share": 0.01, "partner_share": 0.9},
        "clearing": {"period_days": 1, "coordinators": ["c1"]},
        "network": {"latency_ms": 40},
    }  # fmt: skip


def one_run(document: dict[str, Any], signatures: bool) -> dict[str, Any]:
    from letsnode.sim.metrics import COLUMNS
    from letsnode.sim.parse import parse_scenario
    from letsnode.sim.runner import RunOptions, run_scenario

    scenario = parse_scenario(document, "benchmark.toml")
    before = cpu_ticks()
    cpu0 = time.process_time()
    data = run_scenario(scenario, RunOptions(signatures=signatures))
    cpu = time.process_time() - cpu0
    after = cpu_ticks()
    trade_wall = data.wall_s - data.setup_wall_s
    return {
        "signatures": signatures,
        "payments": data.payments.count,
        "cross_payments": sum(r[COLUMNS.index("cross_payments")] for r in data.rows),
        "wall_s": round(data.wall_s, 1),
        "setup_s": round(data.setup_wall_s, 1),
        "payments_per_s": round(data.payments.count / trade_wall),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "other_cores": round(other_load(before, after, cpu, data.wall_s), 2),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


def in_child(document: dict[str, Any], signatures: bool) -> dict[str, Any]:
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from scripts.bench_simulate import one_run; "
        "print(json.dumps(one_run(json.loads(sys.argv[1]), sys.argv[2] == 'yes')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(document), "yes" if signatures else "no"],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"a benchmark run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def sweep_speedup(days: float) -> dict[str, Any]:
    from letsnode.sim.sweep import load_sweep, run_sweep

    text = (
        f'scenario = "{ROOT / "simulations" / "regional.toml"}"\nseeds = [1, 2]\n'
        f'[set]\ndays = {days}\n[grid]\n"defaults.floor" = [-20, -50]\n'
        '"topology.limit" = [100, 500]\n"clearing.period_days" = [0, 3]\n'
    )
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweep.toml"
        path.write_text(text)
        plan = load_sweep(path)
        for workers in (1, 2):
            before, started = cpu_ticks(), time.perf_counter()
            run_sweep(plan, Path(tmp) / f"out{workers}", workers=workers)
            wall = time.perf_counter() - started
            hz = os.sysconf("SC_CLK_TCK")
            busy = (cpu_ticks()[0] - before[0]) / hz
            out[f"wall_s_{workers}_workers"] = round(wall, 1)
            out[f"busy_cores_{workers}_workers"] = round(busy / wall, 2)
        out["runs"] = len(plan.points)
        out["speedup"] = round(out["wall_s_1_workers"] / out["wall_s_2_workers"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=100)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--skip-signed", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--sweep-days", type=float, default=8, help="days of each sweep run")
    args = parser.parse_args()
    result: dict[str, Any] = {"cores": os.cpu_count()}
    result["baseline"] = {k: round(v) for k, v in baseline().items()}
    b = result["baseline"]
    print(
        f"ledger apply on one core: {b['apply_per_s_checked']:,}/s with signatures checked, "
        f"{b['apply_per_s_unchecked']:,}/s without"
    )
    document = bench_scenario(args.communities, args.members, args.payments)
    runs = []
    for signatures in [False] if args.skip_signed else [False, True]:
        run = in_child(document, signatures)
        base = result["baseline"]["apply_per_s_checked" if signatures else "apply_per_s_unchecked"]
        run["ratio_to_apply"] = round(run["payments_per_s"] / base, 4)
        runs.append(run)
        print(
            f"{args.communities} x {args.members}, signatures {'on' if signatures else 'off'}: "
            f"{run['payments']:,} payments ({run['cross_payments']:,} across lines) in "
            f"{run['wall_s']:,} s ({run['setup_s']} s building): {run['payments_per_s']:,}/s, "
            f"{run['ratio_to_apply']} of apply; peak {run['peak_rss_mb']:,} MB; other processes "
            f"{run['other_cores']} cores, load {' '.join(run['loadavg'])}"
        )
    result["runs"] = runs
    if not args.skip_sweep:
        result["sweep"] = sweep_speedup(args.sweep_days)
        s = result["sweep"]
        print(f"sweep of {s['runs']} runs: {s['wall_s_1_workers']} s on 1 worker, "
              f"{s['wall_s_2_workers']} s on 2: {s['speedup']}x")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
