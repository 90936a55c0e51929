"""Payments per second through the node's HTTP API (POST /api/payments) on 127.0.0.1.

Pre-signs N orders from M payers (each payer's nonces in order, so each payer sends its
orders one after another; the M payers run concurrently, each signed in with its session
cookie), starts a real node (``run_node``: Hypercorn + Starlette on trio) in a separate
process with rate limits lifted, posts the orders, and prints payments/s, latency
percentiles and the CPU the node and the client took per payment. The machinery is in
``scripts/http_pay_bench.py`` (shared with ``bench_ingest.py``). The baseline, measured in
the same run, is the library path the endpoint wraps: ``Community.pay`` called directly in
this process on an identical ledger.

    .venv/bin/python scripts/bench_http_pay.py [--orders 4000] [--payers 16] [--wallets 0]
        [--pool inline|thread|process] [--client raw|httpx] [--repeat 1]

The last line printed is a JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path

from http_pay_bench import CLIENTS, make_ledger, measure_http, sign_orders

from letsnode.core.crypto import SigningKey


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
    parser.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh node")
    args = parser.parse_args()
    per_payer = max(1, args.orders // args.payers)
    keys = [SigningKey(secrets.token_bytes(32)) for _ in range(args.payers)]

    base_rate = baseline(keys, per_payer)
    runs = []
    for i in range(args.repeat):
        if args.repeat > 1:
            print(f"-- run {i + 1} of {args.repeat}")
        result = measure_http(args.orders, args.payers, args.pool, args.client, args.wallets, keys)
        for line in result.lines():
            print(line)
        runs.append(result.summary())
    runs.sort(key=lambda r: r["http_payments_per_second"])
    median = runs[len(runs) // 2]  # the upper one of an even count
    rate = median["http_payments_per_second"]
    print(f"baseline         {base_rate:,.0f} payments/s (Community.pay in-process, same run)")
    print(f"ratio            {rate / base_rate:.2f} of the library path")
    if args.repeat > 1:
        rates = ", ".join(f"{r['http_payments_per_second']:,.0f}" for r in runs)
        print(f"runs             {rates} payments/s (the median run is in the JSON line)")
    summary = {
        **median,
        "runs_payments_per_second": [r["http_payments_per_second"] for r in runs],
        "baseline_payments_per_second": round(base_rate, 1),
        "ratio": round(rate / base_rate, 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
