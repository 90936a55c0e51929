"""The node's HTTP/1.1 server (letsnode/http/server.py) on real sockets of 127.0.0.1.

Responses are read with h11 (as a client), so the server is judged by an independent
implementation of HTTP/1.1, not by its own parser.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import h11
import pytest
import trio

from letsnode.http import split_host_port
from letsnode.http.server import ClientDisconnected, ServerLimits, serve

Scope = dict[str, Any]


class Recorder:
    """A small ASGI app: echoes what it received; its behaviour is picked by the path."""

    def __init__(self) -> None:
        self.calls: list[Scope] = []
        self.disconnected = trio.Event()
        self.send_failed = trio.Event()
        self.body_cut = 0  # requests whose body ended in http.disconnect

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.calls.append(scope)
        path = scope["path"]
        if path == "/ignore-body":
            await self.respond(send, 200, b"ignored")
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.body_cut += 1
                return
            assert message["type"] == "http.request"
            body += message["body"]
            if not message["more_body"]:
                break
        if path == "/fail":
            raise RuntimeError("the app failed")
        if path == "/fail-late":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            raise RuntimeError("the app failed mid-response")
        if path == "/bad-header":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"x", b"a\r\nb: c")]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if path == "/silent":
            return
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for piece in (b"one ", b"two ", b"three"):
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        if path == "/until-disconnect":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"hello", "more_body": True})
            assert (await receive())["type"] == "http.disconnect"
            self.disconnected.set()
            try:
                while True:
                    await send({"type": "http.response.body", "body": b"x", "more_body": True})
                    await trio.sleep(0.01)
            except ClientDisconnected:
                self.send_failed.set()
            return
        if path == "/empty":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        reply = f"{scope['method']} {path} q={scope['query_string'].decode()} body={body.decode()}"
        await self.respond(send, 200, reply.encode())

    @staticmethod
    async def respond(send: Any, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def running(app: Any, limits: ServerLimits | None = None) -> AsyncIterator[tuple[str, int]]:
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            lambda task_status: serve(app, "127.0.0.1", 0, limits=limits, task_status=task_status)
        )
        yield split_host_port(urls[0].removeprefix("http://"))
        nursery.cancel_scope.cancel()


class Client:
    """One connection, reading responses with h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def response(self, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        if method == "HEAD":
            self.h11.send(h11.Request(method="HEAD", target="/", headers=[("Host", "x")]))
        else:
            self.h11.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        self.h11.send(h11.EndOfMessage())
        status, headers, body = 0, {}, b""
        with trio.fail_after(5):
            while True:
                event = self.h11.next_event()
                if event is h11.NEED_DATA:
                    self.h11.receive_data(await self.stream.receive_some(65536))
                    continue
                if isinstance(event, h11.InformationalResponse):
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                    headers = {k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
        return status, headers, body

    async def closed(self) -> bool:
        """Whether the server has closed the connection (reads to EOF, skipping data)."""
        with trio.fail_after(5):
            while True:
                try:
                    data = await self.stream.receive_some(65536)
                except trio.BrokenResourceError:
                    return True
                if not data:
                    return True


@asynccontextmanager
async def connect(address: tuple[str, int]) -> AsyncIterator[Client]:
    stream = await trio.open_tcp_stream(*address)
    async with stream:
        yield Client(stream)


def request(
    method: str, target: str, body: bytes = b"", extra: str = "", version: str = "1.1"
) -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    head = f"{method} {target} HTTP/{version}\r\nHost: test\r\n{length}{extra}\r\n"
    return head.encode() + body


async def test_keep_alive_serves_requests_in_turn() -> None:
    app = Recorder()
    async with running(app) as address, connect(address) as client:
        for n in range(3):
            await client.send(request("POST", f"/echo?n={n}", f"body {n}".encode()))
            status, headers, body = await client.response()
            assert status == 200
            assert body == f"POST /echo q=n={n} body=body {n}".encode()
            assert "date" in headers and "connection" not in headers
    scope = app.calls[0]
    assert scope["type"] == "http" and scope["http_version"] == "1.1"
    assert scope["client"][0] == "127.0.0.1" and scope["server"][0] == "127.0.0.1"
    assert (b"host", b"test") in scope["headers"]


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with running(Recorder()) as address, connect(address) as client:
        await client.send(
            request("GET", "/a") + request("POST", "/b", b"xy") + request("GET", "/c")
        )
        bodies = [(await client.response())[2] for _ in range(3)]
    assert bodies == [b"GET /a q= body=", b"POST /b q= body=xy", b"GET /c q= body="]


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"GET /\r\nHost: x\r\n\r\n", 400, "malformed request line"),
        (b"GET / HTTP/1.1\r\n\r\n", 400, "Host"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/1.1"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "header line"),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "header line"),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            400,
            "Transfer-Encoding",
        ),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413, "too large"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417, "100-continue"),
    ],
)
async def test_bad_requests_are_refused_with_the_reason(
    raw: bytes, status: int, reason: str
) -> None:
    app = Recorder()
    async with running(app) as address, connect(address) as client:
        await client.send(raw)
        got, headers, body = await client.response()
        assert await client.closed()
    assert got == status
    assert reason in body.decode()
    assert headers["connection"] == "close"
    assert headers["x-content-type-options"] == "nosniff"
    assert app.calls == []  # the application never saw it


async def test_a_head_beyond_the_limit_is_refused() -> None:
    limits = ServerLimits(max_head_bytes=1024)
    async with running(Recorder(), limits) as address, connect(address) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000)
        status, _, _ = await client.response()
        assert status == 431
        assert await client.closed()


def head_of(size: int) -> bytes:
    """A GET whose head, blank line included, is ``size`` bytes."""
    start = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


@pytest.mark.parametrize("limit", [1024, 16 * 1024])
async def test_a_head_beyond_the_limit_is_refused_even_when_it_arrives_whole(limit: int) -> None:
    # Each head in one burst that the server reads at once, its end included.
    app = Recorder()
    limits = ServerLimits(max_head_bytes=limit)
    async with running(app, limits) as address:
        for size in (limit + 1, 4 * limit):
            async with connect(address) as client:
                await client.send(head_of(size))
                status, _, body = await client.response()
                assert (status, body) == (431, b"request head too large\n"), size
                assert await client.closed()
        async with connect(address) as client:
            await client.send(head_of(limit))
            assert (await client.response())[0] == 200
    assert len(app.calls) == 1


async def test_a_slow_head_times_out_and_an_idle_connection_is_closed() -> None:
    limits = ServerLimits(head_timeout=0.3, idle_timeout=0.5)
    app = Recorder()
    async with running(app, limits) as address:
        async with connect(address) as client:
            await client.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            status, _, body = await client.response()
            assert status == 408 and b"too long" in body
            assert await client.closed()
        async with connect(address) as client:
            await client.send(request("GET", "/one"))
            assert (await client.response())[0] == 200
            started = trio.current_time()
            assert await client.closed()  # idle after its request
            assert trio.current_time() - started >= 0.4


async def test_expect_continue_gets_100_before_the_body_is_sent() -> None:
    async with running(Recorder()) as address:
        stream = await trio.open_tcp_stream(*address)
        async with stream:
            await stream.send_all(
                b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
            )
            with trio.fail_after(5):
                interim = await stream.receive_some(1024)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            await stream.send_all(b"data")
            client = Client(stream)
            status, _, body = await client.response()
    assert (status, body) == (200, b"POST /up q= body=data")


async def test_a_chunked_request_body_is_decoded() -> None:
    async with running(Recorder()) as address, connect(address) as client:
        await client.send(
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: t\r\n\r\n" + request("GET", "/next")
        )
        assert (await client.response())[2] == b"POST /c q= body=abcde"
        assert (await client.response())[2] == b"GET /next q= body="


async def test_a_chunked_body_beyond_the_limit_is_refused_and_closes_the_connection() -> None:
    limits = ServerLimits(max_body_bytes=10)
    app = Recorder()
    async with running(app, limits) as address, connect(address) as client:
        await client.send(
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"10\r\n0123456789abcdef\r\n0\r\n\r\n"
        )
        status, _, body = await client.response()
        assert (status, body) == (413, b"request body too large\n")
        assert await client.closed()
    assert app.body_cut == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"3\r\nhello\r\n0\r\n\r\n", "chunk data longer than its size"),
        (b"5;" + b"a" * 1030 + b"\r\nhello\r\n0\r\n\r\n", "chunk size line longer than 1024 bytes"),
        (b"5\r\nhello\r\nzz\r\n", "malformed chunk size line"),
        (b"0\r\nX: a\x01\r\n\r\n", "control character in a trailer"),
    ],
)
async def test_a_malformed_chunked_body_is_answered_400_with_the_reason(
    body: bytes, reason: str
) -> None:
    app = Recorder()
    async with running(app) as address, connect(address) as client:
        await client.send(
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + body
            + request("GET", "/next")
        )
        status, headers, text = await client.response()
        assert (status, text) == (400, f"{reason}\n".encode())
        assert headers["connection"] == "close"
        assert await client.closed()  # the request after it is not served
    assert app.body_cut == 1 and len(app.calls) == 1


async def test_head_responses_carry_no_body_and_204_no_length() -> None:
    async with running(Recorder()) as address, connect(address) as client:
        await client.send(request("HEAD", "/x"))
        status, headers, body = await client.response("HEAD")
        assert (status, body) == (200, b"")
        assert headers["content-length"] == str(len(b"HEAD /x q= body="))
        await client.send(request("GET", "/empty"))
        status, headers, body = await client.response()
        assert (status, body) == (204, b"")
        assert "content-length" not in headers and "transfer-encoding" not in headers


async def test_a_response_without_length_is_chunked_and_the_connection_goes_on() -> None:
    async with running(Recorder()) as address, connect(address) as client:
        await client.send(request("GET", "/stream"))
        _, headers, body = await client.response()
        assert headers["transfer-encoding"] == "chunked"
        assert body == b"one two three"
        await client.send(request("GET", "/after"))
        assert (await client.response())[2] == b"GET /after q= body="


async def test_http_1_0_gets_its_response_then_the_connection_closes() -> None:
    async with running(Recorder()) as address, connect(address) as client:
        await client.send(request("GET", "/old", version="1.0"))
        data = b""
        with trio.fail_after(5):
            while chunk := await client.stream.receive_some(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"connection: close\r\n" in data and data.endswith(b"GET /old q= body=")


async def test_the_app_hears_the_client_leave_and_send_then_fails() -> None:
    app = Recorder()
    async with running(app) as address:
        async with connect(address) as client:
            await client.send(request("GET", "/until-disconnect"))
            with trio.fail_after(5):
                assert b"hello" in await client.stream.receive_some(65536)
        with trio.fail_after(5):
            await app.disconnected.wait()
            await app.send_failed.wait()


async def test_app_failures_answer_500_and_the_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="letsnode.http")
    async with running(Recorder()) as address:
        for path in ("/fail", "/bad-header", "/silent"):
            async with connect(address) as client:
                await client.send(request("GET", path))
                status, headers, _ = await client.response()
                assert (status, headers["connection"]) == (500, "close"), path
                assert await client.closed()
        async with connect(address) as client:
            await client.send(request("GET", "/fail-late"))
            assert await client.closed()  # the head had gone: the only signal left
        async with connect(address) as client:
            await client.send(request("GET", "/fine"))
            assert (await client.response())[0] == 200
    failures = [r for r in caplog.records if r.name == "letsnode.http"]
    assert len(failures) == 4
    assert "/fail" in failures[0].getMessage()


async def test_an_unread_body_is_drained_when_small_and_closes_when_large() -> None:
    async with running(Recorder()) as address:
        async with connect(address) as client:
            await client.send(request("POST", "/ignore-body", b"z" * 100))
            assert (await client.response())[2] == b"ignored"
            await client.send(request("GET", "/next"))
            assert (await client.response())[2] == b"GET /next q= body="
        async with connect(address) as client:
            await client.send(
                b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n"
            )
            assert (await client.response())[2] == b"ignored"
            assert await client.closed()


async def test_connections_beyond_the_limit_are_closed() -> None:
    limits = ServerLimits(max_connections=2)
    async with (
        running(Recorder(), limits) as address,
        connect(address) as first,
        connect(address) as second,
    ):
        for client in (first, second):
            await client.send(request("GET", "/held"))
            assert (await client.response())[0] == 200
        async with connect(address) as third:
            assert await third.closed()
        await first.send(request("GET", "/still"))
        assert (await first.response())[0] == 200


def test_host_port_is_checked() -> None:
    assert split_host_port("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert split_host_port("[::1]:0") == ("::1", 0)
    for bad in ("8080", "host:", ":80", "host:http", "host:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            split_host_port(bad)
