"""Canonical msgpack: the only way bytes become values in letsnode, and back.

Rules (protocol/SPEC.md §2): values are nil, booleans, integers (int64 range), UTF-8
strings, byte strings and arrays of those. No floats, no maps, no extension types. An
encoding is canonical when re-encoding the decoded value gives the same bytes (msgpack's
shortest forms); anything else, and any trailing byte, is rejected. Every decode has a
size limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias, TypeVar

import msgpack

from letsnode.core.amounts import INT64_MAX, INT64_MIN
from letsnode.core.errors import DecodeError, InvalidInput, LocalProtocolError

T = TypeVar("T")

Wire: TypeAlias = bool | int | str | bytes | list["Wire"] | None

DEFAULT_MAX_SIZE = 64 * 1024
_UINT64_MAX = 2**64 - 1


def _check(value: object, depth: int = 0) -> None:
    if depth > 16:
        raise DecodeError("value is nested more than 16 levels deep")
    if value is None or isinstance(value, (bool, str, bytes)):
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise DecodeError(f"integer {value} is outside the signed 64-bit range")
        return
    if isinstance(value, list):
        for item in value:
            _check(item, depth + 1)
        return
    raise DecodeError(f"{type(value).__name__} values are not allowed in letsnode messages")


def pack(value: Wire) -> bytes:
    """Encode ``value`` canonically. Raises LocalProtocolError for values outside the rules."""
    try:
        _check(value)
        return bytes(msgpack.packb(value, use_bin_type=True))
    except DecodeError as err:
        raise LocalProtocolError(f"cannot encode: {err}") from None
    except UnicodeEncodeError:
        raise LocalProtocolError("cannot encode: text that is not valid UTF-8") from None


def unpack(data: bytes, max_size: int = DEFAULT_MAX_SIZE, what: str = "message") -> Wire:
    """Decode one canonical value filling all of ``data``; raise DecodeError otherwise."""
    if len(data) > max_size:
        raise DecodeError(f"{what} is {len(data)} bytes, more than the limit of {max_size}")
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
        )
    except msgpack.ExtraData:
        raise DecodeError(f"{what} has trailing bytes") from None
    except (ValueError, msgpack.UnpackException) as err:
        raise DecodeError(f"{what} is not valid msgpack: {err}") from None
    _check(value)
    if msgpack.packb(value, use_bin_type=True) != data:
        raise DecodeError(f"{what} is not canonically encoded")
    return value  # type: ignore[no-any-return]


def expect_list(value: Wire, length: int, what: str) -> list[Wire]:
    if not isinstance(value, list):
        raise DecodeError(f"{what} must be an array")
    if len(value) != length:
        raise DecodeError(f"{what} must have {length} fields, has {len(value)}")
    return value


def expect_int(value: Wire, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"{what} must be an integer")
    return value


def expect_opt_int(value: Wire, what: str) -> int | None:
    return None if value is None else expect_int(value, what)


def expect_str(value: Wire, what: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"{what} must be a string")
    return value


def expect_bytes(value: Wire, what: str, length: int | None = None) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError(f"{what} must be a byte string")
    if length is not None and len(value) != length:
        raise DecodeError(f"{what} must be {length} bytes, is {len(value)}")
    return value


def validated(build: Callable[[], T]) -> T:
    """Build a value from wire fields; its own checks' InvalidInput becomes DecodeError."""
    try:
        return build()
    except InvalidInput as err:
        raise DecodeError(str(err)) from None
