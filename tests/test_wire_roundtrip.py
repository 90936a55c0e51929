"""Every declared wire type (letsnode/core/wire/schema.py), with values drawn from its own
declaration: it round-trips, encodes canonically, refuses every malformed encoding with
DecodeError and nothing else, and keeps the field order the hand-written codec had."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letsnode.core.amounts import INT64_MAX, INT64_MIN
from letsnode.core.checkpoint import Checkpoint
from letsnode.core.errors import DecodeError, InvalidInput
from letsnode.core.wire import codec, schema, specs
from letsnode.core.wire.adverts import Advert, AdvertLine
from letsnode.core.wire.bodies import Clear, Hold, LineAgreement, Release, Reveal, Settle
from letsnode.core.wire.clearing import (
    ClearingItem,
    LineView,
    Proposal,
    SignedStatement,
    Statement,
)
from letsnode.core.wire.entries import (
    Admit,
    Entry,
    Genesis,
    Limits,
    Order,
    Payment,
    SignedOrder,
    Status,
)
from letsnode.core.wire.lines import LineTerms, SignedLine
from letsnode.core.wire.logformat import LogHeader
from letsnode.core.wire.transfers import Decision, Invoice, Prepare, Reject, RemoteOrder
from tests.wire_strategies import (
    decoder,
    encoded,
    instances,
    out_of_bounds,
    refusals,
    slots,
    wrong_types,
)

TYPES = list(schema.DECLARED)
ids = [c.__name__ for c in TYPES]
# Generic over every declared type: some draw through filters (a statement whose lines name
# its own community is redrawn), so the filtering health checks are not for these tests.
QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
common = settings(max_examples=25, deadline=None, suppress_health_check=QUIET)


# -- the order of the hand-written codec, as it was written -----------------------------


def _views(xs: Any) -> list[Any]:
    return [
        [v.line_id, v.partner, v.balance, v.floor, v.ceiling, v.rate_num, v.rate_den] for v in xs
    ]


def _items(xs: Any) -> list[Any]:
    return [[x.line_id, x.debtor, x.creditor, x.amount] for x in xs]


def _rooms(xs: Any) -> list[Any]:
    return [[x.partner, x.line_id, x.rate_num, x.rate_den, x.room_out, x.room_in] for x in xs]


def _t(name: str) -> list[Any]:
    return [f"letsnode/{name}", 1]


OLD_ORDER: dict[type, Callable[[Any], list[Any]]] = {
    Genesis: lambda x: [
        x.KIND,
        x.community_id,
        x.name,
        x.short,
        x.unit,
        x.scale,
        x.floor,
        x.ceiling,
    ],
    Admit: lambda x: [x.KIND, x.handle, x.key, x.kind, x.floor, x.ceiling],
    Limits: lambda x: [x.KIND, x.handle, x.floor, x.ceiling],
    Status: lambda x: [x.KIND, x.handle, x.status],
    Order: lambda x: [*_t("order"), x.community_id, x.payer, x.payee, x.amount, x.nonce, x.memo],
    SignedOrder: lambda x: [x.data, x.signature],
    Payment: lambda x: [x.KIND, x.signed.data, x.signed.signature],
    Entry: lambda x: [*_t("entry"), x.seq, x.prev, x.timestamp_ms, x.body.to_wire()],
    LineAgreement: lambda x: [x.KIND, x.signed.data, x.signed.sig_a, x.signed.sig_b],
    Hold: lambda x: [
        *[x.KIND, x.transfer_id, x.role, x.debit, x.credit, x.amount, x.condition],
        *[x.expiry_ms, x.evidence, x.evidence_sig],
    ],
    Reveal: lambda x: [x.KIND, x.transfer_id, x.preimage],
    Settle: lambda x: [x.KIND, x.transfer_id, x.role, x.preimage, x.evidence, x.evidence_sig],
    Release: lambda x: [x.KIND, x.transfer_id, x.role, x.reason, x.evidence, x.evidence_sig],
    Clear: lambda x: [x.KIND, x.proposal_data, [[c, s] for c, s in x.votes]],
    RemoteOrder: lambda x: [
        *_t("remote-order"),
        *[x.community_id, x.payer, x.payee_community, x.payee_handle, x.amount, x.nonce, x.memo],
    ],
    Invoice: lambda x: [
        *_t("invoice"),
        x.transfer_id,
        x.payee_community,
        x.payee_handle,
        x.condition,
    ],
    Prepare: lambda x: [
        *_t("prepare"),
        *[x.transfer_id, x.hop, x.line_id, x.amount, x.condition, x.expiry_ms, list(x.route)],
        *[x.origin, x.memo, x.invoice, x.invoice_signature],
    ],
    Decision: lambda x: [*_t("decision"), x.transfer_id, x.hop, x.outcome, x.preimage],
    Reject: lambda x: [*_t("reject"), x.transfer_id, x.hop, x.code, x.message],
    LineTerms: lambda x: [
        *_t("line"),
        *[x.line_id, x.version, x.a_id, x.a_short, x.b_id, x.b_short, x.rate_num, x.rate_den],
        *[x.a_floor, x.a_ceiling, x.b_floor, x.b_ceiling],
    ],
    SignedLine: lambda x: [x.data, x.sig_a, x.sig_b],
    LineView: lambda x: _views([x])[0],
    Statement: lambda x: [
        *_t("clearing-statement"),
        *[x.nonce, x.community_id, x.short, x.unit, x.scale, x.timestamp_ms, _views(x.lines)],
    ],
    SignedStatement: lambda x: [x.data, x.signature],
    ClearingItem: lambda x: _items([x])[0],
    Proposal: lambda x: [
        *_t("clearing-proposal"),
        *[x.nonce, x.coordinator, x.snapshot_digest, x.deadline_ms, _items(x.items)],
    ],
    AdvertLine: lambda x: _rooms([x])[0],
    Advert: lambda x: [
        *_t("advert"),
        *[x.community_id, x.short, x.name, x.unit, x.scale, list(x.addrs), x.timestamp_ms],
        _rooms(x.lines),
    ],
    LogHeader: lambda x: [*_t("log"), x.community_id, x.entry_count, x.head],
    Checkpoint: lambda x: [
        *_t("checkpoint"),
        *[x.community_id, x.seq, x.head, x.timestamp_ms, x.accounts, x.state_digest],
    ],
}


# -- the properties ----------------------------------------------------------------------


def drawn(cls: type, data: Any) -> tuple[Any, list[Any]]:
    """A value of ``cls`` and its wire fields after the prefix (a copy, to alter)."""
    x = data.draw(instances(cls))
    return x, x.to_wire()[len(cls.SCHEMA.prefix) :]


def packed(cls: type, fields: list[Any]) -> bytes:
    return codec.pack([*cls.SCHEMA.prefix, *fields])


def test_every_declared_type_is_covered() -> None:
    assert set(OLD_ORDER) == set(TYPES)
    assert len(TYPES) == len(set(TYPES)) == 30


@pytest.mark.parametrize("cls", TYPES, ids=ids)
@common
@given(data=st.data())
def test_decode_inverts_encode_and_the_encoding_is_canonical(cls: type, data: Any) -> None:
    x = data.draw(instances(cls))
    raw = encoded(x)
    assert decoder(x)(raw) == x
    assert codec.unpack(raw, len(raw)) == x.to_wire()
    assert msgpack.packb(msgpack.unpackb(raw, raw=False), use_bin_type=True) == raw
    assert codec.pack(x.to_wire()) == raw


@pytest.mark.parametrize("cls", TYPES, ids=ids)
@common
@given(data=st.data())
def test_the_declared_order_is_the_hand_written_one(cls: type, data: Any) -> None:
    x = data.draw(instances(cls))
    assert x.to_wire() == OLD_ORDER[cls](x)


@pytest.mark.parametrize("cls", TYPES, ids=ids)
@common
@given(data=st.data())
def test_a_field_of_the_wrong_type_is_a_decode_error_naming_it(cls: type, data: Any) -> None:
    x, fields = drawn(cls, data)
    i = data.draw(st.integers(0, len(fields) - 1))
    spec, label = slots(cls)[i]
    fields[i] = data.draw(st.sampled_from(wrong_types(spec)))
    with pytest.raises(DecodeError) as err:
        decoder(x)(packed(cls, fields))
    assert label in str(err.value)


@pytest.mark.parametrize("cls", TYPES, ids=ids)
@common
@given(data=st.data())
def test_a_field_just_out_of_bounds_is_a_decode_error(cls: type, data: Any) -> None:
    x, fields = drawn(cls, data)
    bounded = [(i, v) for i, (spec, _) in enumerate(slots(cls)) for v in out_of_bounds(spec)]
    if bounded:
        i, value = data.draw(st.sampled_from(bounded))
        fields[i] = value
        with pytest.raises(DecodeError):
            decoder(x)(packed(cls, fields))


WIRE = st.recursive(
    st.none() | st.booleans() | st.integers(INT64_MIN, INT64_MAX) | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=4),
    max_leaves=8,
)


@pytest.mark.parametrize("cls", TYPES, ids=ids)
@common
@given(data=st.data())
def test_any_value_in_any_field_decodes_back_to_itself_or_is_refused(cls: type, data: Any) -> None:
    x, fields = drawn(cls, data)
    fields[data.draw(st.integers(0, len(fields) - 1))] = data.draw(WIRE)
    raw = packed(cls, fields)
    try:
        y = decoder(x)(raw)
    except refusals(cls):
        return
    assert encoded(y) == raw


@pytest.mark.parametrize("cls", TYPES, ids=ids)
@common
@given(data=st.data())
def test_a_wrong_count_a_wrong_prefix_or_a_trailing_byte_is_a_decode_error(
    cls: type, data: Any
) -> None:
    x = data.draw(instances(cls))
    wire, decode = x.to_wire(), decoder(x)
    bad = [wire[:-1], [*wire, None], "x", 7]
    if cls.SCHEMA.prefix:
        bad.append(["not the prefix", *wire[1:]])
    for value in bad:
        with pytest.raises(DecodeError):
            decode(codec.pack(value))
    with pytest.raises(DecodeError, match="trailing"):
        decode(encoded(x) + b"\x00")
    if cls.SCHEMA.max_size:  # a message on its own, or an entry
        with pytest.raises(DecodeError, match="limit"):
            decode(encoded(x) + bytes(cls.SCHEMA.max_size))


def test_error_messages_name_the_type_and_the_field() -> None:
    key = bytes(32)
    prepare = Prepare(bytes(16), 1, bytes(16), 5, bytes(32), 0, (key,), "a@b", "", b"", b"")
    wire = prepare.to_wire()
    wire[3] = "two"
    with pytest.raises(DecodeError, match=r"^prepare: hop must be an integer$"):
        Prepare.decode(codec.pack(wire))
    with pytest.raises(InvalidInput, match=r"^hold: role 'sideways' is not one of"):
        Hold(bytes(16), "sideways", "a", "b", 1, bytes(32), 0, b"", b"")  # type: ignore[arg-type]


def test_a_class_without_its_declaration_cannot_be_built() -> None:
    @dataclass(frozen=True, slots=True)
    class Undeclared(schema.Struct):
        x: specs.Int64

    with pytest.raises(TypeError, match="not declared"):
        Undeclared(1)


def test_the_tags_are_declared_once_on_the_class() -> None:
    assert (LineAgreement.KIND, Advert.TYPE, Advert.VERSION) == ("line", "letsnode/advert", 1)
    assert Prepare.DOMAIN == b"letsnode/prepare/v1\x00" and Checkpoint.MAX_BYTES == 1024
    with pytest.raises(TypeError, match="does not follow"):
        schema.message("letsnode/x", max_size=1, domain=b"letsnode/y/v1\x00")
