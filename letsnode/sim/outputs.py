"""Writing a run's files: ``summary.json``, ``metrics.csv`` (and, for the clearing
validation, ``obligations.csv``, the debts the final round saw, in the format of
``letsnode clearing solve``). Byte for byte the same for the same scenario and seed.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from letsnode.core.amounts import format_amount
from letsnode.sim.metrics import COLUMNS
from letsnode.sim.runner import RunData


def summary_text(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n"


def metrics_text(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def obligations_text(data: RunData) -> str | None:
    if data.obligations is None:
        return None
    scale = data.scenario.communities[0].scale
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["debtor", "creditor", "amount"])
    for debtor, creditor, amount in data.obligations:
        writer.writerow([debtor, creditor, format_amount(amount, scale)])
    return out.getvalue()


def write_run(out: Path, data: RunData, summary: dict[str, Any]) -> list[Path]:
    """Write the files of a run into ``out`` (created); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    files = {"summary.json": summary_text(summary), "metrics.csv": metrics_text(data.rows)}
    obligations = obligations_text(data)
    if obligations is not None:
        files["obligations.csv"] = obligations
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
