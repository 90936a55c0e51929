"""What a clearing round did to each credit line, for operators: numbers, JSON and a plot.

Everything is computed from what the node stored about the round (``RoundRow``): the
snapshot of signed statements and the proposal. Money stays in integer minor units;
utilisation (debt over the debtor's ceiling on the line) is a float for display only.

``line_uses`` reads the statements without checking their signatures again (they were
checked when the round collected them): a report never fails on a stored round.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letsnode.core.amounts import format_amount
from letsnode.core.clearing.rounds import line_debts, stated_lines
from letsnode.core.errors import DecodeError
from letsnode.core.wire import codec
from letsnode.core.wire.clearing import Proposal, Statement
from letsnode.core.wire.codec import Wire
from letsnode.store.clearing_store import RoundRow
from letsnode.views.shapes import iso_time

PLOT_WIDTH_IN = 6.4
PLOT_DPI = 125  # 800 pixels wide
# matplotlib shares caches (fonts, text layout) between figures: draw one at a time.
_DRAWING = threading.Lock()


@dataclass(frozen=True, slots=True)
class LineUse:
    """One line of the round's snapshot: ``debtor`` owes ``creditor`` on it."""

    line_id: bytes
    name: str  # "valencia → thessaloniki": debtor's short name, then the creditor's
    debtor: bytes
    creditor: bytes
    debt_before: int  # what both sides agree is owed (the smaller of their two statements)
    cleared: int  # what the proposal clears on this line (0 if nothing)
    applied: bool  # whether the round committed (else ``cleared`` was only proposed)
    debt_after: int  # debt_before - cleared if applied, else debt_before
    limit: int  # the debtor side's ceiling: how much the debtor may owe on this line

    @property
    def utilisation_before(self) -> float:
        return self.debt_before / self.limit if self.limit else 0.0

    @property
    def utilisation_after(self) -> float:
        return self.debt_after / self.limit if self.limit else 0.0


def snapshot_statements(row: RoundRow) -> list[Statement]:
    """The statements of the round's snapshot (none if the node did not keep one)."""
    if row.snapshot is None:
        return []
    return [
        Statement.decode(codec.expect_bytes(codec.expect_list(pair, 2, "statement")[0], "data"))
        for pair in _snapshot_pairs(row.snapshot)
    ]


def _snapshot_pairs(snapshot: bytes) -> list[Wire]:
    value = codec.unpack(snapshot, len(snapshot), "snapshot")
    if not isinstance(value, list):
        raise DecodeError("a snapshot is an array of signed statements")
    return value


def round_proposal(row: RoundRow) -> Proposal | None:
    return None if row.proposal is None else Proposal.decode(row.proposal)


def line_uses(row: RoundRow) -> list[LineUse]:
    """Every line both of whose sides stated it in the snapshot, sorted by line id."""
    statements = snapshot_statements(row)
    shorts = {s.community_id: s.short for s in statements}
    proposal = round_proposal(row)
    proposed = {} if proposal is None else {x.line_id: x.amount for x in proposal.items}
    applied = row.state == "committed"
    agreed = {d.line_id: d for d in line_debts(statements)}
    out = []
    for line_id, (x, vx), (y, vy) in stated_lines(statements):
        debt = agreed.get(line_id)
        if debt is not None:
            debtor, creditor, before = debt.debtor, debt.creditor, debt.amount
        else:  # the sides disagree (or the line is not at par): no debt the round can see
            debtor, creditor = (x, y) if vx.balance >= vy.balance else (y, x)
            before = 0
        ceiling = (vx if debtor == x else vy).ceiling
        cleared = proposed.get(line_id, 0)
        out.append(
            LineUse(
                line_id=line_id,
                name=f"{shorts[debtor]} → {shorts[creditor]}",
                debtor=debtor,
                creditor=creditor,
                debt_before=before,
                cleared=cleared,
                applied=applied,
                debt_after=before - cleared if applied else before,
                limit=ceiling,
            )
        )
    return out


def round_summary(row: RoundRow, me: bytes, scale: int, unit: str) -> dict[str, Any]:
    """A round as stable JSON (the wallet's Clearing page and ``clearing rounds --json``).

    ``cleared`` is the round's total set-off (proposed, for a round that did not commit);
    ``cleared_here`` is the part of it that was our own debt to our partners.
    """
    proposal = round_proposal(row)
    here = 0 if proposal is None else sum(x.amount for x in proposal.items if x.debtor == me)
    communities = 0 if row.snapshot is None else len(_snapshot_pairs(row.snapshot))
    return {
        "round": row.nonce.hex(),
        "round_id": None if row.round_id is None else row.round_id.hex(),
        "role": row.role,
        "state": row.state,
        "coordinator": row.coordinator.hex(),
        "cleared": format_amount(row.cleared, scale),
        "cleared_minor": row.cleared,
        "cleared_here": format_amount(here, scale),
        "cleared_here_minor": here,
        "unit": unit,
        "communities": communities,
        "lines": 0 if proposal is None else len(proposal.items),
        "reason": row.reason,
        "started": iso_time(row.created_ms),
        "decided": None if row.decided_ms is None else iso_time(row.decided_ms),
    }


def _title(row: RoundRow, scale: int | None, unit: str) -> str:
    amount = str(row.cleared) if scale is None else format_amount(row.cleared, scale)
    amount = f"{amount} {unit}".strip()
    if row.state == "committed":
        return f"Clearing round {row.nonce.hex()[:12]}\n{amount} cleared"
    head = f"Clearing round {row.nonce.hex()[:12]} ({row.state})"
    if row.cleared:
        return f"{head}\n{amount} proposed, nothing cleared"
    return f"{head}\nnothing cleared"


def _money_of(row: RoundRow) -> tuple[int | None, str]:
    """The coordinator's scale and unit, from its statement (it is always in the snapshot)."""
    statements = snapshot_statements(row)
    for statement in statements:
        if statement.community_id == row.coordinator:
            return statement.scale, statement.unit
    return None, ""


def plot_png(row: RoundRow, *, scale: int | None = None, unit: str | None = None) -> bytes:
    """A horizontal grouped bar chart: each line's utilisation before and after the round.

    The title gives the amount cleared, in ``scale`` and ``unit`` (by default the
    coordinator's, from its statement). Uses matplotlib's object API with the Agg canvas:
    no pyplot, no global state, safe in a worker thread.
    """
    if scale is None or unit is None:
        own_scale, own_unit = _money_of(row)
        scale = own_scale if scale is None else scale
        unit = own_unit if unit is None else unit
    uses = line_uses(row)
    with _DRAWING:
        return _draw(row, uses, scale, unit)


def _draw(row: RoundRow, uses: list[LineUse], scale: int | None, unit: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    height = 1.6 + 0.55 * max(len(uses), 2)
    fig = Figure(figsize=(PLOT_WIDTH_IN, height), dpi=PLOT_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(_title(row, scale, unit), fontsize=11)
    if not uses:
        ax.text(
            0.5,
            0.5,
            "no credit line carried a debt in this round's snapshot"
            if row.snapshot is not None
            else "this node kept no snapshot of this round",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="#57606a",
        )
        ax.set_axis_off()
    else:
        positions = list(range(len(uses)))
        bar = 0.38
        before = [100 * u.utilisation_before for u in uses]
        after = [100 * u.utilisation_after for u in uses]
        after_label = "after" if row.state == "committed" else "after (round not applied)"
        bars_before = ax.barh(
            [p - bar / 2 for p in positions], before, bar, label="before", color="#d0893b"
        )
        bars_after = ax.barh(
            [p + bar / 2 for p in positions], after, bar, label=after_label, color="#0b6e4f"
        )
        ax.bar_label(bars_before, fmt="%.0f%%", padding=2, fontsize=8)
        ax.bar_label(bars_after, fmt="%.0f%%", padding=2, fontsize=8)
        ax.set_yticks(positions, [u.name for u in uses])
        ax.invert_yaxis()  # first line at the top
        ax.xaxis.set_major_formatter(PercentFormatter(100))
        ax.set_xlim(0, max(100.0, *before, *after) * 1.12)
        ax.set_xlabel("utilisation of the debtor's credit on the line")
        ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def plot_to_file(
    row: RoundRow, path: Path | str, *, scale: int | None = None, unit: str | None = None
) -> None:
    Path(path).write_bytes(plot_png(row, scale=scale, unit=unit))
