"""Payments per second through the node's HTTP API (POST /api/payments) on 127.0.0.1.

Pre-signs N orders from M payers (each payer's nonces in order, so each payer sends its
orders one after another; the M payers run concurrently, each signed in with its session
cookie), starts a real node (``run_node``: Starlette on trio, served by the node's own
HTTP/1.1 server unless ``--server hypercorn``) in a separate process with rate limits
lifted, posts the orders, and prints payments/s, latency percentiles and the CPU the node
and the client took per payment. The machinery is in ``scripts/http_pay_bench.py`` (shared
with ``bench_ingest.py``). The baseline, measured in the same run, is the library path the
endpoint wraps: ``Community.pay`` called directly in this process on an identical ledger.
``--compare`` also measures the same runs served by Hypercorn, alternating with the chosen
server, and prints the speed-up.

    .venv/bin/python scripts/bench_http_pay.py [--orders 4000] [--payers 16] [--wallets 0]
        [--pool inline|thread|process] [--client raw|httpx] [--server letsnode|hypercorn]
        [--compare] [--repeat 1]

The last line printed is a JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from http_pay_bench import CLIENTS, make_ledger, measure_http, sign_orders

from letsnode.core.crypto import SigningKey
from letsnode.http import HTTP_SERVERS


def baseline(keys: list[SigningKey], per_payer: int) -> float:
    """Library payments/s: Community.pay in this process, same ledger shape and orders."""
    with tempfile.TemporaryDirectory() as tmp:
        c = make_ledger(Path(tmp) / "base", keys)
        try:
            orders = sign_orders(c.genesis.community_id, keys, per_payer)
            flat = [o for round_ in zip(*orders, strict=True) for o in round_]
            start = time.perf_counter()
            for signed in flat:
                c.pay(signed)
            return len(flat) / (time.perf_counter() - start)
        finally:
            c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--payers", type=int, default=16)
    parser.add_argument(
        "--wallets",
        type=int,
        default=0,
        help="payers that also hold their wallet's live updates open (GET /api/events)",
    )
    parser.add_argument(
        "--pool",
        choices=["inline", "thread", "process"],
        default="inline",
        help="where the node checks member signatures (run_node's verify_pool)",
    )
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="raw",
        help="raw: pre-encoded requests on trio sockets (little CPU); httpx: a full client",
    )
    parser.add_argument(
        "--server", choices=HTTP_SERVERS, default="letsnode", help="who serves HTTP in the node"
    )
    parser.add_argument(
        "--compare", action="store_true", help="also measure Hypercorn, run for run"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh node")
    args = parser.parse_args()
    per_payer = max(1, args.orders // args.payers)
    keys = [SigningKey(secrets.token_bytes(32)) for _ in range(args.payers)]
    servers = [args.server]
    if args.compare and args.server != "hypercorn":
        servers.append("hypercorn")

    base_rate = baseline(keys, per_payer)
    runs: dict[str, list[dict[str, Any]]] = {server: [] for server in servers}
    for i in range(args.repeat):
        for server in servers:
            print(f"-- run {i + 1} of {args.repeat}, {server} HTTP server")
            result = measure_http(
                args.orders, args.payers, args.pool, args.client, args.wallets, keys, server
            )
            for line in result.lines():
                print(line)
            runs[server].append(result.summary())
    medians = {server: median(server_runs) for server, server_runs in runs.items()}
    rate = medians[args.server]["http_payments_per_second"]
    print(f"baseline         {base_rate:,.0f} payments/s (Community.pay in-process, same run)")
    print(f"ratio            {rate / base_rate:.2f} of the library path")
    for server, server_runs in runs.items():
        rates = ", ".join(f"{r['http_payments_per_second']:,.0f}" for r in server_runs)
        print(f"runs             {server}: {rates} payments/s (medians in the JSON line)")
    summary = {
        **medians[args.server],
        "runs_payments_per_second": [r["http_payments_per_second"] for r in runs[args.server]],
        "baseline_payments_per_second": round(base_rate, 1),
        "ratio": round(rate / base_rate, 3),
    }
    if "hypercorn" in medians and args.server != "hypercorn":
        other = medians["hypercorn"]
        speedup = rate / other["http_payments_per_second"]
        print(
            f"against          Hypercorn {other['http_payments_per_second']:,.0f} payments/s, "
            f"p99 {other['p99_ms']:.1f} ms: {speedup:.2f}× the payments/s"
        )
        summary["hypercorn_payments_per_second"] = other["http_payments_per_second"]
        summary["hypercorn_p99_ms"] = other["p99_ms"]
        summary["hypercorn_node_cpu_us_per_payment"] = other["node_cpu_us_per_payment"]
        summary["speedup_over_hypercorn"] = round(speedup, 2)
    print(json.dumps(summary))


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run by payments/s (the upper one of an even count)."""
    ordered = sorted(runs, key=lambda r: r["http_payments_per_second"])
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    main()
