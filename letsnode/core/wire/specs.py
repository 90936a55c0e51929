"""The wire types a declared field can have (see :mod:`letsnode.core.wire.schema`).

Each ``Spec`` gives a field three functions, built once per field: ``check`` (a value is
right: InvalidInput naming the type and the field otherwise), ``decoder`` (a wire value
becomes the field's value before construction, e.g. an array a tuple of nested objects;
DecodeError for a wrong shape) and ``encoder`` (the way back). The common cases come first
in every check, so a valid value costs one type test and one comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import methodcaller
from typing import Annotated, Any, ClassVar, Protocol

from letsnode.core.amounts import INT64_MAX, INT64_MIN
from letsnode.core.crypto import HASH_BYTES, KEY_BYTES, SIGNATURE_BYTES
from letsnode.core.errors import DecodeError, InvalidInput
from letsnode.core.names import MEMO_MAX, check_slug, check_text, check_unit
from letsnode.core.wire.codec import Wire

Check = Callable[[Any], None]
Convert = Callable[[Any], Any]


class SchemaLike(Protocol):
    """What a spec uses of a declared class's codec (``schema.Schema``)."""

    width: int
    from_wire: Callable[[Wire], Any]
    to_wire: Callable[[Any], list[Wire]]


class Struct(Protocol):
    """A declared class as the specs see it (``schema.Struct`` and its subclasses): the
    specs describe fields, the schema builds codecs from them, so this module names the
    classes only by what it needs of them."""

    SCHEMA: ClassVar[SchemaLike]


class Spec:
    """What one field is on the wire. ``width``: how many wire values it takes."""

    width = 1

    def check(self, where: str, label: str) -> Check:
        """A check of a field's value that raises InvalidInput naming ``where``."""
        raise NotImplementedError

    def decoder(self, where: str, label: str) -> Convert | None:
        """Wire value to field value before construction (None: the same value)."""
        return None

    def encoder(self) -> Convert | None:
        """Field value to wire value (None: the same value)."""
        return None


def _named(fn: Callable[[Any], object], where: str) -> Check:
    """A names.py check (its message names the field), prefixed with the type's name."""

    def check(value: Any) -> None:
        try:
            fn(value)
        except InvalidInput as err:
            raise InvalidInput(f"{where}: {err}") from None

    return check


@dataclass(frozen=True)
class Int(Spec):
    """An integer from ``min`` to ``max`` (by default the int64 range); nil if optional."""

    min: int = INT64_MIN
    max: int = INT64_MAX
    optional: bool = False

    def check(self, where: str, label: str) -> Check:
        lo, hi, optional, problem = self.min, self.max, self.optional, self.problem

        def check(value: Any) -> None:
            if (type(value) is int and lo <= value <= hi) or (value is None and optional):
                return
            wrong = problem(value)
            if wrong:
                raise InvalidInput(f"{where}: {label} {wrong}")

        return check

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer" + (" or nil" if self.optional else "")
        if not INT64_MIN <= value <= INT64_MAX:
            return f"{value} does not fit in a signed 64-bit integer"
        if self.min <= value <= self.max:
            return None  # an int subclass
        if self.max == INT64_MAX:
            lowest = {0: "be zero or positive", 1: "be greater than zero"}
            return f"must {lowest.get(self.min, f'be at least {self.min}')}, got {value}"
        if self.min == INT64_MIN and self.max == 0:
            return f"must be zero or negative, got {value}"
        return f"must be a whole number from {self.min} to {self.max}, got {value!r}"


@dataclass(frozen=True)
class Bin(Spec):
    """A byte string of exactly ``size`` bytes, or of at most ``max``; nil if optional."""

    size: int | None = None
    max: int | None = None
    optional: bool = False

    def check(self, where: str, label: str) -> Check:
        lo = self.size or 0
        hi = self.size if self.size is not None else self.max if self.max is not None else 2**63
        optional = self.optional

        def check(value: Any) -> None:
            if (type(value) is bytes and lo <= len(value) <= hi) or (value is None and optional):
                return
            if isinstance(value, bytes) and lo <= len(value) <= hi:
                return  # a bytes subclass
            if not isinstance(value, bytes):
                nil = " or nil" if optional else ""
                raise InvalidInput(f"{where}: {label} must be a byte string{nil}")
            if lo == hi:
                raise InvalidInput(f"{where}: {label} must be {lo} bytes, is {len(value)}")
            raise InvalidInput(f"{where}: {label} is {len(value)} bytes, more than {hi}")

        return check


@dataclass(frozen=True)
class Text(Spec):
    """Text of at most ``max_len`` characters without control characters
    (``names.check_text``), or with any (``control``); empty only if ``empty``."""

    max_len: int
    empty: bool = False
    control: bool = False

    def check(self, where: str, label: str) -> Check:
        lo, hi, empty = (0 if self.empty else 1), self.max_len, self.empty
        if self.control:

            def any_text(value: Any) -> None:
                if not isinstance(value, str) or not lo <= len(value) <= hi:
                    raise InvalidInput(f"{where}: {label} must be text of {lo} to {hi} characters")
                if not value.isascii() and not _utf8(value):
                    raise InvalidInput(f"{where}: {label} is not valid UTF-8 (a lone surrogate)")

            return any_text

        def check(value: Any) -> None:
            # Printable ASCII is the common case: it has no control character (Cc is
            # 0x00-0x1f and 0x7f there, Cs none), so check_text would accept it.
            ascii_ok = type(value) is str and value.isascii() and value.isprintable()
            if ascii_ok and lo <= len(value) <= hi:
                return
            try:
                check_text(value, label, hi, allow_empty=empty)
            except InvalidInput as err:
                raise InvalidInput(f"{where}: {err}") from None

        return check


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# Handles seen valid: a handle is checked on every order and body that names it, and a
# community has few. Only what check_slug accepted is kept; the set is bounded.
_SLUGS: set[str] = set()
_SLUGS_MAX = 1 << 16


@dataclass(frozen=True)
class Slug(Spec):
    """A handle or short name (``names.check_slug``)."""

    def check(self, where: str, label: str) -> Check:
        seen = _SLUGS

        def check(value: Any) -> None:
            if type(value) is str and value in seen:
                return
            try:
                check_slug(value, label)
            except InvalidInput as err:
                raise InvalidInput(f"{where}: {err}") from None
            if type(value) is str and len(seen) < _SLUGS_MAX:
                seen.add(value)

        return check


@dataclass(frozen=True)
class Unit(Spec):
    """A unit code (``names.check_unit``)."""

    def check(self, where: str, label: str) -> Check:
        return _named(check_unit, where)


@dataclass(frozen=True)
class Choice(Spec):
    """One of ``values``: what a ``Literal`` of strings declares."""

    values: tuple[str, ...]

    def check(self, where: str, label: str) -> Check:
        values, allowed = self.values, frozenset(self.values)

        def check(value: Any) -> None:
            if not isinstance(value, str) or value not in allowed:
                raise InvalidInput(f"{where}: {label} {value!r} is not one of {values}")

        return check


@dataclass(frozen=True)
class Array(Spec):
    """An array of ``min`` to ``max`` items (a tuple in Python); ``item`` is the spec of
    ``tuple[X, ...]``'s X unless given."""

    max: int
    min: int = 0
    item: Spec | None = None
    item_label: str = ""

    def check(self, where: str, label: str) -> Check:
        lo, hi = self.min, self.max
        each = self._item.check(where, self.item_label or f"{label} entry")

        def check(value: Any) -> None:
            if type(value) is not tuple or not lo <= len(value) <= hi:
                raise InvalidInput(f"{where}: {label} must be a tuple of {lo} to {hi} items")
            for item in value:
                each(item)

        return check

    def decoder(self, where: str, label: str) -> Convert:
        lo, hi = self.min, self.max
        each = self._item.decoder(where, self.item_label or f"{label} entry")

        def decode(value: Wire) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise DecodeError(f"{where}: {label} must be an array")
            if not lo <= len(value) <= hi:
                raise DecodeError(f"{where}: {label} has {len(value)} items, not {lo} to {hi}")
            return tuple(value) if each is None else tuple([each(x) for x in value])

        return decode

    def encoder(self) -> Convert:
        each = self._item.encoder()
        return list if each is None else lambda value: [each(x) for x in value]

    @property
    def _item(self) -> Spec:
        assert self.item is not None
        return self.item


@dataclass(frozen=True)
class Tuple(Spec):
    """An array of exactly these items: what a fixed ``tuple[A, B]`` declares."""

    items: tuple[Spec, ...]

    def check(self, where: str, label: str) -> Check:
        checks = [s.check(where, label) for s in self.items]
        n = len(checks)

        def check(value: Any) -> None:
            if type(value) is not tuple or len(value) != n:
                raise InvalidInput(f"{where}: {label} must be a tuple of {n} items")
            for each, item in zip(checks, value, strict=True):
                each(item)

        return check

    def decoder(self, where: str, label: str) -> Convert:
        if any(s.decoder(where, label) for s in self.items):
            raise TypeError(f"{where}: a tuple's items are plain values, not arrays")
        n = len(self.items)

        def decode(value: Wire) -> tuple[Wire, ...]:
            if not isinstance(value, list) or len(value) != n:
                raise DecodeError(f"{where}: {label} must be an array of {n} items")
            return tuple(value)

        return decode

    def encoder(self) -> Convert:
        return list


@dataclass(frozen=True)
class Nested(Spec):
    """A declared class as one array: what a field of that class declares."""

    cls: type[Struct]

    def check(self, where: str, label: str) -> Check:
        return _instance(self.cls, where, label)

    def decoder(self, where: str, label: str) -> Convert:
        return self.cls.SCHEMA.from_wire

    def encoder(self) -> Convert:
        return self.cls.SCHEMA.to_wire


@dataclass(frozen=True)
class Inline(Nested):
    """A declared class whose fields stand in the outer array (``Payment``'s order)."""

    cls: type[Struct] = None  # type: ignore[assignment]  # filled from the field's type

    @property
    def width(self) -> int:  # type: ignore[override]
        return self.cls.SCHEMA.width


@dataclass(frozen=True)
class Tagged(Spec):
    """One of several log bodies, told apart by their kind: what a union declares."""

    kinds: dict[str, type[Struct]]

    def check(self, where: str, label: str) -> Check:
        return _instance(tuple(self.kinds.values()), where, label)

    def decoder(self, where: str, label: str) -> Convert:
        decoders = {kind: cls.SCHEMA.from_wire for kind, cls in self.kinds.items()}

        def decode(value: Wire) -> Any:
            if not isinstance(value, list) or not value or not isinstance(value[0], str):
                raise DecodeError(f"{label} must be an array starting with its kind")
            decode = decoders.get(value[0])
            if decode is None:
                raise DecodeError(f"unknown entry kind {value[0]!r}")
            return decode(value)

        return decode

    def encoder(self) -> Convert:
        return methodcaller("to_wire")


@dataclass(frozen=True)
class Derived(Spec):
    """Not on the wire: decoding computes it from field ``source`` (checked first)."""

    source: str
    build: Convert
    width = 0


@dataclass(frozen=True)
class Local(Spec):
    """Not on the wire: the class's own constructors set it (the class decodes itself)."""

    width = 0


def _instance(cls: type | tuple[type, ...], where: str, label: str) -> Check:
    def check(value: Any) -> None:
        if not isinstance(value, cls):
            raise InvalidInput(f"{where}: {label} is a {type(value).__name__}")

    return check


# -- common field types ------------------------------------------------------------------

Int64 = Annotated[int, Int()]
Positive = Annotated[int, Int(min=1)]
Floor = Annotated[int, Int(max=0)]
Ceiling = Annotated[int | None, Int(min=0, optional=True)]
Bytes = Annotated[bytes, Bin()]
Key = Annotated[bytes, Bin(KEY_BYTES)]
Sig = Annotated[bytes, Bin(SIGNATURE_BYTES)]
OptSig = Annotated[bytes | None, Bin(SIGNATURE_BYTES, optional=True)]
Hash = Annotated[bytes, Bin(HASH_BYTES)]
Handle = Annotated[str, Slug()]
Memo = Annotated[str, Text(MEMO_MAX, empty=True)]
