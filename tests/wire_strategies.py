"""Values of every declared wire type, drawn from its declaration (specs in
letsnode/core/wire/specs.py), and the encoding and decoding of any of them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from letsnode.core.amounts import INT64_MAX, INT64_MIN
from letsnode.core.crypto import SigningKey
from letsnode.core.errors import BadSignature, DecodeError, InvalidInput
from letsnode.core.wire import codec, schema, specs
from letsnode.core.wire.bodies import Clear, Hold, Release, Settle
from letsnode.core.wire.clearing import ClearingItem, Proposal, SignedStatement, Statement
from letsnode.core.wire.entries import Entry, Order, SignedOrder
from letsnode.core.wire.lines import LineTerms, SignedLine
from letsnode.core.wire.transfers import Decision

KEYS = [SigningKey(bytes([i]) * 32) for i in (41, 42, 43)]
SLUG = r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?"
UNIT = r"[A-Z][A-Z0-9]{0,11}"


# -- strategies from the declarations ----------------------------------------------------


def for_spec(spec: specs.Spec) -> st.SearchStrategy[Any]:
    """Valid field values for ``spec`` (kept small: the bounds have tests of their own)."""
    out: st.SearchStrategy[Any]
    match spec:
        case specs.Int():
            out = st.integers(spec.min, spec.max)
        case specs.Bin():
            lo = spec.size or 0
            hi = spec.size if spec.size is not None else min(spec.max or 40, 40)
            out = st.binary(min_size=lo, max_size=hi)
        case specs.Text():
            chars = (
                st.characters() if spec.control else st.characters(exclude_categories=("Cc", "Cs"))
            )
            out = st.text(chars, min_size=0 if spec.empty else 1, max_size=min(spec.max_len, 20))
        case specs.Slug():
            out = st.from_regex(SLUG, fullmatch=True)
        case specs.Unit():
            out = st.from_regex(UNIT, fullmatch=True)
        case specs.Choice():
            out = st.sampled_from(spec.values)
        case specs.Array():
            assert spec.item is not None
            return st.lists(for_spec(spec.item), min_size=spec.min, max_size=min(spec.max, 3)).map(
                tuple
            )
        case specs.Tuple():
            return st.tuples(*(for_spec(s) for s in spec.items))
        case specs.Nested():
            return instances(spec.cls)
        case specs.Tagged():
            return st.one_of([instances(c) for c in spec.kinds.values()])
        case _:
            raise AssertionError(f"no strategy for {spec}")
    return out | st.none() if getattr(spec, "optional", False) else out


def _build(cls: type, args: list[Any]) -> Any:
    try:
        return cls(*args)
    except InvalidInput:
        return None  # a rule across fields (drawn values rarely break it)


def _evidence(args: list[Any]) -> list[Any]:
    evidence, sig = args[-2], args[-1]
    return [*args[:-2], evidence, (sig + bytes(64))[:64] if evidence else b""]


def _decision(args: list[Any]) -> list[Any]:
    pre = args[3]
    return [*args[:3], (pre + bytes(32))[:32] if args[2] == "fulfilled" else pre[:31]]


def _statement(args: list[Any]) -> list[Any]:
    lines = {x.line_id: x for x in args[6] if x.partner != args[1]}
    return [*args[:6], tuple(lines[k] for k in sorted(lines))]


def _line_terms(args: list[Any]) -> list[Any]:
    return [*args[:9], args[9] or 0, args[10], args[11] or 0]


FIXES: dict[type, Callable[[list[Any]], list[Any]]] = {
    Hold: _evidence,
    Settle: _evidence,
    Release: _evidence,
    Decision: _decision,
    Statement: _statement,
    LineTerms: _line_terms,
}


def _proposal() -> st.SearchStrategy[Proposal]:
    """A cycle of debts (every net position stays as it is)."""
    ring = st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=4, unique=True)

    def build(draw: Any) -> Proposal:
        members = draw(ring)
        ids = sorted(
            draw(
                st.lists(
                    st.binary(min_size=16, max_size=16),
                    min_size=len(members),
                    max_size=len(members),
                    unique=True,
                )
            )
        )
        amount = draw(st.integers(1, 10**9))
        items = [
            ClearingItem(line_id, members[i], members[(i + 1) % len(members)], amount)
            for i, line_id in enumerate(ids)
        ]
        return Proposal(
            draw(st.binary(min_size=16, max_size=16)),
            draw(st.binary(min_size=32, max_size=32)),
            draw(st.binary(min_size=32, max_size=32)),
            draw(st.integers(INT64_MIN, INT64_MAX)),
            tuple(items),
        )

    return st.composite(build)()


def _signed_statement(statement: Statement, key: SigningKey) -> SignedStatement | None:
    try:
        return replace(statement, community_id=key.public).sign(key)
    except InvalidInput:
        return None


SIG = st.binary(min_size=64, max_size=64)
OPT_SIG = st.none() | SIG
CUSTOM: dict[type, Callable[[], st.SearchStrategy[Any]]] = {
    SignedOrder: lambda: st.builds(
        lambda o, s: SignedOrder(o.encode(), s, o), instances(Order), SIG
    ),
    SignedLine: lambda: st.builds(
        lambda t, a, b: SignedLine(t.encode(), a, b, t), instances(LineTerms), OPT_SIG, OPT_SIG
    ),
    SignedStatement: lambda: st.builds(
        _signed_statement, instances(Statement), st.sampled_from(KEYS)
    ).filter(lambda x: x is not None),
    Proposal: _proposal,
    Clear: lambda: st.builds(
        lambda p, sig: Clear(p.encode(), tuple((c, sig) for c in p.participants), p),
        _proposal(),
        SIG,
    ),
    Entry: lambda: st.builds(
        lambda seq, prev, ts, body: Entry.create(KEYS[0], seq, prev, ts, body),
        st.integers(0, INT64_MAX),
        st.binary(min_size=32, max_size=32),
        st.integers(0, INT64_MAX),
        for_spec(Entry.SCHEMA.fields[3].spec),
    ),
}


@functools.cache
def instances(cls: type) -> st.SearchStrategy[Any]:
    if cls in CUSTOM:
        return CUSTOM[cls]()
    parts = st.tuples(*(for_spec(f.spec) for f in cls.SCHEMA.wire_fields))
    fix = FIXES.get(cls, lambda args: args)
    return parts.map(lambda args: _build(cls, fix(list(args)))).filter(lambda x: x is not None)


# -- encoding and decoding any declared type ---------------------------------------------


def encoded(x: Any) -> bytes:
    if isinstance(x, Entry):
        return x.data
    if isinstance(x, schema.Message):
        return x.encode()
    return codec.pack(x.to_wire())


def decoder(x: Any) -> Callable[[bytes], Any]:
    cls = type(x)
    if cls is Entry:
        return lambda data: Entry.decode(data, x.signature)
    if issubclass(cls, schema.Message):
        return cls.decode
    return lambda data: cls.from_wire(codec.unpack(data))


def refusals(cls: type) -> tuple[type[Exception], ...]:
    # A statement's signature is checked as it is decoded: other bytes may not verify.
    return (DecodeError, BadSignature) if cls is SignedStatement else (DecodeError,)


def slots(cls: type) -> list[tuple[specs.Spec, str]]:
    """The spec and label of each wire value after the prefix (nested classes in line)."""
    out: list[tuple[specs.Spec, str]] = []
    for f in cls.SCHEMA.wire_fields:
        if isinstance(f.spec, specs.Inline):
            out.extend(slots(f.spec.cls))
        else:
            out.append((f.spec, f.label))
    return out


def wrong_types(spec: specs.Spec) -> list[Any]:
    """Wire values of a type ``spec`` never accepts."""
    match spec:
        case specs.Int():
            wrong = ["1", b"1", [1], True]
        case specs.Bin():
            wrong = ["x", 1, [b"x"]]
        case specs.Text() | specs.Slug() | specs.Unit() | specs.Choice():
            wrong = [b"x", 1, ["x"]]
        case _:
            wrong = [1, "x", b"x"]
    return wrong if getattr(spec, "optional", False) else [*wrong, None]


def out_of_bounds(spec: specs.Spec) -> list[Any]:
    """Wire values of the right type just outside ``spec``'s bounds."""
    match spec:
        case specs.Int():
            return ([spec.max + 1] if spec.max < INT64_MAX else []) + (
                [spec.min - 1] if spec.min > INT64_MIN else []
            )
        case specs.Bin() if spec.size is not None:
            return [bytes(spec.size + 1), bytes(spec.size - 1)]
        case specs.Bin() if spec.max is not None:
            return [bytes(spec.max + 1)]
        case specs.Text():
            return ["x" * (spec.max_len + 1)]
        case specs.Choice():
            return ["none of them"]
        case specs.Array():
            return [[None] * (spec.max + 1)] + ([[]] if spec.min else [])
        case specs.Tuple():
            return [[None] * (len(spec.items) + 1)]
    return []
