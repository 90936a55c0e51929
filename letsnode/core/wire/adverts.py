"""Line adverts: each node's signed account of itself and of the room left on its lines.

    advert = ["letsnode/advert", 1, community_id, short, name, unit, scale, addrs,
              timestamp_ms, lines]
    lines  = [[partner_id, line_id, rate_num, rate_den, room_out, room_in], ...]

``room_out`` is how much more the advertiser can send to the partner through the line (its
own minor units: its mirror account's ceiling less balance and incoming holds), ``room_in``
how much more it can receive (balance less outgoing holds less floor). Path finding over
adverts is in :mod:`letsnode.core.routing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from letsnode.core.crypto import KEY_BYTES, SigningKey, is_valid_signature
from letsnode.core.errors import BadSignature, DecodeError, InvalidInput
from letsnode.core.names import NAME_MAX, check_slug, check_text, check_unit
from letsnode.core.wire import codec
from letsnode.core.wire.codec import (
    expect_bytes,
    expect_int,
    expect_list,
    expect_str,
    validated,
)
from letsnode.core.wire.lines import LINE_ID_BYTES

ADVERT_TYPE = "letsnode/advert"


DOMAIN_ADVERT = b"letsnode/advert/v1\x00"


MAX_ADVERT_BYTES = 16 * 1024


MAX_ADVERT_LINES = 64


MAX_ADDRS = 8


@dataclass(frozen=True, slots=True)
class AdvertLine:
    partner: bytes
    line_id: bytes
    rate_num: int
    rate_den: int
    room_out: int
    room_in: int


@dataclass(frozen=True, slots=True)
class Advert:
    community_id: bytes
    short: str
    name: str
    unit: str
    scale: int
    addrs: tuple[str, ...]
    timestamp_ms: int
    lines: tuple[AdvertLine, ...]

    def __post_init__(self) -> None:
        if len(self.community_id) != KEY_BYTES:
            raise InvalidInput("advert: community id is 32 bytes")
        check_slug(self.short, "short name")
        check_text(self.name, "name", NAME_MAX)
        check_unit(self.unit)
        if len(self.addrs) > MAX_ADDRS or len(self.lines) > MAX_ADVERT_LINES:
            raise InvalidInput("advert: too many addresses or lines")
        for addr in self.addrs:
            check_text(addr, "address", 200)
        for line in self.lines:
            if len(line.partner) != KEY_BYTES or len(line.line_id) != LINE_ID_BYTES:
                raise InvalidInput("advert: malformed line")
            if line.rate_num <= 0 or line.rate_den <= 0 or line.room_out < 0 or line.room_in < 0:
                raise InvalidInput("advert: a line's rate is positive and its room never negative")

    def encode(self) -> bytes:
        return codec.pack(
            [
                ADVERT_TYPE,
                1,
                self.community_id,
                self.short,
                self.name,
                self.unit,
                self.scale,
                list(self.addrs),
                self.timestamp_ms,
                [
                    [x.partner, x.line_id, x.rate_num, x.rate_den, x.room_out, x.room_in]
                    for x in self.lines
                ],
            ]
        )

    def sign(self, key: SigningKey) -> tuple[bytes, bytes]:
        data = self.encode()
        return data, key.sign(DOMAIN_ADVERT, data)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        f = expect_list(codec.unpack(data, MAX_ADVERT_BYTES, "advert"), 10, "advert")
        if f[0] != ADVERT_TYPE or f[1] != 1:
            raise DecodeError(f"not a version 1 advert: {f[0]!r} {f[1]!r}")
        addrs, lines = f[7], f[9]
        if not isinstance(addrs, list) or not isinstance(lines, list):
            raise DecodeError("advert: addresses and lines are arrays")

        def line(v: codec.Wire) -> AdvertLine:
            x = expect_list(v, 6, "advert line")
            return AdvertLine(
                expect_bytes(x[0], "partner", KEY_BYTES),
                expect_bytes(x[1], "line id", LINE_ID_BYTES),
                expect_int(x[2], "rate"),
                expect_int(x[3], "rate"),
                expect_int(x[4], "room out"),
                expect_int(x[5], "room in"),
            )

        return validated(
            lambda: cls(
                expect_bytes(f[2], "community id", KEY_BYTES),
                expect_str(f[3], "short"),
                expect_str(f[4], "name"),
                expect_str(f[5], "unit"),
                expect_int(f[6], "scale"),
                tuple(expect_str(a, "address") for a in addrs),
                expect_int(f[8], "timestamp"),
                tuple(line(v) for v in lines),
            )
        )

    @classmethod
    def verify(cls, data: bytes, signature: bytes, publisher: bytes | None = None) -> Self:
        """Decode and check the advert is signed by the community it describes (and, if
        given, that this community is the one that published it)."""
        advert = cls.decode(data)
        if publisher is not None and publisher != advert.community_id:
            raise BadSignature("an advert was published by another peer than its community")
        if not is_valid_signature(advert.community_id, DOMAIN_ADVERT, data, signature):
            raise BadSignature("advert: signature does not verify")
        return advert
