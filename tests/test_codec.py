import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from letsnode.core.errors import DecodeError, LocalProtocolError
from letsnode.core.wire.codec import pack, unpack

wire = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=5),
    max_leaves=20,
)


@given(wire)
def test_every_allowed_value_round_trips_canonically(value):
    data = pack(value)
    assert unpack(data) == value
    assert pack(unpack(data)) == data


def test_trailing_bytes_are_rejected():
    with pytest.raises(DecodeError, match="trailing"):
        unpack(pack([1, 2]) + b"\x00")


def test_non_shortest_integer_is_rejected():
    with pytest.raises(DecodeError, match="canonical"):
        unpack(b"\x91\xcc\x01")  # [1] with 1 as uint8 instead of a fixint


def test_str_and_bin_are_not_interchangeable():
    assert unpack(pack([b"ab"])) == [b"ab"]
    assert unpack(pack(["ab"])) == ["ab"]


@pytest.mark.parametrize(
    "value", [1.5, {"a": 1}, msgpack.ExtType(1, b"x"), 2**63], ids=["float", "map", "ext", "big"]
)
def test_values_outside_the_rules_are_refused_both_ways(value):
    with pytest.raises(LocalProtocolError):
        pack(value)
    with pytest.raises(DecodeError):
        unpack(msgpack.packb(value))


def test_size_limit_is_enforced_before_decoding():
    with pytest.raises(DecodeError, match="limit"):
        unpack(pack(b"x" * 100), max_size=50)


def test_deep_nesting_is_rejected():
    value: list = []
    for _ in range(20):
        value = [value]
    with pytest.raises(DecodeError, match="nested"):
        unpack(msgpack.packb(value))


def test_text_that_is_not_utf8_is_refused_as_ours():
    with pytest.raises(LocalProtocolError, match="UTF-8"):
        pack(["a\ud800b"])
