import pytest
from hypothesis import given
from hypothesis import strategies as st

from letsnode.core.amounts import INT64_MAX, INT64_MIN, format_amount, parse_amount, parse_decimal
from letsnode.core.errors import InvalidInput


def test_amount_at_scale_two_is_parsed_to_minor_units():
    assert parse_amount("1.50", 2) == 150
    assert parse_amount("1.5", 2) == 150
    assert parse_amount("12", 2) == 1200


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1.505", "too many decimal places"),
        ("1e3", "not a plain decimal"),
        ("-1", "greater than zero"),
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("NaN", "not a plain decimal"),
        ("", "empty"),
        ("1,50", "not a plain decimal"),
        (" 1.50", "not a plain decimal"),
        ("+1", "not a plain decimal"),
        ("١٫٥", "not a plain decimal"),
        ("92233720368547758.08", "does not fit"),
    ],
)
def test_bad_amounts_are_refused_with_a_message_naming_them(text, fragment):
    with pytest.raises(InvalidInput, match=fragment) as err:
        parse_amount(text, 2)
    assert repr(text) in str(err.value) or text == ""


def test_scale_zero_refuses_any_decimal_places():
    with pytest.raises(InvalidInput, match="no decimal places"):
        parse_amount("1.0", 0)


def test_int64_bounds_are_accepted_and_one_past_them_refused():
    assert parse_decimal(str(INT64_MAX), 0) == INT64_MAX
    assert parse_decimal(str(INT64_MIN), 0) == INT64_MIN
    with pytest.raises(InvalidInput, match="64-bit"):
        parse_decimal(str(INT64_MAX + 1), 0)


@given(st.integers(INT64_MIN, INT64_MAX), st.integers(0, 8))
def test_formatting_then_parsing_gives_back_the_same_minor_units(minor, scale):
    assert parse_decimal(format_amount(minor, scale), scale) == minor
