#!/usr/bin/env python3
"""Cross-community payments on loopback: latency over 1, 2 and 3 hops, and sustained rate.

Four communities a–b–c–d in one process, each with its own SQLite ledger (durable commits)
and its own real libp2p host on 127.0.0.1, lines a–b, b–c, c–d. In the same run, the rate
of local payments (sign + verify + durable commit) is the baseline. Prints a table and, as
the last line, one JSON object with the figures.

    .venv/bin/python scripts/bench_federation.py [--samples 40] [--seconds 10] [--payers 16]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import trio
from rich.console import Console
from rich.table import Table

from letsnode.audit.pool import VerifyPool
from letsnode.community.folder import Community, now_ms
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.federation.service import Federation, FederationConfig
from letsnode.net.libp2p.host import open_libp2p_transport
from letsnode.node.ingest import LedgerWriter, open_ledger_writer
from letsnode.store.db import connect
from letsnode.store.federation_store import FederationStore

NAMES = "abcd"
console = Console(stderr=True)


class Port:
    """What a running node gives its federation: here the same group-commit LedgerWriter."""

    def __init__(self, community: Community, writer: LedgerWriter) -> None:
        self.community = community
        self.clock = now_ms
        self.writer = writer

    @property
    def ledger(self):  # type: ignore[no-untyped-def]
        return self.community.ledger

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.community.store

    @property
    def key(self):  # type: ignore[no-untyped-def]
        return self.community.key

    async def submit(self, body):  # type: ignore[no-untyped-def]
        return await self.writer.submit(body)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def local_rate(folder: Path, count: int) -> float:
    c = Community.create(
        folder, name="Local", short="local", unit="HOUR", scale=2, floor=-(10**9), ceiling=None
    )
    c.admit("x")
    c.admit("y")
    started = time.perf_counter()
    for i in range(count):
        payer, payee = ("x", "y") if i % 2 else ("y", "x")
        c.pay(c.sign_order(payer, payee, 1))
    rate = count / (time.perf_counter() - started)
    c.close()
    return rate


async def bench(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    payers = [f"p{i}" for i in range(args.payers)]
    async with AsyncExitStack() as stack:
        communities, feds = [], []
        pool = VerifyPool("inline")
        stack.callback(pool.close)
        for name in NAMES:
            c = Community.create(
                folder / name,
                name=f"Bank {name}",
                short=name,
                unit="HOUR",
                scale=2,
                floor=-(10**12),
                ceiling=None,
            )
            stack.callback(c.close)
            for p in payers if name == "a" else ["payee"]:
                c.admit(p)
            boot = [feds[-1].transport.listen_addrs()[0]] if feds else []
            t = await stack.enter_async_context(open_libp2p_transport(c.key.seed, bootstrap=boot))
            db_conn = connect(folder / name / "ledger.db").conn
            stack.callback(db_conn.close)
            writer = await stack.enter_async_context(open_ledger_writer(c, pool=pool))
            feds.append(
                Federation(
                    Port(c, writer),
                    t,
                    FederationStore(db_conn),
                    FederationConfig(advert_interval_s=0.5, tick_s=0.5),
                )
            )
            communities.append(c)
        nursery = await stack.enter_async_context(trio.open_nursery())
        for fed in feds:
            await nursery.start(fed.run)
        for left, right in itertools.pairwise(feds):
            with trio.fail_after(30):
                while not any(
                    p.community_id == right.port.key.public and p.connected
                    for p in left.transport.peers()
                ):
                    await trio.sleep(0.05)
            proposal = await left.lines.propose(right.port.key.public, 10**11, 10**11)
            await right.lines.accept(proposal.id)
        a = communities[0]

        async def pay(payer: str, dest: int) -> float:
            c = communities[dest]
            nonce = a.account(payer).last_nonce + 1
            data, sig = RemoteOrder(a.key.public, payer, c.key.public, "payee", 1, nonce, "").sign(
                a.member_key(payer)
            )
            started = time.perf_counter()
            outcome = await feds[0].transfers.pay(data, sig)
            if outcome.state != "fulfilled":
                raise RuntimeError(f"payment {outcome.state}: {outcome.message}")
            return time.perf_counter() - started

        with trio.fail_after(60):  # until every advert has spread
            while True:
                try:
                    await pay(payers[0], 3)
                    break
                except Exception:
                    await trio.sleep(0.5)
        latency: dict[int, list[float]] = {}
        for hops in (1, 2, 3):
            latency[hops] = [await pay(payers[0], hops) for _ in range(args.samples)]
            console.print(f"{hops} hop(s): {args.samples} payments measured")
        done = 0
        lat2: list[float] = []

        async def payer_loop(payer: str, until: float) -> None:
            nonlocal done
            while time.perf_counter() < until:
                lat2.append(await pay(payer, 2))
                done += 1

        started = time.perf_counter()
        until = started + args.seconds
        async with trio.open_nursery() as load:
            for p in payers:
                load.start_soon(payer_loop, p, until)
        sustained = done / (time.perf_counter() - started)
        nursery.cancel_scope.cancel()
    return {
        "latency_ms": {
            str(h): {
                "p50": round(statistics.median(v) * 1000, 1),
                "p99": round(percentile(v, 99) * 1000, 1),
            }
            for h, v in latency.items()
        },
        "sustained_payers": args.payers,
        "sustained_hops": 2,
        "sustained_payments_per_second": round(sustained, 1),
        "sustained_p50_ms": round(statistics.median(lat2) * 1000, 1),
        "sustained_p99_ms": round(percentile(lat2, 99) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--payers", type=int, default=16)
    parser.add_argument("--local", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        local = local_rate(folder / "local", args.local)
        figures = trio.run(bench, args, folder)
    figures["local_payments_per_second"] = round(local, 1)
    figures["ratio"] = round(float(figures["sustained_payments_per_second"]) / local, 4)  # type: ignore[arg-type]
    table = Table(title="cross-community payments on loopback (real libp2p hosts, durable)")
    table.add_column("what")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("per second", justify="right")
    for hops, v in figures["latency_ms"].items():  # type: ignore[union-attr]
        table.add_row(f"{hops} hop(s), one at a time", str(v["p50"]), str(v["p99"]), "")
    table.add_row(
        f"2 hops, {args.payers} payers at once",
        str(figures["sustained_p50_ms"]),
        str(figures["sustained_p99_ms"]),
        str(figures["sustained_payments_per_second"]),
    )
    table.add_row("local payments (baseline)", "", "", str(figures["local_payments_per_second"]))
    Console().print(table)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
