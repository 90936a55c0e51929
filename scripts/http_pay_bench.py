"""Shared machinery of the HTTP payment benchmarks (``bench_http_pay.py``, ``bench_ingest.py``).

``measure_http`` makes a fresh community whose payers each hold a key, pre-signs their
orders (each payer's nonces in order), starts a real node (``run_node``: Starlette on trio,
served by the node's own HTTP/1.1 server or by Hypercorn) in its own process with the rate
limits lifted, signs every payer in (challenge, signature, session cookie), and has the
payers post their orders to ``POST /api/payments`` concurrently, each one after another on
its own keep-alive connection, the way the wallet does: session cookie, ``X-Letsnode: 1``
and ``Origin``.
Every order is a real payment: its signature is checked and its 201 means it is durable.
It returns payments/s, the latency of each request, and the CPU the node and the client
used meanwhile (the client shares this machine's cores with the node). Optionally some
payers also keep their wallet open: ``GET /api/events`` held open, read to the end.

Two clients: ``raw`` (default) writes the pre-encoded requests on trio sockets and parses
the responses itself (status line, headers, Content-Length body, JSON), so it takes little
CPU from the node; ``httpx`` is a full HTTP client, costing about as much CPU per request
as the node itself, which on a 2-core machine caps the figure at what both fit in.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import trio

from letsnode.community.folder import Community
from letsnode.core.crypto import DOMAIN_SESSION, SigningKey
from letsnode.core.wire.entries import Order, SignedOrder
from letsnode.http import HttpServerKind
from letsnode.web.common import SESSION_COOKIE

ClientKind = Literal["raw", "httpx"]
CLIENTS: tuple[ClientKind, ...] = ("raw", "httpx")

SERVER = """
import sys, trio
from pathlib import Path
from letsnode.node.run import run_node
from letsnode.web.common import Limits
off = (1e9, 1e9)
limits = Limits(
    payments_per_payer=off, payments_per_address=off, sessions_per_address=off
)
async def main():
    async with trio.open_nursery() as n:
        url = await n.start(lambda task_status: run_node(
            Path(sys.argv[1]), "127.0.0.1:0", task_status=task_status,
            app_options={"limits": limits}, verify_pool=sys.argv[2],
            http_server=sys.argv[3]))
        print(url, flush=True)
trio.run(main)
"""


def make_ledger(folder: Path, keys: list[SigningKey]) -> Community:
    """A community with a ``sink`` account and ``payer{i}`` holding ``keys[i]``."""
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
    """``per_payer`` orders of each payer to ``sink``, nonces 1, 2, ..."""
    return [
        [
            Order(community_id, f"payer{i}", "sink", 1 + n % 500, n + 1, "bench").sign(key)
            for n in range(per_payer)
        ]
        for i, key in enumerate(keys)
    ]


def order_json(signed: SignedOrder) -> dict[str, str]:
    return {"order": signed.data.hex(), "signature": signed.signature.hex()}


# -- the node in its own process ---------------------------------------------------------


@dataclass
class NodeProcess:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time of the node process and of its children (a process verify pool)."""
        return _cpu_seconds(self.pid) + sum(_cpu_seconds(c) for c in _children(self.pid))


def busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (every process, from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


@contextmanager
def running_node(
    folder: Path, pool: str = "inline", http_server: HttpServerKind = "letsnode"
) -> Iterator[NodeProcess]:
    """``run_node`` on ``folder`` in a child process, on a free port of 127.0.0.1."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(folder), pool, http_server],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url:
            raise RuntimeError("the node did not start")
        yield NodeProcess(url, server.pid)
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()


# -- signing in --------------------------------------------------------------------------


async def sign_in(client: httpx.AsyncClient, key: SigningKey) -> str:
    """Open a session for ``key`` the way the wallet does; returns the session token."""
    r = await client.post("/api/session/challenge", json={"key": key.public.hex()})
    r.raise_for_status()
    body = r.json()
    challenge = bytes.fromhex(body["challenge"])
    community_id = bytes.fromhex(body["community_id"])
    signature = key.sign(DOMAIN_SESSION, community_id + challenge)
    r = await client.post(
        "/api/session",
        json={"key": key.public.hex(), "challenge": challenge.hex(), "signature": signature.hex()},
    )
    r.raise_for_status()
    token = r.cookies.get(SESSION_COOKIE)
    if not token:
        raise RuntimeError("the node set no session cookie")
    client.cookies.clear()
    return token


async def sign_in_all(url: str, keys: list[SigningKey]) -> list[str]:
    async with httpx.AsyncClient(base_url=url, headers=browser_headers(url), timeout=30) as client:
        return [await sign_in(client, key) for key in keys]


def browser_headers(url: str) -> dict[str, str]:
    """What the wallet's fetch sends on a POST besides the cookie: CSRF header and Origin."""
    return {"X-Letsnode": "1", "Origin": url}


# -- the clients ---------------------------------------------------------------------------


def raw_request(url: str, path: str, body: bytes, token: str) -> bytes:
    """One HTTP/1.1 POST of a JSON body, as bytes on the wire."""
    host = urlsplit(url).netloc
    return (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Origin: {url}\r\n"
        "X-Letsnode: 1\r\n"
        "Accept: application/json\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Cookie: {SESSION_COOKIE}={token}\r\n"
        "\r\n"
    ).encode() + body


class RawConnection:
    """A keep-alive HTTP/1.1 connection that sends ready-made requests and reads
    Content-Length responses (what the node sends); reconnects when told to close."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.stream: trio.SocketStream | None = None
        self.buffer = bytearray()

    async def request(self, data: bytes) -> tuple[int, bytes]:
        if self.stream is None:
            self.stream = await trio.open_tcp_stream(self.host, self.port)
            self.buffer.clear()
        await self.stream.send_all(data)
        status, body, close = await self._response()
        if close:
            await self.aclose()
        return status, body

    async def _receive(self) -> None:
        assert self.stream is not None
        chunk = await self.stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("the node closed the connection mid-response")
        self.buffer += chunk

    async def _response(self) -> tuple[int, bytes, bool]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            await self._receive()
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        version, status, _ = lines[0].split(" ", 2)
        if version != "HTTP/1.1":
            raise ConnectionError(f"unexpected status line {lines[0]!r}")
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                raise ConnectionError("chunked responses are not expected here")
            elif name == "connection":
                close = "close" in value.lower()
        total = end + 4 + length
        while len(self.buffer) < total:
            await self._receive()
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        return int(status), body, close

    async def aclose(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()
            self.stream = None


@dataclass
class Posted:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    refused: int = 0
    events: int = 0  # live updates the open wallets received meanwhile


async def open_wallets(
    url: str, tokens: list[str], posted: Posted, task_status: trio.TaskStatus[None]
) -> None:
    """Hold ``GET /api/events`` open for each token, as a wallet open in a browser does,
    counting the events received (the body comes chunked: events are counted, not
    parsed), until cancelled."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    streams = []
    for token in tokens:
        stream = await trio.open_tcp_stream(parts.hostname, parts.port)
        await stream.send_all(
            f"GET /api/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Accept: text/event-stream\r\nCookie: {SESSION_COOKIE}={token}\r\n\r\n".encode()
        )
        streams.append(stream)

    async def read(stream: trio.SocketStream) -> None:
        buffer = b""
        while data := await stream.receive_some(65536):
            *blocks, buffer = (buffer + data).split(b"\n\n")
            posted.events += sum(1 for b in blocks if b"event: " in b)

    async with trio.open_nursery() as nursery:
        for stream in streams:
            nursery.start_soon(read, stream)
        task_status.started()
    for stream in streams:
        await stream.aclose()


async def post_raw(
    url: str, orders: list[list[SignedOrder]], tokens: list[str], wallets: int = 0
) -> Posted:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    requests = [
        [
            raw_request(url, "/api/payments", json.dumps(order_json(o)).encode(), token)
            for o in payer_orders
        ]
        for payer_orders, token in zip(orders, tokens, strict=True)
    ]
    connections = [RawConnection(parts.hostname, parts.port) for _ in orders]
    warm_up = f"GET /api/community HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    for c in connections:  # connect now, not on the clock
        await c.request(warm_up)
    result = Posted(0.0)

    async def payer(connection: RawConnection, payer_requests: list[bytes]) -> None:
        for data in payer_requests:
            t0 = time.perf_counter()
            status, body = await connection.request(data)
            result.latencies.append(time.perf_counter() - t0)
            if status != 201 or "payment" not in json.loads(body):
                result.refused += 1

    async with trio.open_nursery() as outer:
        await outer.start(open_wallets, url, tokens[:wallets], result)
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for connection, payer_requests in zip(connections, requests, strict=True):
                nursery.start_soon(payer, connection, payer_requests)
        result.seconds = time.perf_counter() - start
        outer.cancel_scope.cancel()
    for c in connections:
        await c.aclose()
    return result


async def post_httpx(
    url: str, orders: list[list[SignedOrder]], tokens: list[str], wallets: int = 0
) -> Posted:
    bodies = [[order_json(o) for o in payer_orders] for payer_orders in orders]
    result = Posted(0.0)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(
            base_url=url,
            limits=limits,
            headers=browser_headers(url),
            cookies={SESSION_COOKIE: token},
            timeout=30,
        )
        for token in tokens
    ]
    for client in clients:
        await client.get("/api/community")  # connect now, not on the clock

    async def payer(client: httpx.AsyncClient, payer_bodies: list[dict[str, str]]) -> None:
        for body in payer_bodies:
            t0 = time.perf_counter()
            r = await client.post("/api/payments", json=body)
            result.latencies.append(time.perf_counter() - t0)
            if r.status_code != 201 or "payment" not in r.json():
                result.refused += 1

    async with trio.open_nursery() as outer:
        await outer.start(open_wallets, url, tokens[:wallets], result)
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for client, payer_bodies in zip(clients, bodies, strict=True):
                nursery.start_soon(payer, client, payer_bodies)
        result.seconds = time.perf_counter() - start
        outer.cancel_scope.cancel()
    for client in clients:
        await client.aclose()
    return result


# -- the measurement -----------------------------------------------------------------------


@dataclass
class HttpResult:
    payers: int
    wallets: int
    pool: str
    client: str
    server: HttpServerKind
    posted: Posted
    recorded: int
    node_cpu_seconds: float
    client_cpu_seconds: float
    busy_seconds: float  # the whole machine's, meanwhile

    @property
    def payments_per_second(self) -> float:
        return len(self.posted.latencies) / self.posted.seconds

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.posted.latencies, n=100)[q - 1] * 1000

    def summary(self) -> dict[str, Any]:
        n = len(self.posted.latencies)
        return {
            "orders": n,
            "payers": self.payers,
            "open_wallets": self.wallets,
            "verify_pool": self.pool,
            "client": self.client,
            "http_server": self.server,
            "recorded": self.recorded,
            "refused": self.posted.refused,
            "events_received": self.posted.events,
            "seconds": round(self.posted.seconds, 3),
            "http_payments_per_second": round(self.payments_per_second, 1),
            "p50_ms": round(self.percentile_ms(50), 2),
            "p99_ms": round(self.percentile_ms(99), 2),
            "node_cpu_us_per_payment": round(self.node_cpu_seconds / n * 1e6),
            "client_cpu_us_per_payment": round(self.client_cpu_seconds / n * 1e6),
            "others_cores": round(self.others_cores, 2),
        }

    @property
    def others_cores(self) -> float:
        """Cores other processes kept busy meanwhile (the machine is shared)."""
        own = self.node_cpu_seconds + self.client_cpu_seconds
        return max(0.0, self.busy_seconds - own) / self.posted.seconds

    def lines(self) -> list[str]:
        s = self.summary()
        per = s["orders"] // self.payers
        wallets = f", {self.wallets} wallets open" if self.wallets else ""
        return [
            f"HTTP payments/s  {s['http_payments_per_second']:,.0f}   (POST /api/payments, "
            f"{self.payers} payers × {per} orders{wallets}; node in its own process, "
            f"{self.pool} verify pool; {self.server} HTTP server; {self.client} client)",
            f"latency          p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms",
            f"recorded         {self.recorded} (refused {s['refused']})"
            + (f", live updates received {s['events_received']}" if self.wallets else ""),
            f"CPU per payment  node {s['node_cpu_us_per_payment']} µs, "
            f"client {s['client_cpu_us_per_payment']} µs; other processes used "
            f"{s['others_cores']:.2f} cores meanwhile",
        ]


def measure_http(
    orders: int = 4000,
    payers: int = 16,
    pool: str = "inline",
    client: ClientKind = "raw",
    wallets: int = 0,
    keys: list[SigningKey] | None = None,
    server: HttpServerKind = "letsnode",
) -> HttpResult:
    """Durable payments/s through POST /api/payments (see the module's docstring);
    ``wallets`` of the payers also hold their live updates open (GET /api/events)."""
    per_payer = max(1, orders // payers)
    keys = keys or [SigningKey(secrets.token_bytes(32)) for _ in range(payers)]
    post = post_raw if client == "raw" else post_httpx
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "node"
        c = make_ledger(folder, keys)
        signed = sign_orders(c.genesis.community_id, keys, per_payer)
        c.close()
        with running_node(folder, pool, server) as node:
            tokens = trio.run(sign_in_all, node.url, keys)
            busy, node_cpu, client_cpu = busy_seconds(), node.cpu_seconds(), time.process_time()
            posted = trio.run(post, node.url, signed, tokens, min(wallets, payers))
            node_cpu = node.cpu_seconds() - node_cpu
            client_cpu = time.process_time() - client_cpu
            busy = busy_seconds() - busy
        with Community.opened(folder) as check:
            recorded = len(check.history("sink"))
    return HttpResult(
        payers=payers,
        wallets=min(wallets, payers),
        pool=pool,
        client=client,
        server=server,
        posted=posted,
        recorded=recorded,
        node_cpu_seconds=node_cpu,
        client_cpu_seconds=client_cpu,
        busy_seconds=busy,
    )
