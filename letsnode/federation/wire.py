"""Requests and responses between nodes: one canonical msgpack array each, kind first.

Every field is checked by the handler that uses it; here only the envelope: its size, its
shape and that the kind is one the protocol knows with the right number of fields.
"""

from __future__ import annotations

from letsnode.core.errors import DecodeError
from letsnode.core.wire import codec
from letsnode.core.wire.codec import Wire

LINE_PROTOCOL = "/letsnode/line/1"
TRANSFER_PROTOCOL = "/letsnode/transfer/1"
CLEARING_PROTOCOL = "/letsnode/clearing/1"
ADVERT_TOPIC = "letsnode/adverts/1"
MAX_WIRE_BYTES = 16 * 1024


def encode(kind: str, *fields: Wire) -> bytes:
    return codec.pack([kind, *fields])


def decode(
    data: bytes, shapes: dict[str, int], max_bytes: int = MAX_WIRE_BYTES
) -> tuple[str, list[Wire]]:
    """Return ``(kind, fields)``; ``shapes`` maps each allowed kind to its field count."""
    value = codec.unpack(data, max_bytes, "federation message")
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise DecodeError("a federation message is an array led by its kind")
    kind, fields = value[0], value[1:]
    if kind not in shapes:
        raise DecodeError(f"unknown federation message {kind!r}")
    if len(fields) != shapes[kind]:
        raise DecodeError(f"{kind} has {len(fields)} fields, expected {shapes[kind]}")
    return kind, fields
