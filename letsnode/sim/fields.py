"""Reading one TOML table with checks: each value's type and range, unknown keys refused.

Every refusal is a ``ScenarioError`` (``invalid_input``) that names the file, the key (as a
dotted path, arrays by index: ``communities[2].floor``) and what is wrong, in one line.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from letsnode.core.errors import InvalidInput


class ScenarioError(InvalidInput):
    """A scenario or sweep file that cannot be run: the message names file and key."""


_MISSING: Any = object()


class Table:
    """A TOML table being read: ``get_*`` take a key (and a default, else it is required);
    ``done()`` refuses keys nobody asked for (a typo must not pass silently)."""

    def __init__(self, data: dict[str, Any], path: str, file: str) -> None:
        self.data = data
        self.path = path
        self.file = file
        self._seen: set[str] = set()

    def error(self, key: str | None, problem: str) -> ScenarioError:
        where = self.where(key)
        return ScenarioError(f"{self.file}: {where + ': ' if where else ''}{problem}")

    def where(self, key: str | None) -> str:
        if key is None:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "is missing")
        return default

    def get_str(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"must be text, got {_show(value)}")
        if choices and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def get_bool(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_show(value)}")
        return value

    def get_int(
        self, key: str, default: Any = _MISSING, lo: int | None = None, hi: int | None = None
    ) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number, got {_show(value)}")
        self._range(key, value, lo, hi)
        return value

    def get_float(
        self,
        key: str,
        default: Any = _MISSING,
        lo: float | None = None,
        hi: float | None = None,
        above: float | None = None,
    ) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {_show(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.error(key, f"must be a finite number, got {value}")
        if above is not None and number <= above:
            raise self.error(key, f"must be greater than {above:g}, got {value}")
        self._range(key, number, lo, hi)
        return number

    def get_amount(
        self, key: str, scale: int, unit: str, default: Any = _MISSING, positive: bool = False
    ) -> int:
        """A decimal amount in ``unit`` (number or text), exact at ``scale``: minor units."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(key, f"must be an amount of {unit}, got {_show(value)}")
        try:
            exact = Decimal(str(value))
        except InvalidOperation:
            raise self.error(key, f"must be an amount of {unit}, got {value!r}") from None
        minor = exact * (10**scale)
        if not exact.is_finite() or minor != minor.to_integral_value():
            raise self.error(
                key, f"must be an amount of {unit} with at most {scale} decimals, got {value!r}"
            )
        if abs(minor) >= 2**62:
            raise self.error(key, f"is too large an amount: {value!r}")
        if positive and minor <= 0:
            raise self.error(key, f"must be more than zero {unit}, got {value!r}")
        return int(minor)

    def get_table(self, key: str, required: bool = False) -> Table:
        value = self.raw(key, _MISSING if required else {})
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {_show(value)}")
        return Table(value, self.where(key), self.file)

    def get_tables(self, key: str) -> list[Table]:
        value = self.raw(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"must be an array of tables ([[{key}]]), got {_show(value)}")
        return [Table(v, f"{self.where(key)}[{i}]", self.file) for i, v in enumerate(value)]

    def get_strs(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self.raw(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be an array of text, got {_show(value)}")
        return list(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise self.error(unknown[0], "is not a key this table knows (a typo?)")

    def _range(self, key: str, value: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and value < lo:
            raise self.error(key, f"must be at least {lo:g}, got {value:g}")
        if hi is not None and value > hi:
            raise self.error(key, f"must be at most {hi:g}, got {value:g}")


def _show(value: object) -> str:
    kind = {dict: "a table", list: "an array", str: "text", bool: "a boolean"}.get(type(value))
    return kind if kind else repr(value)
