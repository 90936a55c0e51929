"""The node's HTTP/1.1 server: its ASGI application (Starlette) served on trio sockets.

One task a connection; each request on it is read, handed to the application in that same
task (no task spawned per request) and answered before the next is read, so a connection's
requests are answered in order, pipelined or not. Requests are read by llhttp, with the
node's stricter checks on top (``letsnode.http.parse``); a body is read only when the
application asks for it, so the application's own size check answers an oversized
``Content-Length`` before a byte of it is read. Responses are written in one piece where
they can be: the head goes out with the first body chunk. This server exists for speed: the
README's Performance section measures it against Hypercorn on the same payments.

What a hostile client meets:
- a head must arrive whole within ``head_timeout`` seconds of its first byte and be at most
  ``max_head_bytes``, blank line included (431 beyond); an idle keep-alive connection is
  closed after ``idle_timeout``; each wait for body bytes or for the client to take
  response bytes is bounded by ``io_timeout``;
- a body larger than ``max_body_bytes`` is refused (413), a chunked one as soon as it is;
- a request refused once its body has begun (a malformed chunk, too large a body) is
  answered with the refusal unless the application has begun its response, and the
  connection is closed; the application hears ``http.disconnect``;
- at most ``max_connections`` connections are served at once; more are closed at once;
- an application error answers 500 (or, once the response has begun, closes the
  connection) and is logged; it never stops the server.

The ASGI scope is HTTP only (``http`` version 3.0, spec 2.4): no lifespan and no WebSocket,
which the node's application does not use. ``send`` raises ``ClientDisconnected`` (an
``OSError``) once the client has gone, as the spec allows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import trio

from letsnode.http.parse import BadRequest, RequestHead, RequestReader
from letsnode.http.responses import date_header, refusal, status_line

log = logging.getLogger("letsnode.http")

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

READ_SIZE = 64 * 1024
_ASGI = {"version": "3.0", "spec_version": "2.4"}
_NO_BODY_STATUSES = frozenset({204, 304})
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_head_bytes: int = 16 * 1024
    max_body_bytes: int = 1024 * 1024
    max_connections: int = 1000
    head_timeout: float = 10.0
    idle_timeout: float = 75.0
    io_timeout: float = 30.0


class ClientDisconnected(OSError):
    """The client went away: what ``send`` raises once it cannot deliver."""


class _Exchange:
    """One request and its response: the ``receive`` and ``send`` the application gets."""

    def __init__(self, conn: _Connection, head: RequestHead) -> None:
        self.conn = conn
        self.head = head
        self.body_given = False  # the last http.request message has been returned
        self.continue_due = head.expect_continue and not conn.reader.body_done
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False  # http.response.start received
        self.head_sent = False
        self.chunked = False  # response body framed in chunks
        self.complete = False
        self.keep_alive = head.keep_alive
        self.send_body = head.method != "HEAD"

    # -- receive -----------------------------------------------------------------------------

    async def receive(self) -> Message:
        conn = self.conn
        if conn.disconnected:
            return {"type": "http.disconnect"}
        if not self.body_given:
            reader = conn.reader
            if reader.body_done:
                self.body_given = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if self.continue_due:
                self.continue_due = False
                await conn.write(_CONTINUE)
            try:
                body = await conn.read_body()
            except BadRequest as bad:
                await self._refuse_body(bad)
                return {"type": "http.disconnect"}
            if body is None:
                return {"type": "http.disconnect"}
            self.body_given = reader.body_done
            return {"type": "http.request", "body": body, "more_body": not reader.body_done}
        if self.complete:
            return {"type": "http.disconnect"}
        await conn.wait_for_disconnect()
        return {"type": "http.disconnect"}

    async def _refuse_body(self, bad: BadRequest) -> None:
        """Answer a body refused midway with ``bad`` (if the response has not begun) and end
        the connection: what the client sent next cannot be told from the rest."""
        conn = self.conn
        self.keep_alive = False
        if not self.head_sent and not conn.disconnected:
            await conn.refuse(bad.status, bad.reason)
        conn.disconnected = True  # what the application sends next fails as for a client gone

    # -- send ------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            self.status = int(message["status"])
            self.headers = list(message.get("headers", ()))
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        if not self.started or self.complete:
            raise RuntimeError("http.response.body outside a response")
        if self.conn.disconnected:
            raise ClientDisconnected("the client has gone")
        body = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        out: list[bytes] = []
        if not self.head_sent:
            out.append(self._response_head(None if more else len(body)))
            self.head_sent = True
        if self.send_body and self.status not in _NO_BODY_STATUSES:
            if self.chunked:
                if body:
                    out += [b"%x\r\n" % len(body), body, b"\r\n"]
                if not more:
                    out.append(b"0\r\n\r\n")
            else:
                out.append(body)
        if not more:
            self.complete = True
        data = b"".join(out)
        if data:
            await self.conn.write(data)

    def _response_head(self, length: int | None) -> bytes:
        parts = [status_line(self.status)]
        has_length = False
        for name, value in self.headers:
            if b"\n" in value or b"\r" in value or b"\n" in name or b"\r" in name:
                raise RuntimeError("a response header holds a line break")
            lower = name.lower()
            if lower == b"content-length":
                has_length = True
            elif lower == b"connection" and b"close" in value.lower():
                self.keep_alive = False
            elif lower == b"transfer-encoding":
                raise RuntimeError("the server frames the body itself: no Transfer-Encoding")
            parts += [name, b": ", value, b"\r\n"]
        bodiless = self.status in _NO_BODY_STATUSES or self.status < 200
        if not has_length and not bodiless:
            if length is not None:
                parts.append(b"content-length: %d\r\n" % length)
            elif self.head.http_version == "1.1":
                self.chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
            else:
                self.keep_alive = False  # the body ends when the connection does
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(date_header())
        parts.append(b"\r\n")
        return b"".join(parts)


class _Connection:
    def __init__(
        self,
        stream: trio.SocketStream,
        app: ASGIApp,
        limits: ServerLimits,
        server: tuple[str, int],
    ) -> None:
        self.stream = stream
        self.app = app
        self.limits = limits
        self.server = server
        try:
            peer = stream.socket.getpeername()
            self.client: tuple[str, int] | None = (str(peer[0]), int(peer[1]))
        except OSError:
            self.client = None
        self.reader = RequestReader(limits.max_head_bytes, limits.max_body_bytes)
        self.disconnected = False

    async def fill(self) -> bool:
        """Read more of the request into the buffer; False when the client has gone."""
        with trio.move_on_after(self.limits.io_timeout):
            try:
                data = await self.stream.receive_some(READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if data:
                self.reader.buffer += data
                return True
        self.disconnected = True
        return False

    async def write(self, data: bytes) -> None:
        with trio.move_on_after(self.limits.io_timeout) as scope:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
                self.disconnected = True
                raise ClientDisconnected("the client has gone") from error
        if scope.cancelled_caught:
            self.disconnected = True
            raise ClientDisconnected("the client stopped reading")

    async def wait_for_disconnect(self) -> None:
        """Until the client closes (what ``receive`` waits for once the body is read); bytes
        it sends meanwhile (a pipelined request) are kept, up to a head's size."""
        while not self.disconnected:
            try:
                data = await self.stream.receive_some(READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            buffer = self.reader.buffer
            if not data or len(buffer) + len(data) > self.limits.max_head_bytes:
                self.disconnected = True
            else:
                buffer += data

    async def read_body(self) -> bytes | None:
        """More of the current request's body: some bytes, or b"" for its end; None once
        the client has gone."""
        reader = self.reader
        while True:
            if not reader.buffer and not await self.fill():
                return None
            body = reader.read_body()
            if body or reader.body_done:
                return body

    async def read_head(self) -> RequestHead | None:
        """The next request's head, or None once the client has closed or idled out."""
        reader = self.reader
        buffer = reader.buffer
        limits = self.limits
        wait = limits.head_timeout if buffer else limits.idle_timeout
        scope = trio.CancelScope(deadline=trio.current_time() + wait)
        with scope:
            while True:
                head = reader.read_head()
                if head is not None:
                    return head
                try:
                    data = await self.stream.receive_some(READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                if not data:
                    return None
                if not buffer:
                    scope.deadline = trio.current_time() + limits.head_timeout
                buffer += data
        if buffer:
            raise BadRequest(408, "the request head took too long")
        return None

    def scope_for(self, head: RequestHead) -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": _ASGI,
            "http_version": head.http_version,
            "method": head.method,
            "scheme": "http",
            "path": head.path,
            "raw_path": head.raw_path,
            "query_string": head.query_string,
            "root_path": "",
            "headers": head.headers,
            "client": self.client,
            "server": self.server,
            "extensions": {},
        }

    async def serve(self) -> None:
        while not self.disconnected:
            try:
                head = await self.read_head()
                if head is None:
                    return
            except BadRequest as bad:
                await self.refuse(bad.status, bad.reason)
                return
            exchange = _Exchange(self, head)
            if not await self._run_app(exchange):
                return
            if not (exchange.keep_alive and exchange.complete):
                return
            if not self.reader.body_done and not await self._drain():
                return

    async def _run_app(self, exchange: _Exchange) -> bool:
        """Whether the connection can go on after the application handled ``exchange``."""
        try:
            await self.app(self.scope_for(exchange.head), exchange.receive, exchange.send)
        except ClientDisconnected:
            return False
        except Exception:
            log.exception(
                "the application failed on %s %s", exchange.head.method, exchange.head.path
            )
            if not exchange.head_sent and not self.disconnected:
                await self.refuse(500, "internal server error")
            return False
        if not exchange.started and not self.disconnected:
            log.error("the application sent no response to %s", exchange.head.path)
            await self.refuse(500, "internal server error")
            return False
        return True

    async def refuse(self, status: int, reason: str) -> None:
        """Answer with ``refusal`` (the connection closes after it), if the client reads it
        in time."""
        with trio.move_on_after(self.limits.io_timeout):
            await self.stream.send_all(refusal(status, reason))

    async def _drain(self) -> bool:
        """Read and drop the rest of a body the application did not read, when it is a
        small ``Content-Length`` one (so the connection can serve the next request); False
        to close instead."""
        if not 0 <= self.reader.body_left <= READ_SIZE:
            return False
        while not self.reader.body_done:
            if await self.read_body() is None:
                return False
        return True


async def serve(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    limits: ServerLimits | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host``:``port`` (0: a free port) until cancelled; reports the
    base URLs (``http://host:port``) it listens on through ``task_status``."""
    limits = limits or ServerLimits()
    listeners = await trio.open_tcp_listeners(port, host=host)
    urls = []
    for listener in listeners:
        address = listener.socket.getsockname()
        shown = f"[{address[0]}]" if ":" in address[0] else address[0]
        urls.append(f"http://{shown}:{address[1]}")
    active = 0

    async def handle(stream: trio.SocketStream) -> None:
        nonlocal active
        if active >= limits.max_connections:
            await stream.aclose()
            return
        active += 1
        try:
            local = stream.socket.getsockname()
            await _Connection(stream, app, limits, (str(local[0]), int(local[1]))).serve()
        except Exception:
            log.exception("an HTTP connection failed")
        finally:
            active -= 1
            await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as nursery:
        task_status.started(urls)
        await trio.serve_listeners(handle, listeners, handler_nursery=nursery)
