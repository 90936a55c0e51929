"""Reading requests (``letsnode.http.parse``: llhttp, with the node's checks on top), by
example: the heads the reader accepts and refuses (with the status it answers), the head
limit, and chunked bodies however their bytes arrive. ``test_http_parse_h11.py`` compares
the reader with h11 on generated and fuzzed requests.
"""

from __future__ import annotations

import pytest

from letsnode.http.checks import check_field, check_head
from letsnode.http.parse import (
    MAX_CHUNK_LINE,
    MAX_HEADERS,
    MAX_TRAILER_BYTES,
    BadRequest,
    RequestHead,
    RequestReader,
)

REFUSAL_STATUSES = {400, 413, 417, 431, 501, 505}


def head(*lines: bytes) -> bytes:
    """Request head lines joined by CRLF, without the blank line that ends the head."""
    return b"\r\n".join(lines)


def parse_head(lines: bytes) -> RequestHead:
    """The head ``lines`` (as ``head`` joins them) read by a fresh reader."""
    reader = RequestReader()
    reader.buffer += lines + b"\r\n\r\n"
    got = reader.read_head()
    assert got is not None
    return got


def refusal(lines: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse_head(lines)
    assert_readable(info.value)
    return info.value


def assert_readable(exc: BadRequest) -> None:
    assert isinstance(exc.reason, str)
    assert exc.reason.strip() == exc.reason != ""
    assert exc.reason.isprintable()
    assert str(exc) == exc.reason
    assert exc.status in REFUSAL_STATUSES


# -- heads: what the reader accepts ---------------------------------------------------------


def test_a_plain_get():
    got = parse_head(head(b"GET /index.html HTTP/1.1", b"Host: example.com"))
    assert got == RequestHead(
        method="GET",
        raw_path=b"/index.html",
        path="/index.html",
        query_string=b"",
        http_version="1.1",
        headers=[(b"host", b"example.com")],
        content_length=0,
        keep_alive=True,
        expect_continue=False,
    )
    assert not got.chunked


def test_a_post_with_content_length():
    got = parse_head(
        head(
            b"POST /api/transfers HTTP/1.1",
            b"Host: node.example:8080",
            b"Content-Type: application/json",
            b"Content-Length: 27",
        )
    )
    assert got.method == "POST"
    assert got.path == "/api/transfers"
    assert got.content_length == 27
    assert not got.chunked
    assert got.headers[-1] == (b"content-length", b"27")


def test_a_chunked_post():
    got = parse_head(head(b"PUT /x HTTP/1.1", b"Host: a", b"Transfer-Encoding: Chunked"))
    assert got.chunked
    assert got.content_length == -1


def test_header_names_are_lower_cased_and_order_and_repeats_kept():
    got = parse_head(
        head(
            b"GET / HTTP/1.1",
            b"X-Second: 2",
            b"HOST: h",
            b"x-second: 3",
            b"Accept-ENCODING: gzip",
            b"X-First: 1",
        )
    )
    assert got.headers == [
        (b"x-second", b"2"),
        (b"host", b"h"),
        (b"x-second", b"3"),
        (b"accept-encoding", b"gzip"),
        (b"x-first", b"1"),
    ]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"X-A:v", b"v"),
        (b"X-A:   v", b"v"),
        (b"X-A:\tv\t", b"v"),
        (b"X-A: \t v  \t ", b"v"),
        (b"X-A: a  b\tc", b"a  b\tc"),  # white space inside a value is kept
        (b"X-A:", b""),
        (b"X-A:  \t ", b""),
        (b"X-A: caf\xe9 \x80\xff", b"caf\xe9 \x80\xff"),  # obs-text is opaque data
        (b'X-A: "quoted, string"; q=1', b'"quoted, string"; q=1'),
        (b"X-A: a:b:c", b"a:b:c"),  # only the first colon separates
    ],
)
def test_header_value_white_space_is_stripped(line, value):
    got = parse_head(head(b"GET / HTTP/1.1", b"Host: h", line))
    assert got.headers[1] == (b"x-a", value)


@pytest.mark.parametrize(
    ("target", "raw_path", "path", "query"),
    [
        (b"/", b"/", "/", b""),
        (b"/a/b?x=1&y=%20", b"/a/b", "/a/b", b"x=1&y=%20"),  # the query is not decoded
        (b"/a?", b"/a", "/a", b""),
        (b"/a?b?c", b"/a", "/a", b"b?c"),  # only the first ? splits
        (b"/caf%C3%A9/%20x", b"/caf%C3%A9/%20x", "/café/ x", b""),
        (b"/a%2Fb", b"/a%2Fb", "/a/b", b""),
        (b"/%7e%7E", b"/%7e%7E", "/~~", b""),
        (b"/100%zz", b"/100%zz", "/100%zz", b""),  # not a percent escape: kept as it is
        (b"/%", b"/%", "/%", b""),
        (b"//double//", b"//double//", "//double//", b""),
        (b"/q?%ff", b"/q", "/q", b"%ff"),  # a query need not decode as UTF-8
    ],
)
def test_query_is_split_off_and_path_percent_decoded(target, raw_path, path, query):
    got = parse_head(head(b"GET " + target + b" HTTP/1.1", b"Host: h"))
    assert (got.raw_path, got.path, got.query_string) == (raw_path, path, query)


@pytest.mark.parametrize("target", [b"/%ff", b"/caf%C3", b"/%C3%28", b"/%ED%A0%80", b"/%c0%af"])
def test_a_path_that_is_not_utf8_once_decoded_is_refused(target):
    assert refusal(head(b"GET " + target + b" HTTP/1.1", b"Host: h")).status == 400


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        (b"1.1", [], True),
        (b"1.1", [b"Connection: close"], False),
        (b"1.1", [b"Connection: CLOSE"], False),
        (b"1.1", [b"Connection: keep-alive"], True),
        (b"1.1", [b"Connection: upgrade, close"], False),  # llhttp alone keeps this alive
        (b"1.1", [b"Connection: upgrade", b"Connection: close"], False),
        (b"1.1", [b"Connection: closed"], True),  # a token, not a substring
        (b"1.0", [], False),
        (b"1.0", [b"Connection: keep-alive"], True),
        (b"1.0", [b"Connection: Keep-Alive"], True),
        (b"1.0", [b"Connection: foo,  keep-alive "], True),
        (b"1.0", [b"Connection: close"], False),
        (b"1.0", [b"Connection: keep-alives"], False),
    ],
)
def test_keep_alive(version, connection, keep_alive):
    got = parse_head(head(b"GET / HTTP/" + version, b"Host: h", *connection))
    assert got.keep_alive is keep_alive


@pytest.mark.parametrize(
    "connection",
    [[b"Connection: keep-alive, close"], [b"Connection: keep-alive", b"Connection: close"]],
)
def test_close_wins_over_keep_alive_on_http_1_0(connection):
    assert parse_head(head(b"GET / HTTP/1.0", *connection)).keep_alive is False


@pytest.mark.parametrize(
    ("version", "expect", "expect_continue"),
    [
        (b"1.1", b"Expect: 100-continue", True),
        (b"1.1", b"Expect: 100-Continue", True),
        (b"1.1", b"Expect:  100-continue\t", True),
        (b"1.0", b"Expect: 100-continue", False),  # RFC 9110 §10.1.1: ignored on 1.0
        (b"1.1", b"X-Expect: nothing", False),
    ],
)
def test_expect_100_continue_is_accepted(version, expect, expect_continue):
    got = parse_head(head(b"POST / HTTP/" + version, b"Host: h", b"Content-Length: 3", expect))
    assert got.expect_continue is expect_continue


@pytest.mark.parametrize(
    "expect",
    [
        [b"Expect: foo"],
        [b"Expect: 100-continue, foo"],
        [b"Expect: 200-ok"],
        [b"Expect:"],
        [b"Expect: 100-continue", b"Expect: foo"],
    ],
)
def test_other_expectations_are_refused_with_417(expect):
    assert refusal(head(b"POST / HTTP/1.1", b"Host: h", *expect)).status == 417


def test_an_unmet_expectation_before_100_continue_is_refused():
    assert (
        refusal(
            head(b"POST / HTTP/1.1", b"Host: h", b"Expect: foo", b"Expect: 100-continue")
        ).status
        == 417
    )


def test_content_length_with_optional_white_space_and_leading_zeros():
    for value, length in [(b" 5", 5), (b"5\t", 5), (b"007", 7), (b"0", 0), (b"9" * 6, 999999)]:
        got = parse_head(head(b"POST / HTTP/1.1", b"Host: h", b"Content-Length:" + value))
        assert got.content_length == length


def test_a_content_length_beyond_the_body_limit_is_refused_with_413():
    reader = RequestReader(max_body_bytes=100)
    reader.buffer += b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n"
    with pytest.raises(BadRequest) as info:
        reader.read_head()
    assert info.value.status == 413
    too_long = head(b"POST / HTTP/1.1", b"Host: h", b"Content-Length: " + b"9" * 18)
    assert refusal(too_long).status == 413


def test_http_1_0_needs_no_host():
    got = parse_head(head(b"GET / HTTP/1.0"))
    assert got.http_version == "1.0"
    assert got.headers == []


def test_exactly_max_headers_lines_are_accepted():
    lines = [b"Host: h"] + [b"X-%d: v" % i for i in range(MAX_HEADERS - 1)]
    assert len(parse_head(head(b"GET / HTTP/1.1", *lines)).headers) == MAX_HEADERS


def test_methods_llhttp_knows_are_served():
    for method in [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"QUERY"]:
        assert parse_head(head(method + b" / HTTP/1.1", b"Host: h")).method == method.decode()


# -- heads: what the reader refuses ---------------------------------------------------------

H = b"Host: h"

REFUSALS = [
    # malformed request lines
    ("empty", b"", 400),
    ("no version", head(b"GET /", H), 400),
    ("no target", head(b"GET HTTP/1.1", H), 400),
    ("two spaces", head(b"GET  / HTTP/1.1", H), 400),
    ("two spaces after the target", head(b"GET /  HTTP/1.1", H), 400),
    ("trailing space", head(b"GET / HTTP/1.1 ", H), 400),
    ("leading space", head(b" GET / HTTP/1.1", H), 400),
    ("leading blank line", head(b"", b"GET / HTTP/1.1", H), 400),
    ("tabs", head(b"GET\t/\tHTTP/1.1", H), 400),
    ("lower-case http", head(b"GET / http/1.1", H), 400),
    ("RTSP", head(b"GET / RTSP/1.0", H), 400),
    ("no minor", head(b"GET / HTTP/1", H), 400),
    ("two-digit minor", head(b"GET / HTTP/1.10", H), 400),
    ("no dot", head(b"GET / HTTP/11", H), 400),
    ("non-ascii digit", head(b"GET / HTTP/1.\xd9\xa1", H), 400),
    ("method not a token", head(b"GE(T / HTTP/1.1", H), 400),
    ("empty method", head(b" / HTTP/1.1", H), 400),
    ("non-ascii method", head(b"G\xc3\x89T / HTTP/1.1", H), 400),
    ("unknown method", head(b"FOO / HTTP/1.1", H), 501),
    ("lower-case method", head(b"get / HTTP/1.1", H), 501),
    ("NUL in target", head(b"GET /a\x00b HTTP/1.1", H), 400),
    ("DEL in target", head(b"GET /a\x7f HTTP/1.1", H), 400),
    ("raw non-ascii target", head(b"GET /caf\xc3\xa9 HTTP/1.1", H), 400),
    ("bare LF after request line", b"GET / HTTP/1.1\nHost: h", 400),
    ("bare CR after request line", b"GET / HTTP/1.1\rHost: h", 400),
    # versions
    ("HTTP/2.0", head(b"GET / HTTP/2.0", H), 505),
    ("HTTP/1.2", head(b"GET / HTTP/1.2", H), 505),
    ("HTTP/0.9", head(b"GET / HTTP/0.9", H), 505),
    ("HTTP/3.1", head(b"GET / HTTP/3.1", H), 505),
    # targets that are not origin-form
    ("absolute-form", head(b"GET http://x/ HTTP/1.1", H), 400),
    ("authority-form", head(b"CONNECT x:443 HTTP/1.1", H), 400),
    ("asterisk-form", head(b"OPTIONS * HTTP/1.1", H), 400),
    ("relative", head(b"GET a/b HTTP/1.1", H), 400),
    ("query only", head(b"GET ?a HTTP/1.1", H), 400),
    # header lines
    ("obs-fold space", head(b"GET / HTTP/1.1", H, b"X-A: 1", b"  continued"), 400),
    ("obs-fold tab", head(b"GET / HTTP/1.1", H, b"X-A: 1", b"\tcontinued"), 400),
    ("obs-fold first", head(b"GET / HTTP/1.1", b" X-A: 1", H), 400),
    ("space before colon", head(b"GET / HTTP/1.1", b"Host : h"), 400),
    ("tab before colon", head(b"GET / HTTP/1.1", H, b"X-A\t: 1"), 400),
    ("space in name", head(b"GET / HTTP/1.1", H, b"X A: 1"), 400),
    ("no colon", head(b"GET / HTTP/1.1", H, b"X-A 1"), 400),
    ("empty name", head(b"GET / HTTP/1.1", H, b": 1"), 400),
    ("name not a token", head(b"GET / HTTP/1.1", H, b"X(A): 1"), 400),
    ("non-ascii name", head(b"GET / HTTP/1.1", H, b"X-\xc3\xa9: 1"), 400),
    ("NUL in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x00b"), 400),
    ("SOH in value", head(b"GET / HTTP/1.1", H, b"X-A: \x01"), 400),
    ("ESC in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x1bb"), 400),
    ("DEL in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x7f"), 400),
    ("VT in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x0bb"), 400),
    ("bare CR in value", head(b"GET / HTTP/1.1", H, b"X-A: a\rb"), 400),
    ("bare LF in value", head(b"GET / HTTP/1.1", H, b"X-A: a\nX-B: b"), 400),
    ("bare LF ending a line", head(b"GET / HTTP/1.1", H + b"\n"), 400),
    ("control char in Host", head(b"GET / HTTP/1.1", b"Host: a\x01b"), 400),
    # Host
    ("no Host on 1.1", head(b"GET / HTTP/1.1", b"X-A: 1"), 400),
    ("no headers on 1.1", head(b"GET / HTTP/1.1"), 400),
    ("two Host", head(b"GET / HTTP/1.1", H, b"Host: h"), 400),
    ("two Host differing", head(b"GET / HTTP/1.1", b"host: a", b"HOST: b"), 400),
    ("two Host on 1.0", head(b"GET / HTTP/1.0", H, b"Host: g"), 400),
    # Content-Length
    (
        "two Content-Length",
        head(b"POST / HTTP/1.1", H, b"Content-Length: 5", b"Content-Length: 5"),
        400,
    ),
    (
        "two Content-Length differing",
        head(b"POST / HTTP/1.1", H, b"Content-Length: 5", b"content-length: 6"),
        400,
    ),
    ("Content-Length list", head(b"POST / HTTP/1.1", H, b"Content-Length: 5, 5"), 400),
    ("Content-Length plus", head(b"POST / HTTP/1.1", H, b"Content-Length: +5"), 400),
    ("Content-Length minus", head(b"POST / HTTP/1.1", H, b"Content-Length: -5"), 400),
    ("Content-Length inner space", head(b"POST / HTTP/1.1", H, b"Content-Length: 1 0"), 400),
    ("Content-Length letters", head(b"POST / HTTP/1.1", H, b"Content-Length: 5a"), 400),
    ("Content-Length hex", head(b"POST / HTTP/1.1", H, b"Content-Length: 0x10"), 400),
    ("Content-Length exponent", head(b"POST / HTTP/1.1", H, b"Content-Length: 1e3"), 400),
    ("Content-Length decimal", head(b"POST / HTTP/1.1", H, b"Content-Length: 5.0"), 400),
    ("Content-Length empty", head(b"POST / HTTP/1.1", H, b"Content-Length:"), 400),
    ("Content-Length arabic digit", head(b"POST / HTTP/1.1", H, b"Content-Length: \xd9\xa1"), 400),
    ("Content-Length 19 digits", head(b"POST / HTTP/1.1", H, b"Content-Length: " + b"1" * 19), 400),
    ("Content-Length 21 digits", head(b"POST / HTTP/1.1", H, b"Content-Length: " + b"1" * 21), 400),
    # Transfer-Encoding
    (
        "CL then TE",
        head(b"POST / HTTP/1.1", H, b"Content-Length: 5", b"Transfer-Encoding: chunked"),
        400,
    ),
    (
        "TE then CL",
        head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked", b"Content-Length: 5"),
        400,
    ),
    (
        "two TE",
        head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"),
        400,
    ),
    (
        "two TE, chunked last",
        head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"),
        400,
    ),
    ("TE on 1.0", head(b"POST / HTTP/1.0", b"Transfer-Encoding: chunked"), 400),
    ("TE gzip", head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: gzip"), 501),
    ("TE gzip, chunked", head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: gzip, chunked"), 501),
    (
        "TE chunked, chunked",
        head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked, chunked"),
        501,
    ),
    ("TE identity", head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: identity"), 501),
    ("TE empty", head(b"POST / HTTP/1.1", H, b"Transfer-Encoding:"), 501),
    ("TE with parameter", head(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked;q=1"), 501),
    # upgrades: llhttp would skip the body
    (
        "upgrade with a body",
        head(b"POST / HTTP/1.1", H, b"Connection: upgrade", b"Upgrade: h2c", b"Content-Length: 2"),
        400,
    ),
    (
        "upgrade with a chunked body",
        head(
            b"POST / HTTP/1.1",
            H,
            b"Connection: upgrade",
            b"Upgrade: h2c",
            b"Transfer-Encoding: chunked",
        ),
        400,
    ),
    # too many header lines
    ("MAX_HEADERS + 1", head(b"GET / HTTP/1.1", H, *[b"X: v"] * MAX_HEADERS), 431),
]


@pytest.mark.parametrize(("raw", "status"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals(raw, status):
    assert refusal(raw).status == status


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ([(b"Host", b"h"), (b"X A", b"1")], "malformed header line"),
        ([(b"Host", b"h"), (b"", b"1")], "malformed header line"),
        ([(b"Host", b"h\x01")], "control character in a header value"),
        ([(b"Host", b"h"), (b"X", b"a\r\nY: b")], "control character in a header value"),
    ],
)
def test_the_checks_refuse_what_llhttp_refuses_too(fields, reason):
    # Fields llhttp never passes on, checked again so that the promise does not rest on
    # llhttp's defaults alone.
    raw = b"GET / HTTP/1.1\r\n"
    with pytest.raises(BadRequest) as info:
        check_head(raw, b"GET", b"/", "1.1", fields)
    assert (info.value.status, info.value.reason) == (400, reason)
    with pytest.raises(BadRequest):
        check_field(b"X", b"a\x00", "trailer")


# -- the head limit -------------------------------------------------------------------------


def sized_head(size: int) -> bytes:
    """A GET whose head, blank line included, is ``size`` bytes."""
    start = b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


@pytest.mark.parametrize("size", [1024, 16 * 1024])
def test_the_head_limit_holds_however_the_bytes_arrive(size):
    after = b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n" + b"x" * 70000  # a burst beyond the head
    for data in (sized_head(size), sized_head(size + 1)):
        fits = len(data) <= size
        for pieces in ([data + after], [data[:-1], data[-1:] + after], [data[:100], data[100:]]):
            reader = RequestReader(max_head_bytes=size)
            got: object = None
            try:
                for piece in pieces:
                    reader.buffer += piece
                    got = reader.read_head()
                    if got is not None:
                        break
            except BadRequest as exc:
                got = exc.status
            assert (got == 431) is not fits, (len(data), size)
            if fits:
                assert isinstance(got, RequestHead)


def test_a_head_without_its_end_is_refused_once_it_passes_the_limit():
    reader = RequestReader(max_head_bytes=100)
    reader.buffer += b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 71
    assert reader.read_head() is None  # 99 bytes: the blank line may still come
    reader.buffer += b"a"
    with pytest.raises(BadRequest) as info:
        reader.read_head()
    assert info.value.status == 431


# -- chunked bodies -------------------------------------------------------------------------

CHUNKED = (
    b"5\r\nhello\r\n"
    b"6;name=value\r\n world\r\n"
    b'A;a="x y";b\r\n, and more\r\n'
    b"001\r\n!\r\n"
    b"0;last\r\n"
    b"X-Trailer: 1\r\n"
    b"Expires:\r\n"
    b"\r\n"
)
DECODED = b"hello world, and more!"
NEXT = b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
CHUNKED_HEAD = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_REQUEST = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


def decode(pieces: list[bytes], reader: RequestReader | None = None) -> tuple[bytes, bool, bytes]:
    """Feed a chunked request's body in ``pieces``, as the server does (nothing more once the
    body is done): the decoded body, whether it is done, and what followed it."""
    reader = reader or RequestReader()
    reader.buffer += CHUNKED_HEAD
    got = reader.read_head()
    assert got is not None and got.chunked
    out = []
    for i, piece in enumerate(pieces):
        reader.buffer += piece
        out.append(reader.read_body())
        if reader.body_done:
            return b"".join(out), True, bytes(reader.buffer) + b"".join(pieces[i + 1 :])
        assert not reader.buffer  # all of it read, waiting for more
    return b"".join(out), False, b""


def test_chunked_whole():
    assert decode([CHUNKED + NEXT]) == (DECODED, True, NEXT)


def test_chunked_split_at_every_byte_boundary():
    data = CHUNKED + NEXT
    for i in range(len(data) + 1):
        assert decode([data[:i], data[i:]]) == (DECODED, True, NEXT), i


def test_chunked_split_at_every_pair_of_boundaries():
    data = CHUNKED + b"X"
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            assert decode([data[:i], data[i:j], data[j:]]) == (DECODED, True, b"X"), (i, j)


def test_chunked_one_byte_at_a_time():
    data = CHUNKED + NEXT
    assert decode([data[i : i + 1] for i in range(len(data))]) == (DECODED, True, NEXT)


def test_the_request_after_a_chunked_body_is_read_in_turn():
    reader = RequestReader()
    assert decode([CHUNKED + NEXT], reader)[1]
    got = reader.read_head()
    assert got is not None and got.path == "/next" and reader.body_done
    assert not reader.buffer


def test_chunked_returns_data_as_it_arrives():
    reader = RequestReader()
    reader.buffer += CHUNKED_HEAD + b"5\r\nhel"
    assert reader.read_head() is not None
    assert reader.read_body() == b"hel"
    reader.buffer += b"lo"
    assert reader.read_body() == b"lo"
    reader.buffer += b"\r\n0\r\n"
    assert reader.read_body() == b""
    assert not reader.body_done
    reader.buffer += b"\r"
    assert reader.read_body() == b""
    assert not reader.body_done
    reader.buffer += b"\nrest"
    assert reader.read_body() == b""
    assert reader.body_done
    assert reader.buffer == b"rest"


def test_an_empty_chunked_body():
    assert decode([b"0\r\n\r\n"]) == (b"", True, b"")


def test_nothing_is_left_when_nothing_follows():
    assert decode([CHUNKED]) == (DECODED, True, b"")


@pytest.mark.parametrize(
    "size_line",
    [b"5", b"05", b"00000005", b"5;a", b"5;a=b", b"5;a=b;c=d", b'5;a="quoted ; value"'],
)
def test_chunk_extensions_and_size_forms_are_ignored(size_line):
    assert decode([size_line + b"\r\nhello\r\n0\r\n\r\n"]) == (b"hello", True, b"")


def test_hex_sizes_in_either_case():
    body = (
        b"a\r\n"
        + b"x" * 10
        + b"\r\nF\r\n"
        + b"y" * 15
        + b"\r\n1f\r\n"
        + b"z" * 31
        + b"\r\n0\r\n\r\n"
    )
    assert decode([body]) == (b"x" * 10 + b"y" * 15 + b"z" * 31, True, b"")


def test_trailers_are_consumed_and_not_part_of_the_body():
    body = b"3\r\nabc\r\n0\r\nX-A: 1\r\nX-B:two words\r\nX-C:\r\n\r\n"
    assert decode([body + NEXT]) == (b"abc", True, NEXT)


def test_chunk_data_may_hold_anything():
    data = b"\r\n0\r\n\r\n\x00\xff\n\n\r\r"
    assert decode([b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n"]) == (data, True, b"")


@pytest.mark.parametrize(
    "size_line",
    [
        b"",
        b"x",
        b"g",
        b"-5",
        b"+5",
        b"0x5",
        b" 5",
        b"\t5",
        b"5 x",
        b"5\x00",
        b"5;\x00",
        b"5;a\x01",
        b"5;a\rb",
        b"\xd9\xa1",
        b"11111111111111111",  # more than 64 bits
        # allowed by RFC 9112 (white space around an extension's ';') but refused by llhttp
        # (h11 refuses the first too)
        b"5 ;a=b",
        b"5; a=b",
        b"5 ",
        b"5\t",
        b"5;a=b ",
        b"5;\xff",
    ],
)
def test_malformed_size_lines_are_refused(size_line):
    with pytest.raises(BadRequest) as info:
        decode([size_line + b"\r\nhello\r\n0\r\n\r\n"])
    assert_readable(info.value)
    assert (info.value.status, info.value.reason) == (400, "malformed chunk size line")


@pytest.mark.parametrize(
    "body",
    [
        b"3\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloX\r\n0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\r\r\n0\r\n\r\n",
        b"5\r\nhello 0\r\n\r\n",
    ],
)
def test_chunk_data_longer_than_its_size_is_refused(body):
    for pieces in ([body], [body[i : i + 1] for i in range(len(body))]):
        with pytest.raises(BadRequest) as info:
            decode(pieces)
        assert_readable(info.value)
        assert (info.value.status, info.value.reason) == (400, "chunk data longer than its size")


def test_a_chunk_beyond_the_body_limit_is_refused_when_its_size_is_read():
    with pytest.raises(BadRequest) as info:
        decode([b"123456789\r\nhello"])  # llhttp takes sizes up to 64 bits
    assert info.value.status == 413
    reader = RequestReader(max_body_bytes=10)
    assert decode([b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"], reader)[1]
    with pytest.raises(BadRequest) as info:
        decode([b"5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"], RequestReader(max_body_bytes=10))
    assert info.value.status == 413


LONG = "chunk size line longer than 1024 bytes"


def test_a_size_line_of_max_chunk_line_bytes_is_accepted():
    line = b"5;" + b"a" * (MAX_CHUNK_LINE - 2)
    data = line + b"\r\nhello\r\n0\r\n\r\n"
    assert decode([data]) == (b"hello", True, b"")
    assert decode([data[i : i + 1] for i in range(len(data))]) == (b"hello", True, b"")


def test_an_over_long_size_line_without_its_end_is_refused():
    line = b"5;" + b"a" * MAX_CHUNK_LINE
    for pieces in ([line], [line[i : i + 1] for i in range(len(line))]):
        with pytest.raises(BadRequest) as info:
            decode(pieces)
        assert info.value.reason == LONG
    # the same line still in progress at exactly the limit is waited for
    assert decode([line[:MAX_CHUNK_LINE]]) == (b"", False, b"")


@pytest.mark.parametrize("extension", [b"a" * MAX_CHUNK_LINE, b"a=" + b"b" * 5000])
def test_an_over_long_chunk_extension_is_refused(extension):
    body = b"5;" + extension + b"\r\nhello\r\n0\r\n\r\n"
    for pieces in ([body], [body[i : i + 1] for i in range(len(body))], [body[:9], body[9:]]):
        with pytest.raises(BadRequest) as info:
            decode(pieces)
        assert (info.value.status, info.value.reason) == (400, LONG)


def test_an_over_long_last_chunk_line_is_refused():
    with pytest.raises(BadRequest) as info:
        decode([b"0;" + b"a" * MAX_CHUNK_LINE + b"\r\n\r\n"])
    assert info.value.reason == LONG


@pytest.mark.parametrize(
    "trailer",
    [b"no colon", b" X-Folded: 1", b"X-A : 1", b": empty name", b"X(A): 1", b"Content-Length: 5"],
)
def test_malformed_trailer_lines_are_refused(trailer):
    with pytest.raises(BadRequest) as info:
        decode([b"0\r\n" + trailer + b"\r\n\r\n"])
    assert_readable(info.value)
    assert info.value.reason == "malformed trailer line"


def test_too_many_trailer_bytes_are_refused():
    lines = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(MAX_TRAILER_BYTES // 100))
    with pytest.raises(BadRequest):
        decode([b"0\r\n" + lines + b"\r\n"])
    with pytest.raises(BadRequest):
        decode([b"0\r\nX: " + b"v" * MAX_TRAILER_BYTES])
    fits = b"X: " + b"v" * (MAX_TRAILER_BYTES - 7) + b"\r\n"
    assert decode([b"0\r\n" + fits + b"\r\n"]) == (b"", True, b"")


@pytest.mark.parametrize("trailer", [b"X: a\nb", b"X: a\n", b"X: a\x00b", b"X: a\rb", b"X: \x01"])
def test_control_characters_in_trailers_are_refused(trailer):
    with pytest.raises(BadRequest) as info:
        decode([b"0\r\n" + trailer + b"\r\n\r\n"])
    assert info.value.reason == "control character in a trailer"


def test_a_connection_of_pipelined_requests_reads_each_in_turn():
    data = b"".join(
        [
            b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            CHUNKED_HEAD + CHUNKED,
            b"HEAD /d HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /e HTTP/1.0\r\nContent-Length: 2\r\n\r\nok",
        ]
    )
    for step in (1, 7, 64, len(data)):
        reader = RequestReader()
        read = []
        for i in range(0, len(data), step):
            reader.buffer += data[i : i + step]
            while True:
                if reader.body_done:
                    got = reader.read_head()
                    if got is None:
                        break
                    read.append([got.path, b""])
                read[-1][1] += reader.read_body()
                if not reader.body_done:
                    break
        assert read == [
            ["/a", b""],
            ["/b", b"hello"],
            ["/c", DECODED],
            ["/d", b""],
            ["/e", b"ok"],
        ], step
        assert reader.body_done and not reader.buffer
