"""The requests of one HTTP/1.1 connection, read by llhttp, without I/O (RFC 9112).

``RequestReader`` is fed the bytes a connection receives (``buffer``) and gives back each
request's head (``read_head``) and then its body (``read_body``), or raises ``BadRequest``
naming the status to answer and why. The parsing is llhttp's, Node.js's C parser, through
``httptools``, in its strict mode: it refuses folded header lines, white space before a
colon, bare CR or LF, control characters, a repeated or non-numeric ``Content-Length``,
``Content-Length`` beside ``Transfer-Encoding``, and malformed chunk lines.
``letsnode.http.checks`` adds what the node refuses beyond that and words every refusal.

What this module does itself is only to decide how many bytes llhttp gets, so that it never
reads past the request being served and each limit holds on the bytes actually read:

- the head is the bytes up to the first blank line (no head llhttp accepts has a bare CR or
  LF, so none has an earlier one); it must end within ``max_head_bytes``, blank line
  included (431), however the bytes arrive;
- a ``Content-Length`` body is given to llhttp up to that length and no further;
- a chunked body is given line by line and chunk by chunk: each chunk's size is read from a
  size line llhttp has just accepted, so a chunk size line (at most ``MAX_CHUNK_LINE``
  bytes, extensions included) and the trailers (at most ``MAX_TRAILER_BYTES``) are measured
  exactly, and the body ends where llhttp says it does. More than ``max_body_bytes`` of
  decoded body is refused (413).

Each request gets a fresh llhttp parser, so nothing llhttp concludes about one request
(keep-alive, an upgrade) carries over to the next. Tests feed the same bytes to this reader
and to h11 and require that whatever it accepts, h11 reads the same way.

Why llhttp and not h11 (also sans-I/O, pure Python, and the reference the tests compare
with), measured on a typical payment request (8 header lines, a 330-byte JSON body) read
head and body: this reader takes about 11 µs (llhttp and its callbacks about 5 µs, the
checks the rest), h11 alone about 29 µs, the hand-written parser this replaced about 8 µs;
the node spends about 500 µs of CPU per payment. The deciding reason is what each hands
back: h11 normalises headers (a repeated ``Content-Length`` merged into one, folded lines
unfolded, lines ended by a bare LF taken), so refusing those would have needed a second,
hand-written parser of the raw head, while llhttp refuses them itself and passes on every
header line as sent.
"""

from __future__ import annotations

import re
from enum import Enum

from httptools import (
    HttpParserError,
    HttpParserInvalidMethodError,
    HttpParserUpgrade,
    HttpRequestParser,
)

from letsnode.http.checks import (
    MAX_HEADERS,
    BadRequest,
    RequestHead,
    body_refusal,
    check_field,
    check_head,
    head_refusal,
)

__all__ = [
    "MAX_CHUNK_LINE",
    "MAX_HEADERS",
    "MAX_TRAILER_BYTES",
    "BadRequest",
    "RequestHead",
    "RequestReader",
]

MAX_CHUNK_LINE = 1024  # a chunk size line, extensions included, its CRLF not
MAX_TRAILER_BYTES = 8 * 1024  # the trailers, line ends included
_HEX = re.compile(rb"[0-9A-Fa-f]+")


class _Part(Enum):
    """Where the reader is in the current request."""

    HEAD = "head"  # no request under way: the next bytes start a head
    LENGTH = "length"  # a Content-Length body
    SIZE = "size"  # a chunk size line
    DATA = "data"  # a chunk's data
    DATA_END = "data-end"  # the CRLF after a chunk's data
    TRAILERS = "trailers"  # after the last chunk: trailer lines and a blank line


class _Events:
    """What llhttp reports of one request (the callbacks httptools calls)."""

    __slots__ = ("begun", "body", "chunk_ends", "chunks", "done", "fields", "head_done", "url")

    def __init__(self) -> None:
        self.begun = 0
        self.url = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.body: list[bytes] = []
        self.chunks = 0  # chunk size lines read
        self.chunk_ends = 0  # chunks read to their end (the last one: trailers included)
        self.done = False

    def on_message_begin(self) -> None:
        self.begun += 1

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_chunk_header(self) -> None:
        self.chunks += 1

    def on_chunk_complete(self) -> None:
        self.chunk_ends += 1

    def on_message_complete(self) -> None:
        self.done = True


class RequestReader:
    """Reads one connection's requests in turn from ``buffer``, where the caller appends
    the bytes it receives. ``read_head`` once per request, then ``read_body`` until
    ``body_done``; whatever follows a request stays in ``buffer`` for the next one. After a
    ``BadRequest`` the connection is to be closed."""

    def __init__(self, max_head_bytes: int = 16 * 1024, max_body_bytes: int = 1024 * 1024) -> None:
        self.buffer = bytearray()
        self.max_head_bytes = max_head_bytes
        self.max_body_bytes = max_body_bytes
        self._searched = 0  # bytes of buffer known to hold no blank line
        self._part = _Part.HEAD
        self._parser: HttpRequestParser | None = None
        self._events = _Events()
        self._left = 0  # bytes still to come of the Content-Length body or the chunk's data
        self._line = bytearray()  # the chunk size line so far
        self._trailer_bytes = 0
        self._body_bytes = 0  # decoded so far
        self._head_fields = 0

    @property
    def body_done(self) -> bool:
        """Whether the current request's body has been read to its end (or it has none)."""
        return self._part is _Part.HEAD

    @property
    def body_left(self) -> int:
        """Bytes of a ``Content-Length`` body still to be read; -1 for a chunked body."""
        return self._left if self._part in (_Part.LENGTH, _Part.HEAD) else -1

    def read_head(self) -> RequestHead | None:
        """The next request's head once the buffer holds all of it, else None; refused
        (``BadRequest``) as soon as it is malformed or too large, or when its
        ``Content-Length`` is over ``max_body_bytes`` (413)."""
        if self._part is not _Part.HEAD:
            raise RuntimeError("the body of the previous request has not been read")
        buffer = self.buffer
        limit = self.max_head_bytes
        end = buffer.find(b"\r\n\r\n", max(0, self._searched - 3), limit)
        if end < 0:
            if len(buffer) >= limit:
                raise BadRequest(431, "request head too large")
            self._searched = len(buffer)
            return None
        self._searched = 0
        raw = bytes(buffer[: end + 4])
        del buffer[: end + 4]
        events = self._events = _Events()
        parser = self._parser = HttpRequestParser(events)
        upgrade = False
        try:
            parser.feed_data(raw)
        except HttpParserUpgrade:
            # Upgrade or CONNECT: llhttp stops after the head and skips any body. The node
            # switches to no other protocol; the request is served as an ordinary one below
            # if it has no body.
            upgrade = True
        except HttpParserError as error:
            raise head_refusal(
                str(error),
                raw=raw,
                read_target=bool(events.url),
                unknown_method=isinstance(error, HttpParserInvalidMethodError),
                names=[name.lower() for name, _ in events.fields],
            ) from None
        if not events.head_done or events.begun != 1 or events.body or events.chunks:
            raise BadRequest(400, "malformed request line")  # blank lines, no request line
        method, version = parser.get_method(), parser.get_http_version()
        head = check_head(raw, method, events.url, version, events.fields)
        if head.content_length > self.max_body_bytes:
            raise BadRequest(413, "request body too large")
        if events.done != (head.content_length == 0):
            # llhttp and the head disagree on whether a body follows: only when llhttp
            # skipped the body of an upgrade request.
            if upgrade:
                raise BadRequest(400, "a request to switch protocols cannot have a body")
            raise BadRequest(400, "malformed request head")
        self._head_fields = len(events.fields)
        self._body_bytes = 0
        if head.chunked:
            self._part = _Part.SIZE
            self._line.clear()
            self._left = -1
        elif head.content_length:
            self._part = _Part.LENGTH
            self._left = head.content_length
        else:
            self._left = 0
            self._parser = None
        return head

    def read_body(self) -> bytes:
        """As much of the current request's body as the buffer holds, decoded (b"" if none
        of it yet); ``body_done`` tells when it is all read."""
        if self._part is _Part.HEAD:
            return b""
        if self._part is _Part.LENGTH:
            take = min(self._left, len(self.buffer))
            self._feed(bytes(self.buffer[:take]))
            del self.buffer[:take]
            self._left -= take
            if not self._left:
                self._end_request()
        else:
            self._read_chunked()
        body = self._events.body
        out = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        return out

    def _read_chunked(self) -> None:
        buffer = self.buffer
        pos = 0
        try:
            while pos < len(buffer) and self._part is not _Part.HEAD:
                if self._part is _Part.DATA:
                    stop = min(len(buffer), pos + self._left)
                else:  # a line: up to its LF
                    lf = buffer.find(b"\n", pos)
                    stop = len(buffer) if lf < 0 else lf + 1
                self._read_chunk_piece(bytes(buffer[pos:stop]))
                pos = stop
        finally:
            del buffer[:pos]

    def _read_chunk_piece(self, piece: bytes) -> None:
        """Give llhttp ``piece``: the rest of a chunk's data, or a line or part of one."""
        part = self._part
        events = self._events
        whole_line = piece.endswith(b"\n")
        if part is _Part.SIZE:
            self._line += piece
            # A line still without its LF may end with its CR: not yet over the limit.
            if len(self._line) > MAX_CHUNK_LINE + (2 if whole_line else 1):
                raise BadRequest(400, f"chunk size line longer than {MAX_CHUNK_LINE} bytes")
        elif part is _Part.TRAILERS:
            self._trailer_bytes += len(piece)
            if self._trailer_bytes > MAX_TRAILER_BYTES:
                raise BadRequest(400, "trailers too long")
        chunks, chunk_ends = events.chunks, events.chunk_ends
        self._feed(piece)
        if part is _Part.DATA:
            self._left -= len(piece)
            self._body_bytes += len(piece)
            if not self._left:
                self._part = _Part.DATA_END
        elif not whole_line:
            pass  # the rest of the line is still to come
        elif part is _Part.SIZE:
            match = _HEX.match(self._line)  # of a size line llhttp has just accepted
            if events.chunks != chunks + 1 or match is None:
                raise BadRequest(400, "malformed chunk size line")
            size = int(match[0], 16)
            if self._body_bytes + size > self.max_body_bytes:
                raise BadRequest(413, "request body too large")
            self._line.clear()
            self._left = size
            self._part = _Part.DATA if size else _Part.TRAILERS
            self._trailer_bytes = 0
        elif part is _Part.DATA_END:
            if events.chunk_ends != chunk_ends + 1:
                raise BadRequest(400, "chunk data longer than its size")
            self._part = _Part.SIZE
        elif events.done:  # trailers: the blank line that ends them
            for name, value in events.fields[self._head_fields :]:
                check_field(name, value.strip(b" \t"), "trailer")
            self._end_request()
        if events.done and self._part is not _Part.HEAD:
            raise BadRequest(400, "malformed chunked body")

    def _feed(self, data: bytes) -> None:
        assert self._parser is not None
        try:
            self._parser.feed_data(data)
        except HttpParserError as error:
            if self._part is _Part.LENGTH:
                raise BadRequest(400, "malformed request body") from None
            raise body_refusal(str(error), self._part.value) from None

    def _end_request(self) -> None:
        if not self._events.done or self._events.begun != 1:
            raise BadRequest(400, "malformed request body")
        self._part = _Part.HEAD
        self._parser = None
        self._left = 0
