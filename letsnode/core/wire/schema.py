"""Declared wire types: every signed message, log body and nested array of letsnode says its
fields once, and encoding, strict decoding, validation and error messages follow from that.

    @message(ORDER_TYPE, max_size=MAX_ORDER_BYTES, domain=DOMAIN_ORDER)
    @dataclass(frozen=True, slots=True)
    class Order(Message):
        community_id: Key                            # Annotated[bytes, Bin(32)]
        payer: Handle                                # Annotated[str, Slug()]
        amount: Positive                             # Annotated[int, Int(min=1)]
        memo: Annotated[str, Text(200, empty=True)]
        def __post_init__(self) -> None:             # only rules no single field can say
            if self.payer == self.payee: ...

- A field's wire type is the ``Spec`` in its ``Annotated`` metadata (specs.py). Some types
  say it by themselves: a ``Literal`` of strings is an enumerated string, a declared class
  a nested array, a fixed ``tuple[A, B]`` an array of exactly those, a union of log bodies
  a body tagged by its kind. A ``str`` in the metadata names the field in error messages
  (by default its attribute name, ``_`` read as a space).
- The wire form is ``[*prefix, *fields]``: the prefix is ``[type, version]`` for a message,
  ``[kind]`` for a log body, nothing for a nested array; the fields on the wire follow in
  declaration order. ``Derived`` fields (computed from another one when decoding) and
  ``Local`` ones (set by the class's own constructors) are not on the wire and come last.
- Constructing checks every wire field (``InvalidInput`` naming the type and the field),
  then runs the class's own ``__post_init__``. Decoding checks the array (its length and
  prefix), converts nested arrays and constructs; ``InvalidInput`` becomes ``DecodeError``.
  The canonical form, the size limit and trailing bytes are the codec's (``codec.unpack``).
- Everything is built once, at import, from precomputed tuples of the fields' checks and
  converters; nothing is looked up per call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar, cast, get_args, get_origin
from typing import get_type_hints as _hints

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import DecodeError, InvalidInput
from letsnode.core.wire import codec
from letsnode.core.wire.codec import Wire
from letsnode.core.wire.specs import (
    Array,
    Choice,
    Derived,
    Inline,
    Local,
    Nested,
    Spec,
    Tagged,
    Tuple,
)

Check = Callable[[Any], None]
Convert = Callable[[Any], Any]
_UNION = type(int | None)  # types.UnionType, without importing types

# -- building a declared class -----------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    spec: Spec
    label: str


def _field(name: str, hint: Any) -> Field:
    spec, label = _resolve(hint)
    if spec is None:
        raise TypeError(f"field {name} ({hint}) does not say its wire type")
    return Field(name, spec, label or name.replace("_", " "))


def _resolve(hint: Any) -> tuple[Spec | None, str | None]:
    spec, label = None, None
    if get_origin(hint) is Annotated:
        hint, *meta = get_args(hint)
        for m in meta:
            if isinstance(m, str):
                label = m
            elif isinstance(m, Spec):
                spec = m
    if isinstance(spec, Array) and spec.item is None:
        item, item_label = _resolve(get_args(hint)[0])
        spec = replace(spec, item=item, item_label=item_label or "")
    elif isinstance(spec, Inline) and spec.cls is None:
        spec = replace(spec, cls=hint)
    elif spec is None:
        spec = _implied(hint)
    return spec, label


def _implied(hint: Any) -> Spec | None:
    args = get_args(hint)
    if get_origin(hint) is Literal:
        return Choice(args)
    if get_origin(hint) is tuple and args and args[-1] is not Ellipsis:
        items = [_resolve(a)[0] for a in args]
        return Tuple(tuple(cast(Spec, s) for s in items)) if None not in items else None
    if isinstance(hint, _UNION) and all(_declared(a) and issubclass(a, LogBody) for a in args):
        return Tagged({a.KIND: a for a in args})
    return Nested(hint) if _declared(hint) else None


def _declared(hint: Any) -> bool:
    return isinstance(hint, type) and "SCHEMA" in hint.__dict__


def _getter(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return cast(Callable[[Any], tuple[Any, ...]], attrgetter(*names))


class Schema:
    """The codec of one declared class (built by ``@struct``, ``@body`` or ``@message``).

    ``to_wire``, ``wire_of``, ``args``, ``from_wire`` and ``decode`` are closures made
    here, once, over precomputed tuples of the fields' checks and converters.
    """

    def __init__(
        self, cls: type[Struct], prefix: tuple[Wire, ...], what: str, max_size: int
    ) -> None:
        hints = _hints(cls, include_extras=True)
        self.cls, self.prefix, self.what, self.max_size = cls, prefix, what, max_size
        self.fields = tuple(_field(f.name, hints[f.name]) for f in fields(cast(Any, cls)))
        wire = tuple(f for f in self.fields if f.spec.width)
        if wire != self.fields[: len(wire)]:
            raise TypeError(f"{what}: the fields not on the wire must come last")
        self.wire_fields = wire
        self.width = sum(f.spec.width for f in wire)
        self.checks = tuple(f.spec.check(what, f.label) for f in wire)
        self.getter = _getter([f.name for f in wire])
        self.local = any(isinstance(f.spec, Local) for f in self.fields)
        self._encoders = tuple((f.spec.encoder(), isinstance(f.spec, Inline)) for f in wire)
        self._steps = tuple((f.spec.width, f.spec.decoder(what, f.label)) for f in wire)
        self.wire_of = self._make_wire_of()  # the wire array of the fields' values, in order
        self.to_wire = self._make_to_wire()
        self.args = self._make_args()
        self.from_wire, self.decode = self._make_decoders()

    # -- encoding -------------------------------------------------------------------------

    def _make_to_wire(self) -> Callable[[Any], list[Wire]]:
        prefix, getter, wire_of = self.prefix, self.getter, self.wire_of
        if not any(encode for encode, _ in self._encoders):
            return lambda obj: [*prefix, *getter(obj)]
        return lambda obj: wire_of(getter(obj))

    def _make_wire_of(self) -> Callable[[Sequence[Any]], list[Wire]]:
        prefix, n = self.prefix, len(self.prefix)
        # The converted fields, last first: a nested class in line takes several places.
        converted = [(n + i, e, inline) for i, (e, inline) in enumerate(self._encoders) if e]
        converted.reverse()

        def wire_of(values: Sequence[Any]) -> list[Wire]:
            out = [*prefix, *values]
            for i, encode, inline in converted:
                if inline:
                    out[i : i + 1] = encode(out[i])
                else:
                    out[i] = encode(out[i])
            return out

        return wire_of

    def encode(self, obj: Any) -> bytes:
        return codec.pack(self.to_wire(obj))

    # -- decoding -------------------------------------------------------------------------

    def _make_args(self) -> Callable[[Wire], list[Any]]:
        what, prefix, steps = self.what, list(self.prefix), self._steps
        n = len(prefix)
        count = n + self.width
        names = [f.name for f in self.fields]
        derived = tuple(
            (names.index(f.spec.source), self.checks[names.index(f.spec.source)], f.spec.build)
            for f in self.fields
            if isinstance(f.spec, Derived)
        )
        plain = not derived and all(convert is None for _, convert in steps)

        def args(value: Wire) -> list[Any]:
            """The constructor's arguments from a wire array: its shape checked, nested
            arrays converted, derived fields computed (DecodeError or InvalidInput)."""
            if not isinstance(value, list):
                raise DecodeError(f"{what} must be an array")
            if len(value) != count:
                raise DecodeError(f"{what} must have {count} fields, has {len(value)}")
            if value[:n] != prefix:
                if n == 2:
                    raise DecodeError(
                        f"not a version {prefix[1]!r} {what}: {value[0]!r} {value[1]!r}"
                    )
                raise DecodeError(f"{what} must start with {prefix!r}")
            if plain:
                return value[n:]
            out: list[Any] = []
            i = n
            for width, convert in steps:
                item = value[i] if width == 1 else value[i : i + width]
                out.append(item if convert is None else convert(item))
                i += width
            for source, check, build in derived:
                check(out[source])
                out.append(build(out[source]))
            return out

        return args

    def _make_decoders(self) -> tuple[Callable[[Wire], Any], Callable[[bytes], Any]]:
        cls, args, what, max_size = self.cls, self.args, self.what, self.max_size
        unpack = codec.unpack

        def from_wire(value: Wire) -> Any:
            try:
                return cls(*args(value))
            except InvalidInput as err:
                raise DecodeError(str(err)) from None

        def decode(data: bytes) -> Any:
            value = unpack(data, max_size, what)
            try:
                return cls(*args(value))
            except InvalidInput as err:
                raise DecodeError(str(err)) from None

        def decodes_itself(value: Wire) -> Any:
            raise TypeError(f"{what} has fields not on the wire: it decodes itself")

        if self.local:
            return decodes_itself, decodes_itself
        return from_wire, decode

    def values(self, value: Wire) -> list[Any]:
        """The wire fields' values, each checked (for classes that decode themselves)."""
        try:
            out = self.args(value)
            for check, item in zip(self.checks, out, strict=False):
                check(item)
        except InvalidInput as err:
            raise DecodeError(str(err)) from None
        return out


def reader(hint: Any, what: str) -> Callable[[Wire], Any]:
    """Decode and check a wire value of the declared type ``hint`` on its own (DecodeError
    if it is bad): for parts of messages that travel alone, such as a round's votes."""
    spec, label = _resolve(hint)
    if spec is None:
        raise TypeError(f"{hint} does not say its wire type")
    convert, check = spec.decoder(what, label or what), spec.check(what, label or what)

    def read(value: Wire) -> Any:
        try:
            out = value if convert is None else convert(value)
            check(out)
        except InvalidInput as err:
            raise DecodeError(str(err)) from None
        return out

    return read


# -- the bases and decorators ------------------------------------------------------------

DECLARED: list[type[Struct]] = []


class Struct:
    """A declared class: a nested array, and the base of log bodies and messages. Its
    methods say what every declared class does; the decorators put the schema's own
    functions in their place."""

    __slots__ = ()
    SCHEMA: ClassVar[Schema]

    def __post_init__(self) -> None:
        raise TypeError(f"{type(self).__name__} is not declared (@struct, @body or @message)")

    def to_wire(self) -> list[Wire]:
        return self.SCHEMA.to_wire(self)

    @classmethod
    def from_wire(cls, value: Wire) -> Self:
        return cast(Self, cls.SCHEMA.from_wire(value))


class LogBody(Struct):
    """A log entry's body: ``[kind, ...fields]``."""

    __slots__ = ()
    KIND: ClassVar[str]


class Message(Struct):
    """A message on its own: ``[type, version, ...fields]``, signed under its domain."""

    __slots__ = ()
    TYPE: ClassVar[str]
    VERSION: ClassVar[int]
    DOMAIN: ClassVar[bytes]
    MAX_BYTES: ClassVar[int]

    def encode(self) -> bytes:
        return self.SCHEMA.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        return cast(Self, cls.SCHEMA.decode(data))

    def signed_parts(self, key: SigningKey) -> tuple[bytes, bytes]:
        """The encoding and ``key``'s signature of it under this type's domain."""
        data = self.encode()
        return data, key.sign(self.DOMAIN, data)


T = TypeVar("T", bound=type[Struct])


def _declare(cls: T, prefix: tuple[Wire, ...], what: str | None, max_size: int = 0) -> T:
    if "__dataclass_fields__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: put @dataclass(frozen=True, slots=True) under it")
    name = what or re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()
    schema = Schema(cls, prefix, name, max_size)
    cls.SCHEMA = schema
    own = cls.__dict__.get("__post_init__")
    cls.__post_init__ = _post_init(schema, own)  # type: ignore[method-assign, assignment]
    # The schema's functions stand in for the bases' methods (one call fewer on every
    # message); a method the class defines itself stays.
    direct: dict[str, Any] = {"to_wire": schema.to_wire, "from_wire": schema.from_wire}
    if issubclass(cls, Message):
        to_wire, pack = schema.to_wire, codec.pack
        direct |= {"encode": lambda obj: pack(to_wire(obj)), "decode": schema.decode}
    for method, function in direct.items():
        if method not in cls.__dict__:
            wrap = staticmethod if method in ("from_wire", "decode") else (lambda f: f)
            setattr(cls, method, wrap(function))
    DECLARED.append(cls)
    return cls


def _post_init(schema: Schema, own: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """Every field's check, then the class's own ``__post_init__``: one straight function,
    made the way ``dataclasses`` makes ``__init__`` (a loop over the checks costs twice as
    much). Its source holds only the fields' names; the checks are passed by name."""
    names: dict[str, Any] = {f"check_{i}": check for i, check in enumerate(schema.checks)}
    lines = [f"    check_{i}(self.{f.name})" for i, f in enumerate(schema.wire_fields)]
    if own is not None:
        names["own"] = own
        lines.append("    own(self)")
    exec("def __post_init__(self):\n" + "\n".join(lines or ["    pass"]), names)
    return cast(Callable[[Any], None], names["__post_init__"])


def struct(what: str | None = None) -> Callable[[T], T]:
    """Declare a nested array: ``[...fields]``."""
    return lambda cls: _declare(cls, (), what)


def body(kind: str, what: str | None = None) -> Callable[[T], T]:
    """Declare a log entry body: ``[kind, ...fields]``."""

    def declare(cls: T) -> T:
        cls.KIND = kind  # type: ignore[attr-defined]
        return _declare(cls, (kind,), what or kind)

    return declare


def message(
    type_: str,
    *,
    max_size: int,
    domain: bytes | None = None,
    version: int = 1,
    what: str | None = None,
) -> Callable[[T], T]:
    """Declare a message: ``[type, version, ...fields]``, at most ``max_size`` bytes, signed
    under ``domain``, which must be ``type/v<version>`` and a zero byte (protocol/SPEC.md §1).
    """
    if domain is not None and domain != f"{type_}/v{version}".encode() + b"\0":
        raise TypeError(f"{type_}: domain {domain!r} does not follow the rule")

    def declare(cls: T) -> T:
        cls.TYPE, cls.VERSION, cls.MAX_BYTES = type_, version, max_size  # type: ignore[attr-defined]
        if domain is not None:
            cls.DOMAIN = domain  # type: ignore[attr-defined]
        return _declare(cls, (type_, version), what, max_size)

    return declare
