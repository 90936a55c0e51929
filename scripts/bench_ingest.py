#!/usr/bin/env python3
"""Benchmark: durable payments per second through ``letsnode.node.ingest.LedgerWriter``.

Core + store, no network: a fresh community (SQLite in WAL with synchronous=FULL, so every
acknowledged payment is on disk) under out/bench/ (git-ignored). In the same run:

  * light load: one payment at a time (p50/p99 latency, payments/s);
  * saturating load: many concurrent submitters, for each kind of signature pool
    (process, thread, inline) - the headline is the default, ``process``;
  * a bare single-core libsodium verify loop over the same orders' signatures, before and
    after the loads (averaged).

ratio = saturated payments/s / bare single-core verifications/s (goal ≥ 0.6). Each payment
needs one member-signature check before the writer and one node signature in the writer.

Then the same durable payments through the HTTP API: a real node (``run_node``) in its own
process, ``--http-payers`` members signed in with their session cookies posting their
signed orders to ``POST /api/payments`` one after another, all concurrently (payments/s,
p50/p99 latency, CPU per payment of the node and of the client). The machinery is shared
with ``scripts/bench_http_pay.py`` (``scripts/http_pay_bench.py``). The last line is one
JSON object with every figure.

    scripts/bench_ingest.py [--accounts M] [--light N] [--saturated N] [--submitters C]
        [--http-orders N (0: skip)] [--http-payers P] [--http-wallets W]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trio  # noqa: E402
from http_pay_bench import CLIENTS, measure_http  # noqa: E402
from nacl.bindings import crypto_sign_open  # noqa: E402

from letsnode.audit.pool import VerifyPool, available_cores  # noqa: E402
from letsnode.community.folder import Community  # noqa: E402
from letsnode.core.crypto import DOMAIN_ORDER, SigningKey  # noqa: E402
from letsnode.core.wire.entries import Admit, Order, SignedOrder  # noqa: E402
from letsnode.node.ingest import open_ledger_writer  # noqa: E402

FLOOR = -10_000_000


def handle(i: int) -> str:
    return f"member-{i:05d}"


def make_community(folder: Path, accounts: int) -> tuple[Community, list[SigningKey]]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    community = Community.create(
        folder,
        name="Ingest bench",
        short="ingest",
        unit="HOUR",
        scale=2,
        floor=FLOOR,
        ceiling=None,
    )
    keys = [
        SigningKey(hashlib.blake2b(b"ingest-bench-%d" % i, digest_size=32).digest())
        for i in range(accounts)
    ]
    ledger = community.ledger
    batch = [
        ledger.append(community.key, 0, Admit(handle(i), k.public, "member", FLOOR, None))
        for i, k in enumerate(keys)
    ]
    community.store.commit(batch, ledger)
    return community, keys


def sign_orders(
    community: Community, keys: list[SigningKey], payers: list[int], count: int, rng: random.Random
) -> list[SignedOrder]:
    """``count`` orders, paid by ``payers`` in turn, with the next nonces of each."""
    nonces = {p: community.ledger.accounts[handle(p)].last_nonce for p in payers}
    orders = []
    cid = community.genesis.community_id
    for i in range(count):
        payer = payers[i % len(payers)]
        payee = rng.randrange(len(keys))
        if payee == payer:
            payee = (payee + 1) % len(keys)
        nonces[payer] += 1
        order = Order(cid, handle(payer), handle(payee), rng.randint(1, 500), nonces[payer], "")
        orders.append(order.sign(keys[payer]))
    return orders


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {
        "payments": len(latencies),
        "seconds": round(seconds, 3),
        "payments_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }


async def light_load(community: Community, pool: VerifyPool, orders: list[SignedOrder]) -> Any:
    latencies = []
    async with open_ledger_writer(community, pool=pool) as writer:
        started = time.perf_counter()
        for signed in orders:
            t = time.perf_counter()
            await writer.pay(signed)
            latencies.append(time.perf_counter() - t)
        seconds = time.perf_counter() - started
    return summary(latencies, seconds)


async def saturated_load(
    community: Community, pool: VerifyPool, per_submitter: list[list[SignedOrder]]
) -> Any:
    latencies: list[float] = []

    async def submitter(orders: list[SignedOrder]) -> None:
        for signed in orders:
            t = time.perf_counter()
            await writer.pay(signed)
            latencies.append(time.perf_counter() - t)

    async with open_ledger_writer(community, pool=pool) as writer:
        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for orders in per_submitter:
                nursery.start_soon(submitter, orders)
        seconds = time.perf_counter() - started
    result = summary(latencies, seconds)
    result["batches"] = writer.stats.batches
    result["mean_batch"] = round(writer.stats.entries / max(writer.stats.batches, 1), 1)
    result["largest_batch"] = writer.stats.largest_batch
    return result


def bare_rate(orders: list[SignedOrder], community: Community) -> float:
    keys = {h: a.key for h, a in community.ledger.accounts.items()}
    jobs = [(keys[o.order.payer], o.signature + DOMAIN_ORDER + o.data) for o in orders]
    started = time.perf_counter()
    for key, signed in jobs:
        crypto_sign_open(signed, key)
    return len(jobs) / (time.perf_counter() - started)


def busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (every process, from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pool: VerifyPool) -> float:
    """CPU time of this process and of the pool's worker processes."""
    total = time.process_time()
    for pid in getattr(pool._executor, "_processes", None) or {}:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        total += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--light", type=int, default=300, help="payments one at a time")
    parser.add_argument("--saturated", type=int, default=30_000, help="payments under load")
    parser.add_argument("--submitters", type=int, default=1000, help="concurrent submitters")
    parser.add_argument("--pools", default="process,thread,inline")
    parser.add_argument(
        "--http-orders", type=int, default=4000, help="payments through the API (0: skip)"
    )
    parser.add_argument("--http-payers", type=int, default=16, help="concurrent API payers")
    parser.add_argument(
        "--http-wallets",
        type=int,
        default=0,
        help="payers that also hold their wallet's live updates open (GET /api/events)",
    )
    parser.add_argument(
        "--http-pool",
        choices=["inline", "thread", "process"],
        default="inline",
        help="the node's verify pool (inline: what `letsnode run` uses)",
    )
    parser.add_argument("--http-client", choices=CLIENTS, default="raw")
    args = parser.parse_args()
    rng = random.Random(7)
    cores = available_cores()
    folder = ROOT / "out" / "bench" / "ingest-run"
    community, keys = make_community(folder, args.accounts)
    print(f"machine: {cores} cores available to this process (shared machine: figures are noisy)")
    try:
        kinds = args.pools.split(",")
        results: dict[str, Any] = {}
        with VerifyPool("process") as pool:
            pool.warm_up()
            light = trio.run(
                light_load,
                community,
                pool,
                sign_orders(community, keys, [0, 1, 2], args.light, rng),
            )
        print(
            f"light load (1 at a time, process pool): {light['payments_per_second']:,.0f} "
            f"payments/s, p50 {light['p50_ms']:.2f} ms, p99 {light['p99_ms']:.2f} ms"
        )
        sample: list[SignedOrder] = []
        bare_before = 0.0
        for kind in kinds:
            submitters = min(args.submitters, len(keys))
            payers = list(range(len(keys)))
            per = [
                sign_orders(
                    community, keys, payers[s::submitters], args.saturated // submitters, rng
                )
                for s in range(submitters)
            ]
            if not sample:
                sample = [o for orders in per for o in orders][:20_000]
                bare_before = bare_rate(sample, community)
            with VerifyPool(kind) as pool:  # type: ignore[arg-type]
                pool.warm_up()
                busy, own = busy_seconds(), own_cpu_seconds(pool)
                results[kind] = trio.run(saturated_load, community, pool, per)
                own = own_cpu_seconds(pool) - own
                busy = busy_seconds() - busy
            r = results[kind]
            r["own_cpu_us_per_payment"] = round(own / r["payments"] * 1e6, 1)
            r["others_cores"] = round(max(0.0, busy - own) / r["seconds"], 2)
            print(
                f"saturated ({submitters} submitters, {kind} pool): "
                f"{r['payments_per_second']:,.0f} payments/s, p50 {r['p50_ms']:.1f} ms, "
                f"p99 {r['p99_ms']:.1f} ms, mean group commit {r['mean_batch']} entries; "
                f"CPU {r['own_cpu_us_per_payment']:.0f} µs/payment; other processes used "
                f"{r['others_cores']:.2f} cores meanwhile"
            )
        bare_after = bare_rate(sample, community)
        # Before and after the loads, averaged: this machine's speed drifts over minutes.
        bare = (bare_before + bare_after) / 2
        print(
            f"bare libsodium verify loop, 1 core: {bare:,.0f} signatures/s "
            f"(before {bare_before:,.0f}, after {bare_after:,.0f})"
        )
        headline = results.get("process") or next(iter(results.values()))
        ratio = headline["payments_per_second"] / bare
        print(
            f"ratio = saturated {headline['payments_per_second']:,.0f} / {bare:,.0f} = {ratio:.3f}"
        )
        http: dict[str, Any] | None = None
        if args.http_orders > 0:
            measured = measure_http(
                args.http_orders,
                args.http_payers,
                args.http_pool,
                args.http_client,
                args.http_wallets,
            )
            for line in measured.lines():
                print(line)
            http = measured.summary()
        print(
            json.dumps(
                {
                    "cores": cores,
                    "light": light,
                    "saturated": results,
                    "saturated_payments_per_second": headline["payments_per_second"],
                    "bare_single_core_verify_per_second": round(bare),
                    "bare_before": round(bare_before),
                    "bare_after": round(bare_after),
                    "ratio": round(ratio, 3),
                    "http_payments_per_second": http and http["http_payments_per_second"],
                    "http_p50_ms": http and http["p50_ms"],
                    "http_p99_ms": http and http["p99_ms"],
                    "http": http,
                }
            )
        )
    finally:
        community.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
