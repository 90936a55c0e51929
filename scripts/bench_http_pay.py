"""Payments per second through the node's HTTP API (POST /api/payments) on 127.0.0.1.

Pre-signs N orders from M payers (each payer's nonces in order, so each payer sends its
orders one after another; the M payers run concurrently), starts a real node
(``run_node``: Hypercorn + Starlette on trio) in a separate process with rate limits
lifted, posts the orders with httpx under trio, and prints payments/s and latency
percentiles. The baseline, measured in the same run, is the library path the endpoint
wraps: ``Community.pay`` called directly in this process on an identical ledger.

    .venv/bin/python scripts/bench_http_pay.py [--orders 2000] [--payers 16]

The last line printed is a JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio

from letsnode.community import Community
from letsnode.core.crypto import SigningKey
from letsnode.core.entries import Order, SignedOrder

SERVER = """
import sys, trio
from pathlib import Path
from letsnode.node import run_node
from letsnode.web.common import Limits
off = (1e9, 1e9)
limits = Limits(payments_per_payer=off, payments_per_address=off)
async def main():
    async with trio.open_nursery() as n:
        url = await n.start(lambda task_status: run_node(
            Path(sys.argv[1]), "127.0.0.1:0", task_status=task_status,
            app_options={"limits": limits}, verify_pool=sys.argv[2]))
        print(url, flush=True)
trio.run(main)
"""


def make_ledger(folder: Path, keys: list[SigningKey]) -> Community:
    c = Community.create(
        folder, name="Bench", short="bench", unit="HOUR", scale=2, floor=-(10**12), ceiling=None
    )
    c.admit("sink", key=SigningKey(secrets.token_bytes(32)).public)
    for i, key in enumerate(keys):
        c.admit(f"payer{i}", key=key.public)
    return c


def sign_orders(
    community_id: bytes, keys: list[SigningKey], per_payer: int
) -> list[list[SignedOrder]]:
    return [
        [
            Order(community_id, f"payer{i}", "sink", 1 + n % 500, n + 1, "bench").sign(key)
            for n in range(per_payer)
        ]
        for i, key in enumerate(keys)
    ]


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


async def post_all(url: str, orders: list[list[SignedOrder]]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=len(orders), max_keepalive_connections=len(orders))
    async with httpx.AsyncClient(
        base_url=url, limits=limits, headers={"X-Letsnode": "1"}, timeout=30
    ) as client:

        async def payer(signed_orders: list[SignedOrder]) -> None:
            nonlocal failures
            for signed in signed_orders:
                body = {"order": signed.data.hex(), "signature": signed.signature.hex()}
                t0 = time.perf_counter()
                r = await client.post("/api/payments", json=body)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    failures += 1

        await client.get("/api/community")  # warm up
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for signed_orders in orders:
                nursery.start_soon(payer, signed_orders)
        elapsed = time.perf_counter() - start
    return elapsed, latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--payers", type=int, default=16)
    parser.add_argument(
        "--pool",
        choices=["inline", "thread", "process"],
        default="inline",
        help="where the node checks member signatures (run_node's verify_pool)",
    )
    args = parser.parse_args()
    per_payer = max(1, args.orders // args.payers)
    keys = [SigningKey(secrets.token_bytes(32)) for _ in range(args.payers)]

    base_rate = baseline(keys, per_payer)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "node"
        c = make_ledger(folder, keys)
        orders = sign_orders(c.genesis.community_id, keys, per_payer)
        c.close()
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(folder), args.pool],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            elapsed, latencies, failures = trio.run(post_all, url, orders)
        finally:
            server.terminate()
            server.wait(10)
            if server.stdout is not None:
                server.stdout.close()
        with Community.opened(folder) as check:
            recorded = len(check.history("sink"))

    total = len(latencies)
    rate = total / elapsed
    qs = statistics.quantiles(latencies, n=100)
    p50, p99 = qs[49] * 1000, qs[98] * 1000
    print(f"orders           {total} from {args.payers} concurrent payers ({per_payer} each)")
    print(f"recorded         {recorded} (refused {failures})")
    print(f"HTTP payments/s  {rate:,.0f}   (POST /api/payments, node in its own process)")
    print(f"latency          p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"baseline         {base_rate:,.0f} payments/s (Community.pay in-process, same run)")
    print(f"ratio            {rate / base_rate:.2f} of the library path")
    print(
        json.dumps(
            {
                "orders": total,
                "payers": args.payers,
                "verify_pool": args.pool,
                "recorded": recorded,
                "refused": failures,
                "http_payments_per_s": round(rate, 1),
                "p50_ms": round(p50, 2),
                "p99_ms": round(p99, 2),
                "baseline_payments_per_s": round(base_rate, 1),
                "ratio": round(rate / base_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
