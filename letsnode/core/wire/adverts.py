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
from typing import Annotated, Self

from letsnode.core.crypto import SigningKey, is_valid_signature
from letsnode.core.errors import BadSignature
from letsnode.core.names import NAME_MAX
from letsnode.core.wire.lines import LineId, ShortName
from letsnode.core.wire.schema import Message, Struct, message, struct
from letsnode.core.wire.specs import Array, Int, Int64, Key, Positive, Text, Unit

ADVERT_TYPE = "letsnode/advert"
DOMAIN_ADVERT = b"letsnode/advert/v1\x00"
MAX_ADVERT_BYTES = 16 * 1024
MAX_ADVERT_LINES = 64
MAX_ADDRS = 8

Room = Annotated[int, Int(min=0)]
Address = Annotated[str, Text(200), "address"]


@struct()
@dataclass(frozen=True, slots=True)
class AdvertLine(Struct):
    partner: Key
    line_id: LineId
    rate_num: Annotated[Positive, "rate"]
    rate_den: Annotated[Positive, "rate"]
    room_out: Room
    room_in: Room


@message(ADVERT_TYPE, max_size=MAX_ADVERT_BYTES, domain=DOMAIN_ADVERT)
@dataclass(frozen=True, slots=True)
class Advert(Message):
    community_id: Key
    short: ShortName
    name: Annotated[str, Text(NAME_MAX)]
    unit: Annotated[str, Unit()]
    scale: Int64
    addrs: Annotated[tuple[Address, ...], Array(max=MAX_ADDRS)]
    timestamp_ms: Annotated[Int64, "timestamp"]
    lines: Annotated[tuple[AdvertLine, ...], Array(max=MAX_ADVERT_LINES)]

    def sign(self, key: SigningKey) -> tuple[bytes, bytes]:
        return self.signed_parts(key)

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
