"""``KEY=VALUE`` overrides of a scenario file, for ``--set`` and for the points of a sweep.

A key is a dotted path into the TOML document: ``trade.cross_share``, ``defaults.floor``;
an array element by index (``communities.2.members``) or every element with ``*``
(``lines.*.limit``). The value is a TOML value (``-50``, ``0.1``, ``"ring"``, ``true``).
Overrides are applied to the document before it is checked, so a bad value is refused as
if the file held it.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable
from typing import Any

from letsnode.sim.fields import ScenarioError


def parse_value(text: str, key: str) -> Any:
    """The TOML value written in ``text`` (``-50``, ``"ring"``, ``[1, 2]``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ScenarioError(
            f"--set {key}={text}: the value must be TOML (a number, true/false, "
            '"text" in quotes, or an array)'
        ) from None


def split_override(item: str) -> tuple[str, Any]:
    """``KEY=VALUE`` into the key and its TOML value."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {item!r}: expected KEY=VALUE, e.g. trade.cross_share=0.1")
    return key, parse_value(text.strip(), key)


def apply_overrides(
    document: dict[str, Any], items: Iterable[tuple[str, Any]], file: str
) -> dict[str, Any]:
    """A copy of ``document`` with each ``(key, value)`` set, in order."""
    out = copy.deepcopy(document)
    for key, value in items:
        _set(out, key.split("."), value, key, file)
    return out


def _set(node: Any, parts: list[str], value: Any, key: str, file: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        if head == "*":
            targets = list(range(len(node)))
        elif head.isdigit() and int(head) < len(node):
            targets = [int(head)]
        else:
            raise ScenarioError(
                f"{file}: --set {key}: {head!r} is not an index of an array of {len(node)} "
                "(use a number from 0, or *)"
            )
        for i in targets:
            if rest:
                _set(node[i], rest, value, key, file)
            else:
                node[i] = copy.deepcopy(value)
        return
    if not isinstance(node, dict):
        raise ScenarioError(f"{file}: --set {key}: {head!r} is below a value, not a table")
    if not rest:
        node[head] = copy.deepcopy(value)
        return
    child = node.setdefault(head, {})
    _set(child, rest, value, key, file)
