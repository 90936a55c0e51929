"""The reader (``letsnode.http.parse``) against h11, on generated and fuzzed requests.

The property is one-sided: whenever the reader accepts a request, h11 must accept it too and
read it the same way (method, target, version, headers, body, and where the body ends). The
reader is deliberately stricter, so h11 accepting what it refuses is allowed; for plainly
valid requests both must accept. The fuzz tests add that the reader raises nothing but
``BadRequest`` whatever the bytes, and that its outcome does not depend on how they are cut.

Every restriction of the comparison is a documented h11 difference, checked in
``test_h11_quirks_we_rely_on``; what llhttp alone would accept and the node's checks refuse
is checked in ``test_llhttp_quirks_the_checks_cover``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import h11
import httptools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsnode.http.parse import BadRequest, RequestHead, RequestReader
from tests.test_http_parse import CHUNKED_REQUEST, assert_readable, decode

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


def run_ours(data: bytes, cuts: list[int] | None = None) -> Accepted | Refused | Incomplete:
    """Read one request from ``data`` the way ``letsnode.http.server`` does, the bytes
    arriving in pieces cut at ``cuts`` (ascending offsets) when given."""
    bounds = [0, *(cuts or []), len(data)]
    reader = RequestReader()
    got = None
    body = []
    fed = 0
    try:
        for start, stop in itertools.pairwise(bounds):
            reader.buffer += data[start:stop]
            fed = stop
            if got is None:
                got = reader.read_head()
            if got is not None and not reader.body_done:
                body.append(reader.read_body())
            if got is not None and reader.body_done:
                break
    except BadRequest as exc:
        assert_readable(exc)
        return Refused(exc.status, exc.reason)
    if got is None or not reader.body_done:
        return Incomplete()
    extra = bytes(reader.buffer) + data[fed:]
    head_end = data.index(b"\r\n\r\n") + 4
    return Accepted(got, b"".join(body), extra, data[head_end : len(data) - len(extra)])


def run_h11(data: bytes) -> H11Accepted | H11Refused | H11Incomplete:
    conn = h11.Connection(h11.SERVER)
    if data:  # h11 reads b"" as the end of the connection
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


def compare(data: bytes, cuts: list[int] | None = None) -> tuple[object, object]:
    """Check that h11 reads ``data`` as the reader does whenever the reader accepts it (the
    reader fed pieces cut at ``cuts`` when given)."""
    ours = run_ours(data, cuts)
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
        _, trailers = chunk_lines(ours.framing)
        assert not any(_CONTROL.search(line) for line in trailers), trailers
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
extensions = st.sampled_from([b"", b"", b";a=b", b";a", b';a="x;y"', b";a=b;c", b";a=", b";="])
# white space around the extension and obs-text in it: RFC 9112 allows them, llhttp does not
odd_extensions = st.sampled_from(
    [
        *[b" ;a", b"\t;a", b" ", b";a=b ", b";\x00", b";\x01", b";a\rb", b"=x", b"x", b";a\nb"],
        *[b"\r", b"\t", b";\xff", b"; a", b';a="x\\"y"', b';a="x'],
    ]
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
# llhttp knows methods by name and refuses any other token (h11 takes any token), so plainly
# valid requests use named ones.
NAMED_METHODS = [*METHODS[:-1], b"QUERY", b"PROPFIND", b"MKCOL", b"M-SEARCH", b"PURGE", b"LINK"]
valid_methods = st.sampled_from(NAMED_METHODS)
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
def test_h11_reads_the_request_lines_the_reader_accepts_alike(data):
    compare(data)


@settings(max_examples=300, deadline=None)
@given(requests(kinds=FIELD_FAULTS, framings=("none", "length", "chunked")))
def test_h11_reads_the_header_fields_the_reader_accepts_alike(data):
    compare(data)


@settings(max_examples=300, deadline=None)
@given(requests(kinds=CHUNK_FAULTS, framings=("chunked",)))
def test_h11_reads_the_chunked_bodies_the_reader_accepts_alike(data):
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


# h11's behaviour where it differs from the reader's, checked so that the restrictions made
# in ``compare`` (and the reading of these cases as h11 being laxer) stay true.


def test_h11_quirks_we_rely_on():
    # A leading blank line: RFC 9112 §2.2 says a server SHOULD ignore at least one, but h11
    # 0.16 refuses it (400), on a connection's first request and later ones; so does the
    # reader (llhttp alone would skip it), so there is no disagreement to allow for.
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
    # HTTP/1.0 keep-alive: h11 never keeps a 1.0 connection open; the reader does when asked.
    data = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted) and ours.head.keep_alive
    assert isinstance(theirs, H11Accepted) and theirs.state is h11.MUST_CLOSE
    # Transfer-Encoding's value: h11 lower-cases it, the reader keeps it as sent.
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"
    ours, theirs = compare(data)
    assert isinstance(ours, Accepted) and isinstance(theirs, H11Accepted)
    assert (b"transfer-encoding", b"Chunked") in ours.head.headers
    assert (b"transfer-encoding", b"chunked") in list(theirs.request.headers)
    # BWS before a chunk extension: RFC 9112 §7.1.1 allows it; h11 and llhttp refuse it.
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    data += b"5 ;a\r\nhello\r\n0\r\n\r\n"
    ours, theirs = compare(data)
    assert isinstance(ours, Refused) and isinstance(theirs, H11Refused)
    # Methods: h11 takes any token, llhttp only those it knows by name.
    data = b"FROB / HTTP/1.1\r\nHost: a\r\n\r\n"
    assert isinstance(run_h11(data), H11Accepted)
    assert run_ours(data) == Refused(501, "unknown method")


def test_a_bare_lf_in_a_trailer_cannot_move_the_end_of_the_message():
    # h11 ends the trailers at "\n\r\n" and reads "X-Next: 1\r\n\r\n" as the start of the
    # next request; a parser that took that line as one more trailer would disagree with it
    # (and with a proxy in front) on where the message ends. The reader refuses the request.
    data = (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\nX: a\n\r\nX-Next: 1\r\n\r\n"
    )
    ours, theirs = run_ours(data), run_h11(data)
    assert isinstance(ours, Refused)
    assert isinstance(theirs, H11Accepted) and theirs.extra == b"X-Next: 1\r\n\r\n"


def llhttp_reads(data: bytes) -> list[object]:
    """What llhttp alone, with httptools' defaults, reports of ``data``."""
    seen: list[object] = []

    class Record:
        def on_url(self, url: bytes) -> None:
            seen.append(url)

        def on_body(self, body: bytes) -> None:
            seen.append(body)

        def on_message_complete(self) -> None:
            seen.append("complete")

    try:
        httptools.HttpRequestParser(Record()).feed_data(data)
    except httptools.HttpParserUpgrade:
        seen.append("upgrade")
    return seen


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        (b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        (b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        (b"GET /\r\nHost: a\r\n\r\n", "malformed request line"),  # HTTP/0.9's form
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "only HTTP/1.0 and HTTP/1.1 are served"),
        (
            b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
            "the request target must be a path starting with /",
        ),
        (b"GET / HTTP/1.1\r\n\r\n", "an HTTP/1.1 request needs exactly one Host header"),
        (b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host header"),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "the only transfer coding served is chunked",
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "Transfer-Encoding in an HTTP/1.0 request",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
            b"Content-Length: 5\r\n\r\nhello",
            "a request to switch protocols cannot have a body",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;" + b"a" * 5000 + b"\r\nhello\r\n0\r\n\r\n",
            "chunk size line longer than 1024 bytes",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
            "request head too large",
        ),
    ],
)
def test_llhttp_quirks_the_checks_cover(data, reason):
    # llhttp alone reads each of these as a whole request; the reader refuses it.
    seen = llhttp_reads(data)
    assert "complete" in seen, seen
    ours = run_ours(data)
    assert isinstance(ours, Refused) and ours.reason == reason, ours


# -- fuzzing --------------------------------------------------------------------------------
# Whatever the bytes and however they arrive, the reader raises nothing but BadRequest (a
# stray exception escapes ``run_ours`` and fails the test), its outcome does not depend on
# how the bytes were cut, and whatever it accepts h11 reads the same way.

INTERESTING = [b"\r", b"\n", b"\r\n", b" ", b"\t", b":", b";", b",", b"0", b"\x00", b"\x7f"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A plainly valid request with a few bytes inserted, deleted or replaced."""
    data = bytearray(draw(valid_requests() | st.sampled_from(PLAINLY_VALID)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=3))
        if edit == "insert":
            data[at:at] = piece
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 4))]
        else:
            data[at : at + len(piece)] = piece
    return bytes(data)


def cuts_of(data: bytes) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(data)), max_size=8).map(sorted)


def same_however_cut(data: bytes, cuts: list[int]) -> None:
    whole, split = run_ours(data), run_ours(data, cuts)
    if isinstance(whole, Refused):
        # the reason may differ (which check sees the fault first), the status not
        assert isinstance(split, Refused) and split.status == whole.status, (data, cuts)
    else:
        assert split == whole, (data, cuts)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_requests(data):
    raw = data.draw(mutated())
    cuts = data.draw(cuts_of(raw))
    compare(raw, cuts)
    same_however_cut(raw, cuts)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_random_bytes(data):
    prefix = data.draw(
        st.sampled_from(
            [b"", b"GET / HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: a\r\n", CHUNKED_REQUEST]
        )
    )
    ending = data.draw(st.sampled_from([b"", b"\r\n\r\n"]))
    raw = prefix + data.draw(st.binary(max_size=200)) + ending
    cuts = data.draw(cuts_of(raw))
    compare(raw, cuts)
    same_however_cut(raw, cuts)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_generated_requests_cut_anywhere(data):
    raw = data.draw(requests(kinds=LINE_FAULTS + FIELD_FAULTS + CHUNK_FAULTS))
    cuts = data.draw(cuts_of(raw))
    compare(raw, cuts)
    same_however_cut(raw, cuts)
