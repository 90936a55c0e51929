"""HTTP/1.1 request heads and chunked bodies, parsed strictly and without I/O (RFC 9112).

The node's HTTP server (``letsnode.http.server``) feeds this module the bytes it read; what
comes back is either a ``RequestHead`` or a ``BadRequest`` that names what was wrong and the
status to answer with. Anything a proxy and this parser could read two ways is refused
rather than guessed at: folded header lines, space before a header's colon, a
``Content-Length`` that is not plain digits or appears twice, ``Transfer-Encoding`` beside
``Content-Length``, a transfer coding other than ``chunked``, a missing or repeated
``Host``, control characters anywhere in the head or the trailers (a percent-encoded one in
the path is decoded, as ASGI asks, and left to the application). Tests compare this parser
with h11's on generated requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

MAX_HEADERS = 100
MAX_CHUNK_LINE = 1024
MAX_TRAILER_BYTES = 8 * 1024

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([^\x00-\x20\x7f]+) HTTP/(\d)\.(\d)")
_NAME = re.compile(_TOKEN)
# A field value: visible ASCII, obs-text, and single spaces or tabs between them.
_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")
_TARGET = re.compile(rb"/[!-~]*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?")


class BadRequest(Exception):
    """A request this server will not serve: ``status`` to answer with, ``reason`` why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class RequestHead:
    method: str
    raw_path: bytes
    path: str
    query_string: bytes
    http_version: str
    headers: list[tuple[bytes, bytes]]  # names lower-cased, in the order received
    content_length: int  # -1 when the body is chunked
    keep_alive: bool
    expect_continue: bool

    @property
    def chunked(self) -> bool:
        return self.content_length < 0


def parse_head(head: bytes) -> RequestHead:
    """The request whose head (request line and header lines, without the blank line that
    ends it) is ``head``."""
    lines = head.split(b"\r\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        raise BadRequest(400, "malformed request line")
    method_bytes, target, major, minor = match.groups()
    if major != b"1" or minor not in (b"0", b"1"):
        raise BadRequest(505, "only HTTP/1.0 and HTTP/1.1 are served")
    if _TARGET.fullmatch(target) is None:
        raise BadRequest(400, "the request target must be a path starting with /")
    if len(lines) - 1 > MAX_HEADERS:
        raise BadRequest(431, f"more than {MAX_HEADERS} header lines")
    headers: list[tuple[bytes, bytes]] = []
    hosts = 0
    content_length: bytes | None = None
    transfer_encoding: bytes | None = None
    connection = b""
    expectations: list[bytes] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or _NAME.fullmatch(name) is None:
            # Also a line that starts with white space (obsolete folding) or has white
            # space before its colon: the name is then not a token.
            raise BadRequest(400, "malformed header line")
        value = value.strip(b" \t")
        if _VALUE.fullmatch(value) is None:
            raise BadRequest(400, "control character in a header value")
        name = name.lower()
        headers.append((name, value))
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            if content_length is not None:
                raise BadRequest(400, "more than one Content-Length")
            content_length = value
        elif name == b"transfer-encoding":
            if transfer_encoding is not None:
                raise BadRequest(400, "more than one Transfer-Encoding")
            transfer_encoding = value
        elif name == b"connection":
            connection = connection + b"," + value.lower() if connection else value.lower()
        elif name == b"expect":
            expectations.append(value.lower())
    version = "1.1" if minor == b"1" else "1.0"
    if version == "1.1" and hosts != 1:
        raise BadRequest(400, "an HTTP/1.1 request needs exactly one Host header")
    if hosts > 1:
        raise BadRequest(400, "more than one Host header")
    length = 0
    if transfer_encoding is not None:
        if content_length is not None:
            raise BadRequest(400, "both Content-Length and Transfer-Encoding")
        if transfer_encoding.lower() != b"chunked":
            raise BadRequest(501, "the only transfer coding served is chunked")
        if version == "1.0":
            raise BadRequest(400, "Transfer-Encoding in an HTTP/1.0 request")
        length = -1
    elif content_length is not None:
        if not content_length.isdigit() or len(content_length) > 18:
            raise BadRequest(400, "Content-Length is not a number")
        length = int(content_length)
    tokens = {t.strip() for t in connection.split(b",")} if connection else set()
    keep_alive = b"close" not in tokens and (version == "1.1" or b"keep-alive" in tokens)
    if any(expect != b"100-continue" for expect in expectations):
        raise BadRequest(417, "the only expectation served is 100-continue")
    expect_continue = bool(expectations) and version == "1.1"
    raw_path, _, query = target.partition(b"?")
    try:
        path = unquote_to_bytes(raw_path).decode()
    except UnicodeDecodeError:
        raise BadRequest(400, "the path is not UTF-8 once percent-decoded") from None
    return RequestHead(
        method=method_bytes.decode(),
        raw_path=raw_path,
        path=path,
        query_string=query,
        http_version=version,
        headers=headers,
        content_length=length,
        keep_alive=keep_alive,
        expect_continue=expect_continue,
    )


class ChunkedDecoder:
    """The body of a chunked request, fed as it arrives: ``feed`` returns the data decoded so
    far and keeps what is incomplete; ``done`` once the last chunk and trailers are in.
    ``extra`` is whatever followed the body (the next request of a pipelining client)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._remaining = 0  # bytes of the current chunk's data still to come
        self._state = "size"  # size, data, data_end, trailers, done
        self._trailer_bytes = 0
        self.done = False
        self.extra = b""

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.extra += data
            return b""
        buffer = self._buffer + data
        out: list[bytes] = []
        while True:
            if self._state == "data":
                if not buffer:
                    break
                piece = buffer[: self._remaining]
                out.append(piece)
                buffer = buffer[len(piece) :]
                self._remaining -= len(piece)
                if self._remaining == 0:
                    self._state = "data_end"
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                limit = MAX_TRAILER_BYTES if self._state == "trailers" else MAX_CHUNK_LINE
                if len(buffer) > limit:
                    raise BadRequest(400, "malformed chunked body")
                break
            line, buffer = buffer[:end], buffer[end + 2 :]
            if self._state == "data_end":
                if line:
                    raise BadRequest(400, "chunk data longer than its size")
                self._state = "size"
            elif self._state == "size":
                match = _CHUNK_SIZE.fullmatch(line) if len(line) <= MAX_CHUNK_LINE else None
                if match is None:
                    raise BadRequest(400, "malformed chunk size line")
                self._remaining = int(match.group(1), 16)
                self._state = "data" if self._remaining else "trailers"
            elif self._state == "trailers":
                if not line:
                    self._state = "done"
                    self.done = True
                    self.extra = buffer
                    buffer = b""
                    break
                name, colon, value = line.partition(b":")
                if not colon or _NAME.fullmatch(name) is None:
                    raise BadRequest(400, "malformed trailer line")
                if _VALUE.fullmatch(value) is None:
                    raise BadRequest(400, "control character in a trailer")
                self._trailer_bytes += len(line)
                if self._trailer_bytes > MAX_TRAILER_BYTES:
                    raise BadRequest(400, "trailers too long")
        self._buffer = buffer
        return b"".join(out)
