"""What the node refuses in a request beyond what llhttp refuses, and how each refusal reads.

``letsnode.http.parse`` has llhttp read every request; this module is the thin, stricter
layer on top. ``check_head`` takes what llhttp read of a head and either builds the
``RequestHead`` the server serves or raises ``BadRequest`` with the status to answer and a
plain-text reason. ``head_refusal`` and ``body_refusal`` word llhttp's own refusals the same
way, so a client reads the same reason whichever layer refused.

Refused here, whatever llhttp makes of it: a request line that is not exactly
``METHOD SP /path SP HTTP/1.x CRLF`` (llhttp also takes runs of spaces, blank lines before
it, other protocols and HTTP/0.9), a version other than 1.0 and 1.1 (505), a target not in
origin form, more than ``MAX_HEADERS`` header lines (431), a missing or repeated ``Host``,
a repeated ``Content-Length`` or ``Transfer-Encoding``, ``Content-Length`` that is not plain
digits, ``Transfer-Encoding`` beside ``Content-Length``, on HTTP/1.0, or other than
``chunked`` (501; llhttp takes ``gzip, chunked``), an ``Expect`` other than
``100-continue`` (417), and a path that is not UTF-8 once percent-decoded. Header names that
are not tokens and values with control characters are checked again although llhttp refuses
them, so that the node's promise does not rest on one library's defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

MAX_HEADERS = 100

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_NAME = re.compile(_TOKEN)
_METHOD_THEN_SPACE = re.compile(_TOKEN + rb" ")
# A field value once stripped: visible ASCII, obs-text, spaces and tabs.
_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")
_TARGET = re.compile(rb"/[!-~]*")

ONLY_HTTP_1 = "only HTTP/1.0 and HTTP/1.1 are served"
ONLY_CHUNKED = "the only transfer coding served is chunked"
CONTROL_IN_HEADER = "control character in a header value"
CONTROL_IN_TRAILER = "control character in a trailer"
NOT_A_NUMBER = "Content-Length is not a number"


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


def check_field(name: bytes, value: bytes, where: str = "header") -> None:
    """Refuse a header (or trailer) field whose name is not a token or whose value, already
    stripped of surrounding white space, holds a control character."""
    if _NAME.fullmatch(name) is None:
        raise BadRequest(400, f"malformed {where} line")
    if _VALUE.fullmatch(value) is None:
        raise BadRequest(400, CONTROL_IN_HEADER if where == "header" else CONTROL_IN_TRAILER)


def check_head(
    raw: bytes, method: bytes, target: bytes, version: str, fields: list[tuple[bytes, bytes]]
) -> RequestHead:
    """The request whose head llhttp read from ``raw`` (the head's bytes, blank line
    included) as ``method``, ``target``, ``version`` (``"1.1"``) and ``fields`` (names as
    sent, values without leading white space), or ``BadRequest``."""
    if not raw.startswith(b"%s %s HTTP/%s\r\n" % (method, target, version.encode())):
        raise BadRequest(400, "malformed request line")
    if version not in ("1.1", "1.0"):
        raise BadRequest(505, ONLY_HTTP_1)
    if _TARGET.fullmatch(target) is None:
        raise BadRequest(400, "the request target must be a path starting with /")
    if len(fields) > MAX_HEADERS:
        raise BadRequest(431, f"more than {MAX_HEADERS} header lines")
    headers: list[tuple[bytes, bytes]] = []
    hosts = 0
    content_length: bytes | None = None
    transfer_encoding: bytes | None = None
    connection = b""
    expectations: list[bytes] = []
    for raw_name, raw_value in fields:
        value = raw_value.strip(b" \t")
        check_field(raw_name, value)
        name = raw_name.lower()
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
    if version == "1.1" and hosts != 1:
        raise BadRequest(400, "an HTTP/1.1 request needs exactly one Host header")
    if hosts > 1:
        raise BadRequest(400, "more than one Host header")
    length = 0
    if transfer_encoding is not None:
        if content_length is not None:
            raise BadRequest(400, "both Content-Length and Transfer-Encoding")
        if transfer_encoding.lower() != b"chunked":
            raise BadRequest(501, ONLY_CHUNKED)
        if version == "1.0":
            raise BadRequest(400, "Transfer-Encoding in an HTTP/1.0 request")
        length = -1
    elif content_length is not None:
        if not content_length.isdigit() or len(content_length) > 18:
            raise BadRequest(400, NOT_A_NUMBER)
        length = int(content_length)
    # Our own reading of Connection, not llhttp's: llhttp keeps "upgrade, close" alive and
    # lets "keep-alive" win over "close" on HTTP/1.0.
    tokens = {t.strip() for t in connection.split(b",")} if connection else set()
    keep_alive = b"close" not in tokens and (version == "1.1" or b"keep-alive" in tokens)
    if any(expect != b"100-continue" for expect in expectations):
        raise BadRequest(417, "the only expectation served is 100-continue")
    raw_path, _, query = target.partition(b"?")
    try:
        path = unquote_to_bytes(raw_path).decode()
    except UnicodeDecodeError:
        raise BadRequest(400, "the path is not UTF-8 once percent-decoded") from None
    return RequestHead(
        method=method.decode(),
        raw_path=raw_path,
        path=path,
        query_string=query,
        http_version=version,
        headers=headers,
        content_length=length,
        keep_alive=keep_alive,
        expect_continue=bool(expectations) and version == "1.1",
    )


# llhttp's reasons for refusing a head (llhttp_get_error_reason, as httptools passes them)
# worded as the node words its own refusals. Any other reason is a malformed request line
# (before llhttp has read the target) or header line (after).
_HEAD_REASONS: dict[str, tuple[int, str]] = {
    "Invalid HTTP version": (505, ONLY_HTTP_1),
    "Invalid header value char": (400, CONTROL_IN_HEADER),
    "Missing expected CR after header value": (400, CONTROL_IN_HEADER),
    "Missing expected LF after header value": (400, CONTROL_IN_HEADER),
    "Duplicate Content-Length": (400, "more than one Content-Length"),
    "Invalid character in Content-Length": (400, NOT_A_NUMBER),
    "Empty Content-Length": (400, NOT_A_NUMBER),
    "Content-Length overflow": (400, NOT_A_NUMBER),
    "Content-Length can't be present with Transfer-Encoding": (
        400,
        "both Content-Length and Transfer-Encoding",
    ),
    "Transfer-Encoding can't be present with Content-Length": (
        400,
        "both Content-Length and Transfer-Encoding",
    ),
    "Request has invalid `Transfer-Encoding`": (501, ONLY_CHUNKED),
    "Invalid `Transfer-Encoding` header value": (501, ONLY_CHUNKED),
    "Empty Transfer-Encoding": (501, ONLY_CHUNKED),
}
# Reasons llhttp gives for the request line once it has read the target.
_REQUEST_LINE_REASONS = frozenset(
    {
        "Expected CRLF after version",
        "Expected space after version",
        "Expected dot",
        "Expected HTTP/, RTSP/ or ICE/",
        "Expected SOURCE method for ICE/x.x request",
        "Invalid method for HTTP/x.x request",
        "Invalid method for RTSP/x.x request",
        "Invalid major version",
        "Invalid minor version",
        "Unexpected space after start line",
    }
)


def head_refusal(
    reason: str, *, raw: bytes, read_target: bool, unknown_method: bool, names: list[bytes]
) -> BadRequest:
    """``BadRequest`` for llhttp's refusal (``reason``) of the head ``raw``: ``read_target``
    whether llhttp had read the target, ``unknown_method`` whether it refused the method,
    ``names`` the header names it had passed on (lower-cased)."""
    if unknown_method:
        # A token llhttp does not know as a method (RFC 9110 §9.1: 501); anything else in
        # the method's place is a malformed request line.
        if _METHOD_THEN_SPACE.match(raw):
            return BadRequest(501, "unknown method")
        return BadRequest(400, "malformed request line")
    if reason == "Invalid `Transfer-Encoding` header value" and b"transfer-encoding" in names:
        return BadRequest(400, "more than one Transfer-Encoding")
    if reason in _HEAD_REASONS:
        return BadRequest(*_HEAD_REASONS[reason])
    if not read_target or reason in _REQUEST_LINE_REASONS:
        return BadRequest(400, "malformed request line")
    return BadRequest(400, "malformed header line")


def body_refusal(reason: str, part: str) -> BadRequest:
    """``BadRequest`` for llhttp's refusal (``reason``) of a chunked body while it read
    ``part``: ``size`` (a chunk size line), ``data-end`` (the line end after a chunk's data)
    or ``trailers``."""
    if part == "data-end":
        return BadRequest(400, "chunk data longer than its size")
    if part == "trailers":
        if _HEAD_REASONS.get(reason, (0, ""))[1] == CONTROL_IN_HEADER:
            return BadRequest(400, CONTROL_IN_TRAILER)
        return BadRequest(400, "malformed trailer line")
    return BadRequest(400, "malformed chunk size line")
