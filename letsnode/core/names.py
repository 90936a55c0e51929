"""Validation of the names people type: handles, community short names, unit codes, text."""

from __future__ import annotations

import re
import unicodedata

from letsnode.core.errors import InvalidInput

HANDLE_MAX = 32
NAME_MAX = 100
MEMO_MAX = 200

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
_UNIT = re.compile(r"[A-Z][A-Z0-9]{0,11}")


def check_slug(text: str, what: str = "handle") -> str:
    """A handle or community short name: 1–32 lowercase letters, digits and inner dashes."""
    if not isinstance(text, str) or _SLUG.fullmatch(text) is None:
        raise InvalidInput(
            f"{what} {text!r} must be 1 to {HANDLE_MAX} lowercase letters, digits or dashes, "
            "starting and ending with a letter or digit"
        )
    return text


def check_unit(text: str) -> str:
    """A unit code such as ``HOUR`` or ``EUR``: 1–12 capital letters and digits."""
    if not isinstance(text, str) or _UNIT.fullmatch(text) is None:
        raise InvalidInput(
            f"unit {text!r} must be 1 to 12 capital letters or digits, starting with a letter"
        )
    return text


def check_text(text: str, what: str, max_len: int, *, allow_empty: bool = False) -> str:
    """Free text (names, memos): no control characters, at most ``max_len`` characters."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be text")
    if not text and not allow_empty:
        raise InvalidInput(f"{what} is empty")
    if len(text) > max_len:
        raise InvalidInput(f"{what} is {len(text)} characters long, the limit is {max_len}")
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise InvalidInput(f"{what} contains a control character ({ord(ch):#x})")
    return text
