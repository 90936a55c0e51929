"""Money as integers: strict parsing and formatting of decimal amounts at a fixed scale.

An amount in a community's unit (``"1.50"`` HOUR) is stored as an integer number of minor
units (150 at scale 2). No floats are ever involved. Every stored amount fits in a signed
64-bit integer; anything that would not is refused.
"""

from __future__ import annotations

import re

from letsnode.core.errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_SCALE = 8
POW10: tuple[int, ...] = tuple(10**i for i in range(MAX_SCALE + 1))

_DECIMAL = re.compile(r"(?P<sign>-?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


def check_scale(scale: int) -> int:
    """Return ``scale`` if it is an allowed number of decimal places (0..8)."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= MAX_SCALE:
        raise InvalidInput(f"scale must be a whole number from 0 to {MAX_SCALE}, got {scale!r}")
    return scale


def check_int64(value: int, what: str = "amount") -> int:
    """Return ``value`` if it fits in a signed 64-bit integer, else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer number of minor units, got {value!r}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput(f"{what} {value} does not fit in a signed 64-bit integer")
    return value


def parse_decimal(text: str, scale: int, what: str = "amount") -> int:
    """Parse a signed decimal string into minor units at ``scale``, exactly.

    Accepts ``12``, ``12.5``, ``-3.25`` (at scale ≥ 2). Refuses exponents, ``NaN``,
    separators, spaces, signs other than a leading ``-``, and more decimal places than the
    scale allows (``1.505`` at scale 2), each with a message naming the text.
    """
    check_scale(scale)
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be text, got {text!r}")
    if text == "":
        raise InvalidInput(f"{what} is empty")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidInput(
            f"{what} {text!r} is not a plain decimal number (digits, optionally one '.')"
        )
    frac = match.group("frac") or ""
    if len(frac) > scale:
        unit = "no decimal places" if scale == 0 else f"at most {scale} decimal places"
        raise InvalidInput(f"{what} {text!r} has too many decimal places: this unit allows {unit}")
    minor = int(match.group("int")) * POW10[scale] + int(frac.ljust(scale, "0") or "0")
    if match.group("sign"):
        minor = -minor
    if not INT64_MIN <= minor <= INT64_MAX:
        raise InvalidInput(f"{what} {text!r} does not fit in a signed 64-bit integer")
    return minor


def parse_amount(text: str, scale: int) -> int:
    """Parse a payment amount: a strictly positive decimal, returned in minor units."""
    minor = parse_decimal(text, scale, "amount")
    if minor <= 0:
        raise InvalidInput(f"amount {text!r} must be greater than zero")
    return minor


def format_amount(minor: int, scale: int) -> str:
    """Format minor units as a decimal string with exactly ``scale`` places (``-1.50``)."""
    check_scale(scale)
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if scale == 0:
        return sign + digits
    digits = digits.rjust(scale + 1, "0")
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"
