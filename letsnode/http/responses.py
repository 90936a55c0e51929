"""The bytes of the response heads the node's HTTP server writes itself: status lines, the
``date`` header (formatted once a second) and whole refusals."""

from __future__ import annotations

import time
from http import HTTPStatus


def _make_status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


_STATUS_LINES = {int(s): _make_status_line(int(s)) for s in HTTPStatus}


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <phrase>\r\n``, made once for the statuses HTTP names."""
    return _STATUS_LINES.get(status) or _make_status_line(status)


_date: tuple[int, bytes] = (0, b"")


def date_header() -> bytes:
    """``date: ...\\r\\n`` for the current second (formatted once a second)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        text = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))
        _date = (now, b"date: " + text.encode() + b"\r\n")
    return _date[1]


def refusal(status: int, reason: str) -> bytes:
    """A whole plain-text response refusing a request (``reason`` is its body); it says the
    connection closes."""
    body = f"{reason}\n".encode()
    return b"".join(
        [
            status_line(status),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"x-content-type-options: nosniff\r\n",
            b"content-security-policy: default-src 'none'\r\n",
            b"connection: close\r\n",
            date_header(),
            b"\r\n",
            body,
        ]
    )
