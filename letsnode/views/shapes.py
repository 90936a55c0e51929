"""What the CLI (and later the API) shows: stable JSON shapes and plain-text tables.

The JSON shapes are documented in README.md ("JSON output"); changing a key is a breaking
change. Amounts appear twice: as a decimal string in the community's unit and as integer
minor units (``*_minor``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from letsnode.core.amounts import format_amount
from letsnode.core.rules.state import TRANSIT_FLOOR, Account
from letsnode.core.wire.entries import Genesis
from letsnode.store.ledger_store import PaymentRow


def iso_time(timestamp_ms: int) -> str:
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(minor: int | None, scale: int) -> str | None:
    return None if minor is None else format_amount(minor, scale)


def community_json(g: Genesis) -> dict[str, Any]:
    return {
        "id": g.community_id.hex(),
        "name": g.name,
        "short": g.short,
        "unit": g.unit,
        "scale": g.scale,
        "floor": money(g.floor, g.scale),
        "floor_minor": g.floor,
        "ceiling": money(g.ceiling, g.scale),
        "ceiling_minor": g.ceiling,
    }


def account_json(a: Account, scale: int) -> dict[str, Any]:
    return {
        "handle": a.handle,
        "key": a.key.hex(),
        "kind": a.kind,
        "status": a.status,
        "balance": money(a.balance, scale),
        "balance_minor": a.balance,
        "floor": money(a.floor, scale),
        "floor_minor": a.floor,
        "ceiling": money(a.ceiling, scale),
        "ceiling_minor": a.ceiling,
    }


def payment_json(p: PaymentRow, scale: int) -> dict[str, Any]:
    return {
        "seq": p.seq,
        "time": iso_time(p.timestamp_ms),
        "timestamp_ms": p.timestamp_ms,
        "payer": p.payer,
        "payee": p.payee,
        "amount": money(p.amount, scale),
        "amount_minor": p.amount,
        "memo": p.memo,
    }


def table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Plain aligned columns; ``right`` holds the indexes of right-aligned columns."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def accounts_table(accounts: list[Account], scale: int) -> list[str]:
    rows = [
        [
            a.handle,
            a.kind,
            a.status,
            format_amount(a.balance, scale),
            "none" if a.floor <= TRANSIT_FLOOR else format_amount(a.floor, scale),
            "none" if a.ceiling is None else format_amount(a.ceiling, scale),
        ]
        for a in accounts
    ]
    return table(["handle", "kind", "status", "balance", "floor", "ceiling"], rows, {3, 4, 5})


def history_table(payments: list[PaymentRow], scale: int) -> list[str]:
    rows = [
        [
            str(p.seq),
            iso_time(p.timestamp_ms),
            p.payer,
            p.payee,
            format_amount(p.amount, scale),
            p.memo,
        ]
        for p in payments
    ]
    return table(["seq", "time", "payer", "payee", "amount", "memo"], rows, {0, 4})
