"""The strict HTTP/1.1 request parser (``letsnode.http.parse``).

Three parts: examples of what ``parse_head`` accepts and refuses (with the status it
answers), examples of ``ChunkedDecoder``, and differential property tests that feed the same
bytes to h11 and to this parser. The property is one-sided: whenever our parser accepts a
request, h11 must accept it too and read it the same way (method, target, version, headers,
body, and where the body ends). Our parser is deliberately stricter, so h11 accepting what
we refuse is allowed; for plainly valid requests both must accept.

Every restriction of the comparison is a documented h11 difference, checked in
``test_h11_quirks_we_rely_on``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsnode.http.parse import (
    MAX_CHUNK_LINE,
    MAX_HEADERS,
    MAX_TRAILER_BYTES,
    BadRequest,
    ChunkedDecoder,
    RequestHead,
    parse_head,
)

REFUSAL_STATUSES = {400, 417, 431, 501, 505}


def head(*lines: bytes) -> bytes:
    """A request head as ``parse_head`` takes it: lines joined by CRLF, no blank line."""
    return b"\r\n".join(lines)


def refusal(raw: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse_head(raw)
    assert_readable(info.value)
    return info.value


def assert_readable(exc: BadRequest) -> None:
    assert isinstance(exc.reason, str)
    assert exc.reason.strip() == exc.reason != ""
    assert exc.reason.isprintable()
    assert str(exc) == exc.reason
    assert exc.status in REFUSAL_STATUSES


# -- parse_head: what it accepts ------------------------------------------------------------


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
        (b"1.1", [b"Connection: upgrade, close"], False),
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
    for value, length in [(b" 5", 5), (b"5\t", 5), (b"007", 7), (b"0", 0), (b"9" * 18, 10**18 - 1)]:
        got = parse_head(head(b"POST / HTTP/1.1", b"Host: h", b"Content-Length:" + value))
        assert got.content_length == length


def test_http_1_0_needs_no_host():
    got = parse_head(head(b"GET / HTTP/1.0"))
    assert got.http_version == "1.0"
    assert got.headers == []


def test_exactly_max_headers_lines_are_accepted():
    lines = [b"Host: h"] + [b"X-%d: v" % i for i in range(MAX_HEADERS - 1)]
    assert len(parse_head(head(b"GET / HTTP/1.1", *lines)).headers) == MAX_HEADERS


# -- parse_head: what it refuses --------------------------------------------------------------

H = b"Host: h"

REFUSALS = [
    # malformed request lines
    ("empty", b"", 400),
    ("no version", head(b"GET /", H), 400),
    ("no target", head(b"GET HTTP/1.1", H), 400),
    ("two spaces", head(b"GET  / HTTP/1.1", H), 400),
    ("trailing space", head(b"GET / HTTP/1.1 ", H), 400),
    ("leading space", head(b" GET / HTTP/1.1", H), 400),
    ("tabs", head(b"GET\t/\tHTTP/1.1", H), 400),
    ("lower-case http", head(b"GET / http/1.1", H), 400),
    ("no minor", head(b"GET / HTTP/1", H), 400),
    ("two-digit minor", head(b"GET / HTTP/1.10", H), 400),
    ("no dot", head(b"GET / HTTP/11", H), 400),
    ("non-ascii digit", head(b"GET / HTTP/1.\xd9\xa1", H), 400),
    ("method not a token", head(b"GE(T / HTTP/1.1", H), 400),
    ("empty method", head(b" / HTTP/1.1", H), 400),
    ("non-ascii method", head(b"G\xc3\x89T / HTTP/1.1", H), 400),
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
    ("empty line", head(b"GET / HTTP/1.1", H, b""), 400),
    ("NUL in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x00b"), 400),
    ("SOH in value", head(b"GET / HTTP/1.1", H, b"X-A: \x01"), 400),
    ("ESC in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x1bb"), 400),
    ("DEL in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x7f"), 400),
    ("VT in value", head(b"GET / HTTP/1.1", H, b"X-A: a\x0bb"), 400),
    ("bare CR in value", head(b"GET / HTTP/1.1", H, b"X-A: a\rb"), 400),
    ("bare LF in value", head(b"GET / HTTP/1.1", H, b"X-A: a\nX-B: b"), 400),
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
    # too many header lines
    ("MAX_HEADERS + 1", head(b"GET / HTTP/1.1", H, *[b"X: v"] * MAX_HEADERS), 431),
]


@pytest.mark.parametrize(("raw", "status"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals(raw, status):
    assert refusal(raw).status == status


# -- ChunkedDecoder -------------------------------------------------------------------------

CHUNKED = (
    b"5\r\nhello\r\n"
    b"6;name=value\r\n world\r\n"
    b'A; a="x y" ; b\r\n, and more\r\n'
    b"001\r\n!\r\n"
    b"0;last\r\n"
    b"X-Trailer: 1\r\n"
    b"Expires:\r\n"
    b"\r\n"
)
DECODED = b"hello world, and more!"
NEXT = b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"


def decode(pieces: list[bytes]) -> tuple[bytes, bool, bytes]:
    """Feed ``pieces`` in turn as the server does (nothing once ``done``): the decoded body,
    whether it is done, and what followed it."""
    decoder = ChunkedDecoder()
    out = []
    for i, piece in enumerate(pieces):
        out.append(decoder.feed(piece))
        if decoder.done:
            return b"".join(out), True, decoder.extra + b"".join(pieces[i + 1 :])
        assert decoder.extra == b""
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


def test_chunked_returns_data_as_it_arrives():
    decoder = ChunkedDecoder()
    assert decoder.feed(b"5\r\nhel") == b"hel"
    assert decoder.feed(b"lo") == b"lo"
    assert decoder.feed(b"\r\n0\r\n") == b""
    assert not decoder.done
    assert decoder.extra == b""
    assert decoder.feed(b"\r") == b""
    assert not decoder.done
    assert decoder.feed(b"\nrest") == b""
    assert decoder.done
    assert decoder.extra == b"rest"


def test_an_empty_chunked_body():
    assert decode([b"0\r\n\r\n"]) == (b"", True, b"")


def test_extra_is_empty_when_nothing_follows():
    decoder = ChunkedDecoder()
    decoder.feed(CHUNKED)
    assert decoder.done
    assert decoder.extra == b""


@pytest.mark.parametrize(
    "size_line",
    [
        b"5",
        b"05",
        b"00000005",
        b"5;a",
        b"5;a=b",
        b"5;a=b;c=d",
        b'5; a="quoted ; value"',
        b"5;a=b ",
        b"5 ",
        b"5\t",
        b"5 ;a=b",  # BWS before ';' is allowed by RFC 9112 §7.1.1 (h11 refuses it)
        b"5;\xff",  # obs-text in an extension
    ],
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
    data = b"\r\n0\r\n\r\n\x00\xff"
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
        b"123456789",  # more than 8 hex digits
        b"\xd9\xa1",
    ],
)
def test_malformed_size_lines_are_refused(size_line):
    with pytest.raises(BadRequest) as info:
        decode([size_line + b"\r\nhello\r\n0\r\n\r\n"])
    assert_readable(info.value)
    assert info.value.status == 400


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
        assert info.value.status == 400


def test_an_over_long_size_line_without_its_end_is_refused():
    line = b"5;" + b"a" * MAX_CHUNK_LINE
    with pytest.raises(BadRequest):
        decode([line])
    with pytest.raises(BadRequest):
        decode([line[i : i + 1] for i in range(len(line))])
    # the same line still in progress at exactly the limit is waited for
    assert decode([line[:MAX_CHUNK_LINE]]) == (b"", False, b"")


def test_an_over_long_size_line_fed_byte_by_byte_is_refused():
    body = b"5;" + b"a" * 2 * MAX_CHUNK_LINE + b"\r\nhello\r\n0\r\n\r\n"
    with pytest.raises(BadRequest):
        decode([body[i : i + 1] for i in range(len(body))])


def test_an_over_long_size_line_arriving_whole_is_refused():
    with pytest.raises(BadRequest):
        decode([b"5;" + b"a" * 2 * MAX_CHUNK_LINE + b"\r\nhello\r\n0\r\n\r\n"])


@pytest.mark.parametrize(
    "trailer",
    [b"no colon", b" X-Folded: 1", b"X-A : 1", b": empty name", b"X(A): 1"],
)
def test_malformed_trailer_lines_are_refused(trailer):
    with pytest.raises(BadRequest) as info:
        decode([b"0\r\n" + trailer + b"\r\n\r\n"])
    assert_readable(info.value)


def test_too_many_trailer_bytes_are_refused():
    lines = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(MAX_TRAILER_BYTES // 100))
    with pytest.raises(BadRequest):
        decode([b"0\r\n" + lines + b"\r\n"])
    with pytest.raises(BadRequest):
        decode([b"0\r\nX: " + b"v" * MAX_TRAILER_BYTES])


@pytest.mark.parametrize("trailer", [b"X: a\nb", b"X: a\n", b"X: a\x00b", b"X: a\rb", b"X: \x01"])
def test_control_characters_in_trailers_are_refused(trailer):
    with pytest.raises(BadRequest):
        decode([b"0\r\n" + trailer + b"\r\n\r\n"])


# -- differential tests against h11 ---------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    status: int
    reason: str


@dataclass(frozen=True)
class Incomplete:
    pass


@dataclass(frozen=True)
class Accepted:
    head: RequestHead
    body: bytes
    extra: bytes
    framing: bytes  # the body's bytes on the wire (chunk lines and trailers included)


@dataclass(frozen=True)
class H11Accepted:
    request: h11.Request
    body: bytes
    extra: bytes
    waiting_for_100_continue: bool
    state: type  # the client's h11 state once the request is in


@dataclass(frozen=True)
class H11Refused:
    message: str


@dataclass(frozen=True)
class H11Incomplete:
    pass


def run_ours(data: bytes) -> Accepted | Refused | Incomplete:
    """Read one request from ``data`` the way ``letsnode.http.server`` does."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return Incomplete()
    try:
        got = parse_head(data[:end])
    except BadRequest as exc:
        assert_readable(exc)
        return Refused(exc.status, exc.reason)
    rest = data[end + 4 :]
    if got.chunked:
        decoder = ChunkedDecoder()
        try:
            body = decoder.feed(rest)
        except BadRequest as exc:
            assert_readable(exc)
            return Refused(exc.status, exc.reason)
        if not decoder.done:
            return Incomplete()
        extra = decoder.extra
    else:
        if len(rest) < got.content_length:
            return Incomplete()
        body, extra = rest[: got.content_length], rest[got.content_length :]
    return Accepted(got, body, extra, rest[: len(rest) - len(extra)])


def run_h11(data: bytes) -> H11Accepted | H11Refused | H11Incomplete:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    request = None
    waiting = False
    body = []
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                return H11Incomplete()
            if isinstance(event, h11.Request):
                request = event
                waiting = conn.they_are_waiting_for_100_continue
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                return H11Accepted(
                    request, b"".join(body), conn.trailing_data[0], waiting, conn.their_state
                )
            else:
                raise AssertionError(f"unexpected h11 event {event!r}")
    except h11.RemoteProtocolError as exc:
        return H11Refused(str(exc))


_BARE_LF = re.compile(rb"(?<!\r)\n")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BWS_BEFORE_EXTENSION = re.compile(rb"[0-9A-Fa-f]+[ \t]+;")


def chunk_lines(framing: bytes) -> tuple[list[bytes], list[bytes]]:
    """The size lines and trailer lines of a chunked body our decoder accepted."""
    sizes = []
    pos = 0
    while True:
        end = framing.index(b"\r\n", pos)
        line = framing[pos:end]
        sizes.append(line)
        match = re.match(rb"[0-9A-Fa-f]+", line)
        assert match is not None
        size = int(match[0], 16)
        pos = end + 2
        if size == 0:
            break
        pos += size + 2
    trailers = framing[pos:].split(b"\r\n")
    assert trailers[-2:] == [b"", b""]
    return sizes, trailers[:-2]


def compare(data: bytes) -> tuple[object, object]:
    """Check that h11 reads ``data`` as our parser does whenever our parser accepts it."""
    ours = run_ours(data)
    theirs = run_h11(data)
    if isinstance(ours, Refused):
        return ours, theirs  # stricter than h11 is allowed
    if isinstance(ours, Incomplete):
        # h11 also ends lines (and so heads and trailers) at a bare LF, which we wait past;
        # apart from that it must not have found a complete request where we did not.
        if isinstance(theirs, H11Accepted):
            assert _BARE_LF.search(data), (data, theirs)
        return ours, theirs
    got = ours.head
    if got.chunked:
        sizes, trailers = chunk_lines(ours.framing)
        assert not any(_CONTROL.search(line) for line in trailers), trailers
        if isinstance(theirs, H11Refused) and any(_BWS_BEFORE_EXTENSION.match(s) for s in sizes):
            # Genuine difference: RFC 9112 §7.1.1 allows BWS before a chunk extension's ';'
            # ("5 ;a=b"); h11's chunk_header regex (size, ext, OWS) does not.
            assert "chunk header" in theirs.message
            return ours, theirs
    assert isinstance(theirs, H11Accepted), (data, ours, theirs)
    request = theirs.request
    assert request.method == got.method.encode()
    raw_path, _, query = request.target.partition(b"?")
    assert (raw_path, query) == (got.raw_path, got.query_string)
    assert got.path == unquote_to_bytes(got.raw_path).decode()
    assert request.http_version == got.http_version.encode()

    # h11 lower-cases Transfer-Encoding's value (h11._headers.normalize_and_validate); the
    # coding name is case-insensitive (RFC 9112 §7), and we pass the value on as sent.
    def normal(name: bytes, value: bytes) -> tuple[bytes, bytes]:
        return name, value.lower() if name == b"transfer-encoding" else value

    assert [normal(n, v) for n, v in request.headers] == [normal(n, v) for n, v in got.headers]
    assert theirs.body == ours.body
    assert theirs.extra == ours.extra  # the same end of message: no smuggling between us
    assert theirs.waiting_for_100_continue == got.expect_continue
    # h11 has no HTTP/1.0 keep-alive (every 1.0 client is MUST_CLOSE), and after an Upgrade
    # or CONNECT it pauses in MIGHT_SWITCH_PROTOCOL; compare keep-alive only on 1.1 otherwise.
    if got.http_version == "1.1" and theirs.state in (h11.DONE, h11.MUST_CLOSE):
        assert got.keep_alive == (theirs.state is h11.DONE)
    return ours, theirs


# The grammar. Each request is drawn with a few "faults": kinds of piece (the method, the
# line ends, a Content-Length value, a chunk's size...) that are drawn from subtly invalid
# choices instead of valid ones. With no fault the request may still be refused (two Host
# fields, say, when the header names are drawn freely), and a fault may leave it valid.

TCHAR = "-!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=TCHAR, min_size=1, max_size=10).map(str.encode)
LINE_FAULTS = ["lead", "method", "spaces", "target", "version", "eol"]
FIELD_FAULTS = ["name", "colon", "line", "value", "host", "length", "coding", "expect"]
FIELD_FAULTS += ["duplicate"]
CHUNK_FAULTS = ["size", "extension", "chunk-end", "trailer", "chunk-eol"]


def joined(piece: st.SearchStrategy[bytes], **kw: int) -> st.SearchStrategy[bytes]:
    return st.lists(piece, **kw).map(b"".join)


def fault_sets(
    kinds: list[str], sizes: tuple[int, ...] = (0, 1, 1, 1, 2)
) -> st.SearchStrategy[frozenset[str]]:
    return st.sampled_from(sizes).flatmap(
        lambda n: st.lists(st.sampled_from(kinds), min_size=n, max_size=n).map(frozenset)
    )


class Picker:
    """Draws each piece from ``valid``, or when its kind is one of ``faults`` from ``odd``
    (``mixed``: one time in three, for pieces that occur many times in a request)."""

    def __init__(self, draw: st.DrawFn, faults: frozenset[str]) -> None:
        self.draw = draw
        self.faults = faults

    def __call__(
        self,
        kind: str,
        valid: st.SearchStrategy[bytes],
        odd: st.SearchStrategy[bytes],
        mixed: bool = False,
    ) -> bytes:
        if kind not in self.faults:
            return self.draw(valid)
        if mixed and self.draw(st.integers(0, 2)):
            return self.draw(valid)
        return self.draw(odd)

    def count(self, kinds: set[str], most: int) -> int:
        """How many of a repeated piece to draw: at least one if it may be faulty."""
        return self.draw(st.integers(1 if kinds & self.faults else 0, most))


@st.composite
def with_one(draw: st.DrawFn, pieces: st.SearchStrategy[list[bytes]], odd: list[bytes]) -> bytes:
    """Valid pieces with one odd piece put in among them."""
    parts = draw(pieces)
    parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(odd)))
    return b"".join(parts)


METHODS = [b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT"]
methods = st.sampled_from([*METHODS, b"get", b"M-SEARCH", b"X.Y_Z"]) | tokens
odd_methods = st.sampled_from([b"", b"GE T", b"GET\x00", b"G\xc3\x89T", b"GET:", b"(GET)", b"GET/"])
odd_spaces = st.sampled_from([b"  ", b"\t", b"", b" \t"])
TARGET_PIECES = [b"a", b"Z", b"0", b"-", b".", b"_", b"~", b"/", b"%20", b"%2F", b"%C3%A9"]
TARGET_PIECES += [b"?", b"&", b"=", b"!", b"$", b"*", b"+", b",", b";", b"@", b":", b"'", b"("]
ODD_TARGET_PIECES = [b"%ff", b"%C3", b"%zz", b"%", b"#", b'"', b"<", b"{", b"\\", b"^", b"|"]
ODD_TARGET_PIECES += [b"`", b" ", b"\t", b"\x00", b"\x01", b"\x7f", b"\x80", b"\xc3\xa9"]
target_lists = st.lists(st.sampled_from(TARGET_PIECES), max_size=6)
targets = target_lists.map(lambda t: b"/" + b"".join(t))
odd_targets = with_one(target_lists, ODD_TARGET_PIECES).map(lambda t: b"/" + t) | st.sampled_from(
    [b"*", b"http://x/", b"http://x/a?b", b"x:443", b"a/b", b"?a", b""]
)
versions = st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"])
odd_versions = st.sampled_from(
    [
        b"HTTP/2.0",
        b"HTTP/0.9",
        b"HTTP/1.2",
        b"HTTP/1.9",
        b"HTTP/3.0",
        b"http/1.1",
        b"HTTP/1.10",
        b"HTTP/01.1",
        b"HTTP/1.\xd9\xa1",
        b"HTTP/1.1 ",
        b"HTTP/1",
    ]
)
CRLF = st.just(b"\r\n")
odd_eols = st.sampled_from([b"\n", b"\r", b"\r\r\n", b"\n\r"])
ows = st.sampled_from([b"", b" ", b" ", b"\t", b"  ", b" \t"])
VALUE_PIECES = [b"a", b"Z", b"0", b"-", b"/", b"=", b";", b",", b'"', b" ", b"(", b":", b"~"]
VALUE_PIECES += [b"\t", b"\xe9", b"\x80", b"\xff", b"*", b"%"]
ODD_VALUE_PIECES = [b"\x00", b"\x01", b"\x08", b"\x1b", b"\x1f", b"\x7f", b"\x0b", b"\x0c"]
ODD_VALUE_PIECES += [b"\r", b"\n", b"\r\n", b"\r\n ", b"\r\n\t", b"\n\r\n"]
value_lists = st.lists(st.sampled_from(VALUE_PIECES), max_size=6)
values = value_lists.map(b"".join)
odd_values = with_one(value_lists, ODD_VALUE_PIECES)
# For the headers whose meaning the parser checks: (kind of fault, valid values, odd values)
SPECIAL_VALUES: dict[bytes, tuple[str, st.SearchStrategy[bytes], st.SearchStrategy[bytes]]] = {
    b"host": (
        "host",
        st.sampled_from([b"example.com", b"x:8080", b"[::1]:80", b"h", b""]),
        st.sampled_from([b"a b", b"a\x01", b"a,b", b"a\x00"]),
    ),
    b"content-length": (
        "length",
        st.integers(0, 30).map(b"%d".__mod__) | st.sampled_from([b"007", b"00", b"\t3"]),
        st.sampled_from(
            [
                b"+5",
                b"-1",
                b"5,5",
                b"5, 5",
                b"0x5",
                b"",
                b"1e3",
                b"5 5",
                b"\xd9\xa1",
                b"5.0",
                b"9" * 19,
                b"9" * 20,
                b"5;",
                b"5\x00",
            ]
        ),
    ),
    b"transfer-encoding": (
        "coding",
        st.sampled_from([b"chunked", b"Chunked", b"CHUNKED"]),
        st.sampled_from(
            [
                b"gzip",
                b"chunked, gzip",
                b"gzip, chunked",
                b"identity",
                b"",
                b"chunked,",
                b"chunked;q=1",
                b"chunked, chunked",
                b"x-chunked",
                b"chunk\x00ed",
                b"chunked\x0b",
            ]
        ),
    ),
    b"connection": (
        "value",
        st.sampled_from([b"close", b"keep-alive", b"Close", b"Keep-Alive", b"upgrade", b"TE"]),
        st.sampled_from([b"keep-alive, close", b"", b"close,", b" , close", b"closed"]),
    ),
    b"expect": (
        "expect",
        st.sampled_from([b"100-continue", b"100-Continue"]),
        st.sampled_from([b"foo", b"100-continue, foo", b"", b"100-continue,", b"100-continued"]),
    ),
    b"upgrade": ("value", st.sampled_from([b"websocket", b"h2c"]), st.just(b"")),
}
SPECIAL_NAMES = [b"Host", b"host", b"HOST", b"Content-Length", b"content-length"]
SPECIAL_NAMES += [b"Transfer-Encoding", b"TRANSFER-encoding", b"Connection", b"Expect", b"Upgrade"]
ORDINARY_NAMES = [b"X-Foo", b"Accept", b"User-Agent", b"Cookie", b"X-Forwarded-For"]
names = st.sampled_from(ORDINARY_NAMES) | tokens | tokens
odd_names = st.sampled_from(
    [
        b"",
        b"Bad Name",
        b"X\x00",
        b"X-\xc3\xa9",
        b"(x)",
        b"X/Y",
        b"X@Y",
        b"X\x7f",
        b" Host",
        b"\tX-Foo",
        b"X\r",
        b"X\n",
    ]
)
odd_lines = st.sampled_from(
    [
        b" folded",
        b"\tfolded: x",
        b" Host: example.com",
        b"no colon",
        b"",
        b":",
        b": x",
        b"Host : example.com",
        b"Content-Length : 0",
        b"Transfer-Encoding\t: chunked",
    ]
)


def header_line(pick: Picker, specials: bool) -> bytes:
    line = pick("line", st.just(b""), odd_lines, mixed=True)
    if line:
        return line
    # with ``specials``, one field in four names a header whose meaning the parser checks
    special = specials and pick.draw(st.integers(0, 3)) == 0
    name = pick("name", st.sampled_from(SPECIAL_NAMES) if special else names, odd_names, True)
    kind, valid, odd = SPECIAL_VALUES.get(name.lower(), ("value", values, odd_values))
    value = pick(kind, valid, odd, mixed=True)
    before_colon = pick("colon", st.just(b""), st.sampled_from([b" ", b"\t"]), mixed=True)
    return name + before_colon + b":" + pick.draw(ows) + value + pick.draw(ows)


chunk_data = st.binary(min_size=1, max_size=8) | st.sampled_from(
    [b"\r\n", b"0\r\n\r\n", b"\n", b"5\r\nhello\r\n", b"GET / HTTP/1.1\r\n"]
)
extensions = st.sampled_from([b"", b"", b";a=b", b";a", b';a="x;y"', b";a=b;c", b"\t", b";\xff"])
odd_extensions = st.sampled_from(
    [b" ;a", b"\t;a", b" ", b";a=b ", b";\x00", b";\x01", b";a\rb", b"=x", b"x", b";a\nb", b"\r"]
)
size_formats = st.sampled_from([b"%x", b"%X", b"%03x", b"%08X"])
trailers = st.sampled_from([b"X-Trailer: v", b"Y:", b"Expires: 0", b"X-A: a b\tc", b"x: \xe9"])
odd_trailers = st.sampled_from(
    [
        b"bad line",
        b" folded",
        b"X : y",
        b"X: a\x00b",
        b"X: a\nb",
        b"X: \x01",
        b"X: a\n",
        b"X-Smuggled: 1\n",
        b":",
        b"GET / HTTP/1.1",
        b"X: a\r",
        b"",
    ]
)


def chunked_body(pick: Picker) -> bytes:
    out = []
    for _ in range(pick.count({"size", "chunk-end"}, 4)):
        data = pick.draw(chunk_data)
        size = len(data) + int(pick("size", st.just(b"0"), st.sampled_from([b"-1", b"1"]), True))
        out.append(pick.draw(size_formats) % size + pick("extension", extensions, odd_extensions))
        out.append(pick("chunk-eol", CRLF, odd_eols, mixed=True) + data)
        out.append(pick("chunk-end", CRLF, st.sampled_from([b"", b"X\r\n", b"\r", b"\n"]), True))
    out.append(pick.draw(st.sampled_from([b"0", b"00", b"0000"])))
    out.append(pick("extension", extensions, odd_extensions) + pick("chunk-eol", CRLF, odd_eols))
    for _ in range(pick.count({"trailer"}, 3)):
        out.append(pick("trailer", trailers, odd_trailers, mixed=True))
        out.append(pick("chunk-eol", CRLF, odd_eols, mixed=True))
    out.append(pick("chunk-eol", CRLF, odd_eols, mixed=True))
    return b"".join(out)


@st.composite
def chunked_bodies(draw: st.DrawFn, valid: bool = False) -> bytes:
    """Chunked bodies, plainly valid ones when ``valid``."""
    faults = frozenset() if valid else draw(fault_sets(CHUNK_FAULTS))
    return chunked_body(Picker(draw, faults))


extras = st.sampled_from(
    [b"", b"", b"", b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n", b"X", b"\r\n", b"0\r\n\r\n"]
)


@st.composite
def requests(
    draw: st.DrawFn,
    kinds: list[str],
    framings: tuple[str, ...] = ("none", "length", "chunked", "raw"),
    sizes: tuple[int, ...] = (0, 1, 1, 1, 2),
) -> bytes:
    """Requests mixing valid pieces and subtly invalid pieces of the ``kinds`` given (as many
    kinds as one of ``sizes``). Unless field faults are asked for, the header fields name no
    header whose meaning the parser checks (a second Host would hide every other fault)."""
    pick = Picker(draw, draw(fault_sets(kinds, sizes)))
    framing = draw(st.sampled_from(framings))
    # a fault in the framing's own field is only worth drawing with that framing
    for kind, wanted in [("length", "length"), ("coding", "chunked")]:
        if kind in pick.faults and wanted in framings:
            framing = wanted
    version = pick("version", versions, odd_versions)
    if framing == "chunked" and "version" not in pick.faults:
        version = b"HTTP/1.1"  # chunked on 1.0 is refused
    lead = pick("lead", st.just(b""), st.sampled_from([b"\r\n", b"\n", b" "]))
    request_line = b"".join(
        [
            pick("method", methods, odd_methods),
            pick("spaces", st.just(b" "), odd_spaces, mixed=True),
            pick("target", targets, odd_targets),
            pick("spaces", st.just(b" "), odd_spaces, mixed=True),
            version,
        ]
    )
    specials = bool(set(kinds) & set(FIELD_FAULTS))
    field_faults = {"name", "colon", "line", "value", "expect"}
    lines = [header_line(pick, specials) for _ in range(pick.count(field_faults, 5))]

    def insert(line: bytes) -> None:
        lines.insert(draw(st.integers(0, len(lines))), line)

    framing_lines = []
    if "host" not in pick.faults or draw(st.booleans()):
        _, valid, odd = SPECIAL_VALUES[b"host"]
        framing_lines.append(b"Host: " + pick("host", valid, odd))
    body = b""
    if framing == "length":
        body = draw(chunk_data | st.just(b""))
        _, _, odd = SPECIAL_VALUES[b"content-length"]
        formats = st.sampled_from([b" %d", b"%d", b"%03d", b"\t%d "])
        length = pick("length", formats.map(lambda f: f % len(body)), odd)
        framing_lines.append(b"Content-Length:" + length)
    elif framing == "chunked":
        _, valid, odd = SPECIAL_VALUES[b"transfer-encoding"]
        framing_lines.append(b"Transfer-Encoding: " + pick("coding", valid, odd))
        body = chunked_body(pick)
    elif framing == "raw":
        body = draw(chunk_data)
    if "duplicate" in pick.faults and framing_lines:
        # the same field again, or the same name with a value of the same kind
        line = draw(st.sampled_from(framing_lines))
        name = line.partition(b":")[0]
        _, valid, _ = SPECIAL_VALUES[name.lower()]
        framing_lines.append(draw(st.just(line) | valid.map(lambda v: name + b": " + v)))
    for line in framing_lines:
        insert(line)
    raw = b"".join(
        line + pick("eol", CRLF, odd_eols, mixed=True) for line in [request_line, *lines]
    )
    raw += pick("eol", CRLF, odd_eols, mixed=True)
    return lead + raw + body + draw(extras)


visible_values = joined(
    st.sampled_from([b"a", b"Z", b"0", b"-", b"/", b"=", b";", b",", b'"', b"(", b":", b"~"])
    | st.sampled_from([b" ", b"\t", b"\xe9", b"\x80", b"%", b"*"]),
    max_size=8,
)
SPECIAL = {b"host", b"content-length", b"transfer-encoding", b"expect", b"connection"}
field_lines = st.lists(
    st.tuples(tokens.filter(lambda n: n.lower() not in SPECIAL), ows, visible_values).map(
        lambda t: t[0] + b":" + t[1] + t[2]
    ),
    max_size=5,
)
valid_methods = st.sampled_from(METHODS[:-1]) | tokens
paths = joined(st.sampled_from([b"a", b"/", b"-", b"%20", b"%C3%A9", b"~", b".", b"@"]))
queries = st.none() | joined(st.sampled_from([b"a", b"=", b"&", b"%ff", b"?", b"/"]))
valid_framing_lines = st.tuples(
    st.sampled_from([b"Host", b"host"]),
    st.sampled_from([b"a", b"x:8080", b"[::1]:80", b""]),
    st.sampled_from([None, b"close", b"keep-alive", b"Keep-Alive"]),
    st.booleans(),
)
valid_chunked_bodies = st.tuples(
    st.sampled_from([b"chunked", b"Chunked"]), chunked_bodies(valid=True)
)


@st.composite
def valid_requests(draw: st.DrawFn) -> bytes:
    """Plainly valid requests: both parsers must accept them and agree."""
    version = draw(st.sampled_from([b"1.1", b"1.0"]))
    query = draw(queries)
    target = b"/" + draw(paths) + (b"" if query is None else b"?" + query)
    lines = draw(field_lines)

    def insert(line: bytes) -> None:
        lines.insert(draw(st.integers(0, len(lines))), line)

    host_name, host, connection, expect = draw(valid_framing_lines)
    if version == b"1.1" or draw(st.booleans()):
        insert(host_name + b": " + host)
    if connection is not None:
        insert(b"Connection: " + connection)
    if expect:
        insert(b"Expect: 100-continue")
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    body = b""
    if framing == "length" or (framing == "chunked" and version == b"1.0"):
        body = draw(st.binary(max_size=20))
        insert(b"Content-Length: %d" % len(body))
    elif framing == "chunked":
        coding, body = draw(valid_chunked_bodies)
        insert(b"Transfer-Encoding: " + coding)
    request_line = draw(valid_methods) + b" " + target + b" HTTP/" + version
    return b"\r\n".join([request_line, *lines]) + b"\r\n\r\n" + body + draw(extras)


# Three differential tests, each drawing its faults from one part of the request, so
# that each part gets its share of the examples.


@settings(max_examples=300, deadline=None)
@given(requests(kinds=LINE_FAULTS, sizes=(1, 1, 2)))
def test_h11_reads_the_request_lines_we_accept_as_we_do(data):
    compare(data)


@settings(max_examples=300, deadline=None)
@given(requests(kinds=FIELD_FAULTS, framings=("none", "length", "chunked")))
def test_h11_reads_the_header_fields_we_accept_as_we_do(data):
    compare(data)


@settings(max_examples=300, deadline=None)
@given(requests(kinds=CHUNK_FAULTS, framings=("chunked",)))
def test_h11_reads_the_chunked_bodies_we_accept_as_we_do(data):
    compare(data)


@settings(max_examples=200, deadline=None)
@given(valid_requests())
def test_both_accept_plainly_valid_requests(data):
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted), (data, ours)
    assert isinstance(theirs, H11Accepted), (data, theirs)


@settings(max_examples=200, deadline=None)
@given(chunked_bodies(), st.lists(st.integers(0, 200), max_size=6))
def test_chunked_decoding_does_not_depend_on_how_bytes_arrive(body, cuts):
    def outcome(pieces: list[bytes]) -> object:
        try:
            return decode(pieces)
        except BadRequest as exc:
            assert_readable(exc)
            return exc.status

    cuts = sorted(min(cut, len(body)) for cut in cuts)
    pieces = [body[i:j] for i, j in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert outcome(pieces) == outcome([body])


PLAINLY_VALID = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /a/b%20c?x=1&y=%ff HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
    b"POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /t HTTP/1.1\r\nhost: a\r\ncontent-length:5\r\n\r\nhelloGET / HTTP/1.1\r\n",
    b"POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
    b"HEAD /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"OPTIONS /x HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\ta\tb\t\r\n\r\n",
    b"DELETE /x HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xe9\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(99)) + b"\r\n",
]


@pytest.mark.parametrize("data", PLAINLY_VALID)
def test_both_accept_these_plainly_valid_requests(data):
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted)
    assert isinstance(theirs, H11Accepted)


# h11's behaviour where it differs from ours, checked so that the restrictions made in
# ``compare`` (and the reading of these cases as h11 being laxer) stay true.


def test_h11_quirks_we_rely_on():
    # A leading blank line: RFC 9112 §2.2 says a server SHOULD ignore at least one, but both
    # h11 0.16 and we refuse it (400), so there is no disagreement to allow for.
    data = b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
    assert isinstance(run_h11(data), H11Refused)
    assert isinstance(run_ours(data), Refused)
    # Two Host fields: both refuse, as RFC 9112 §3.2 requires.
    data = b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"
    assert isinstance(run_h11(data), H11Refused)
    assert isinstance(run_ours(data), Refused)
    # Empty and all-white-space header values: both accept and read them as b"".
    data = b"GET / HTTP/1.1\r\nHost:\r\nX: \t \r\n\r\n"
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted)
    assert ours.head.headers == [(b"host", b""), (b"x", b"")]
    # h11 accepts what we refuse: obs-fold (it unfolds), space-free control characters in
    # values, any HTTP/d.d version, absolute-form targets, repeated equal Content-Lengths,
    # Content-Length beside Transfer-Encoding (chunked wins), Transfer-Encoding on 1.0, and
    # lines ended by a bare LF.
    for laxer in [
        b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
    ]:
        assert isinstance(run_h11(laxer), H11Accepted), laxer
        assert not isinstance(run_ours(laxer), Accepted), laxer
    # HTTP/1.0 keep-alive: h11 never keeps a 1.0 connection open; we do when asked.
    data = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted) and ours.head.keep_alive
    assert isinstance(theirs, H11Accepted) and theirs.state is h11.MUST_CLOSE
    # Transfer-Encoding's value: h11 lower-cases it, we keep it as sent.
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted) and isinstance(theirs, H11Accepted)
    assert (b"transfer-encoding", b"Chunked") in ours.head.headers
    assert (b"transfer-encoding", b"chunked") in list(theirs.request.headers)
    # BWS before a chunk extension: RFC 9112 §7.1.1 allows it, h11 does not.
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    data += b"5 ;a\r\nhello\r\n0\r\n\r\n"
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted) and ours.body == b"hello"
    assert isinstance(theirs, H11Refused)


def test_a_bare_lf_in_a_trailer_cannot_move_the_end_of_the_message():
    # h11 ends the trailers at "\n\r\n" and reads "X-Next: 1\r\n\r\n" as the start of the
    # next request; a parser that took that line as one more trailer would disagree with it
    # (and with a proxy in front) on where the message ends. We refuse the request instead.
    data = (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\nX: a\n\r\nX-Next: 1\r\n\r\n"
    )
    ours, theirs = run_ours(data), run_h11(data)
    assert isinstance(ours, Refused)
    assert isinstance(theirs, H11Accepted) and theirs.extra == b"X-Next: 1\r\n\r\n"
