"""Credit lines between two communities: the agreement both nodes sign, and conversion.

A line between communities A and B gives each a **mirror account** of the other: in A's
ledger the account ``line-<B's short name>`` (kind ``line``, key = B's community id) stands
for B as a member of A. When A's member pays B's member, A's mirror of B goes up (A owes B)
and B's mirror of A goes down by the converted amount, so once transfers settle, A's
mirror of B equals minus B's mirror of A (at rate 1/1; at another rate, each side in its
own units).

    terms = ["letsnode/line", 1, line_id, version, a_id, a_short, b_id, b_short,
             rate_num, rate_den, a_floor, a_ceiling, b_floor, b_ceiling]

``a_floor``/``a_ceiling`` are the limits of A's mirror of B in A's minor units (the ceiling
is how much A may owe B; minus the floor is how much B may owe A); ``b_*`` likewise for B's
mirror of A in B's units. One minor unit of A is worth ``rate_num / rate_den`` minor units
of B; conversion rounds down (the receiving side credits the whole minor units that
arrive, so no hop ever credits more than it was paid).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from letsnode.core.crypto import SigningKey, is_valid_signature
from letsnode.core.errors import BadSignature, InvalidInput
from letsnode.core.names import check_slug
from letsnode.core.wire.schema import Message, Struct, message, struct
from letsnode.core.wire.specs import (
    Bin,
    Bytes,
    Ceiling,
    Derived,
    Floor,
    Handle,
    Int,
    Key,
    OptSig,
)

LINE_TYPE = "letsnode/line"
DOMAIN_LINE = b"letsnode/line/v1\x00"
LINE_ID_BYTES = 16
MAX_LINE_BYTES = 512
LINE_PREFIX = "line-"
TRANSIT = "transit"

LineId = Annotated[bytes, Bin(LINE_ID_BYTES), "line id"]
Rate = Annotated[int, Int(1, 1_000_000)]
ShortName = Annotated[Handle, "short name"]


def line_handle(partner_short: str) -> str:
    """The handle of the mirror account of a partner community."""
    return check_slug(LINE_PREFIX + partner_short, "line account")


def convert(amount: int, num: int, den: int) -> int:
    """``amount`` minor units times ``num/den``, rounded down."""
    return amount * num // den


@message(LINE_TYPE, max_size=MAX_LINE_BYTES, domain=DOMAIN_LINE, what="line terms")
@dataclass(frozen=True, slots=True)
class LineTerms(Message):
    line_id: LineId
    version: Annotated[int, Int(min=1)]
    a_id: Key
    a_short: ShortName
    b_id: Key
    b_short: ShortName
    rate_num: Annotated[Rate, "rate numerator"]
    rate_den: Annotated[Rate, "rate denominator"]
    a_floor: Floor
    a_ceiling: Ceiling
    b_floor: Floor
    b_ceiling: Ceiling

    def __post_init__(self) -> None:
        if self.a_id == self.b_id:
            raise InvalidInput("a community cannot open a line with itself")
        if self.a_ceiling is None or self.b_ceiling is None:
            raise InvalidInput("a line's limits are finite: give both ceilings")

    # -- views from one side ------------------------------------------------------------

    def side(self, community_id: bytes) -> str:
        if community_id == self.a_id:
            return "a"
        if community_id == self.b_id:
            return "b"
        raise InvalidInput("this line does not involve that community")

    def partner(self, community_id: bytes) -> tuple[bytes, str]:
        """The other community's id and short name, seen from ``community_id``."""
        if self.side(community_id) == "a":
            return self.b_id, self.b_short
        return self.a_id, self.a_short

    def limits(self, community_id: bytes) -> tuple[int, int]:
        """Floor and ceiling of ``community_id``'s mirror account of its partner."""
        if self.side(community_id) == "a":
            return self.a_floor, self.a_ceiling or 0
        return self.b_floor, self.b_ceiling or 0

    def to_partner(self, community_id: bytes, amount: int) -> int:
        """Convert an amount in ``community_id``'s units into its partner's units."""
        if self.side(community_id) == "a":
            return convert(amount, self.rate_num, self.rate_den)
        return convert(amount, self.rate_den, self.rate_num)

    # -- changes ------------------------------------------------------------------------

    def lowered_only_by(self, signer: bytes, old: LineTerms) -> bool:
        """True if this version differs from ``old`` only by ``signer`` extending less credit.

        A extends credit to B through A's floor (how far B may go into debt with A) and,
        mirrored, B's ceiling; lowering means raising that floor towards zero and lowering
        that ceiling. Anyone may always reduce the credit they give (as in Trustlines).
        """
        if self.line_id != old.line_id or self.version != old.version + 1:
            return False
        if self.side(signer) == "a":
            same = replace(self, version=old.version, a_floor=old.a_floor, b_ceiling=old.b_ceiling)
            moved = self.a_floor >= old.a_floor and (self.b_ceiling or 0) <= (old.b_ceiling or 0)
        else:
            same = replace(self, version=old.version, b_floor=old.b_floor, a_ceiling=old.a_ceiling)
            moved = self.b_floor >= old.b_floor and (self.a_ceiling or 0) <= (old.a_ceiling or 0)
        return same == old and moved

    def sign(self, key: SigningKey) -> bytes:
        """Side ``key``'s signature of these terms."""
        return self.signed_parts(key)[1]


@struct()
@dataclass(frozen=True, slots=True)
class SignedLine(Struct):
    """Line terms with the signatures of side A and side B (one may be missing)."""

    data: Annotated[Bytes, "line terms"]
    sig_a: Annotated[OptSig, "signature a"]
    sig_b: Annotated[OptSig, "signature b"]
    terms: Annotated[LineTerms, Derived("data", LineTerms.decode)]

    @classmethod
    def from_parts(cls, data: bytes, sig_a: bytes | None, sig_b: bytes | None) -> SignedLine:
        """Decode line terms and their signatures (DecodeError if malformed)."""
        return cls.from_wire([data, sig_a, sig_b])

    def signers(self) -> list[bytes]:
        """The community ids whose signatures verify; raise BadSignature on a bad one."""
        out = []
        for sig, key, side in (
            (self.sig_a, self.terms.a_id, "A"),
            (self.sig_b, self.terms.b_id, "B"),
        ):
            if sig is None:
                continue
            if not is_valid_signature(key, DOMAIN_LINE, self.data, sig):
                raise BadSignature(f"line terms: side {side}'s signature does not verify")
            out.append(key)
        return out
