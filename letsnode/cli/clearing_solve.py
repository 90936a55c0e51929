"""``letsnode clearing solve``: the maximum set-off of a CSV file of obligations.

A thin shell over ``letsnode.core.clearing.engine``: read and check the CSV (errors name the
line), run the pure engine, print a report (human or JSON) and optionally write the
set-off per obligation. The main CLI adds the ``clearing`` group with
``main.add_command(clearing)``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from letsnode.core.amounts import INT64_MAX, MAX_SCALE, format_amount, parse_amount
from letsnode.core.clearing.engine import ClearingResult, Obligation, solve
from letsnode.core.errors import InvalidInput
from letsnode.views.progress import counting_progress

HEADER = ["debtor", "creditor", "amount"]
OUT_HEADER = ["debtor", "creditor", "amount", "setoff", "remaining"]
PROGRESS_MIN_ROWS = 50_000  # smaller inputs finish too fast to need a progress bar
_PROGRESS_STEP = 10_000  # rows between progress bar updates

Report = Callable[[int], None]  # how many rows are done so far


@click.group(name="clearing")
def clearing() -> None:
    """Multilateral set-off (debt clearing) of obligations between participants."""


@clearing.command(name="solve")
@click.argument("obligations_csv", metavar="OBLIGATIONS.csv", type=click.Path(path_type=Path))
@click.option(
    "--scale",
    type=click.IntRange(0, MAX_SCALE),
    default=2,
    show_default=True,
    help="Decimal places of the unit: amounts are exact at this scale.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a report.")
@click.option(
    "--out",
    metavar="SETOFF.csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write debtor,creditor,amount,setoff,remaining per obligation, in input order.",
)
def solve_command(obligations_csv: Path, scale: int, as_json: bool, out: Path | None) -> None:
    """Find the largest set-off of OBLIGATIONS.csv that leaves every net position unchanged.

    OBLIGATIONS.csv has the header debtor,creditor,amount; amounts are decimals in the
    unit (at most --scale decimal places), each greater than zero.
    """
    try:
        lines = _count_lines(obligations_csv)
        shown = not as_json and lines > PROGRESS_MIN_ROWS
        with _stage(shown, "reading", "rows", max(lines - 1, 0)) as progress:
            obligations = read_obligations(obligations_csv, scale, progress)
        with _stage(shown, "solving", "obligations", None):
            started = time.perf_counter()
            result = solve(obligations)
            seconds = time.perf_counter() - started
        if out is not None:
            with _stage(shown, "writing", "rows", len(obligations)) as progress:
                write_setoff(out, obligations, result, scale, progress)
    except InvalidInput as err:
        _fail(err.message, err.code)
    except OSError as err:
        _fail(_os_error_text(err), "io_error")
    report = _report(len(obligations), result, scale, seconds)
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(_human_report(report))


def _fail(message: str, code: str) -> NoReturn:
    """One line on stderr in the form the main CLI uses, then exit code 1."""
    click.echo(f"error: {message} [{code}]", err=True)
    raise click.exceptions.Exit(1)


def read_obligations(path: Path, scale: int, report: Report) -> list[Obligation]:
    """Read and check ``path``; amounts become minor units at ``scale``.

    Raises InvalidInput naming the file and line of the first bad row (wrong header,
    wrong number of fields, empty or padded name, debtor = creditor, bad amount, or a
    total of all amounts past int64, text that is not UTF-8), and OSError from reading.
    Blank lines are skipped.
    """
    name = click.format_filename(path)
    obligations: list[Obligation] = []
    total = 0
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = csv.reader(file, strict=True)
        try:
            header = next(rows, None)
            if header is None:
                raise InvalidInput(f"{name} is empty: expected the header {','.join(HEADER)}")
            if header != HEADER:
                raise InvalidInput(
                    f"{name} line 1: the header must be exactly {','.join(HEADER)}, "
                    f"got {','.join(header)!r}"
                )
            for row in rows:
                if not row:
                    continue
                try:
                    obligation = _obligation(row, scale)
                except InvalidInput as err:
                    raise InvalidInput(f"{name} line {rows.line_num}: {err.message}") from None
                total += obligation.amount
                if total > INT64_MAX:
                    raise InvalidInput(
                        f"{name} line {rows.line_num}: the total of all obligations passes "
                        f"{format_amount(INT64_MAX, scale)}, the largest amount a ledger holds"
                    )
                obligations.append(obligation)
                if len(obligations) % _PROGRESS_STEP == 0:
                    report(len(obligations))
        except csv.Error as err:
            raise InvalidInput(f"{name} line {rows.line_num}: not valid CSV: {err}") from None
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{name}: not UTF-8 text (somewhere after line {rows.line_num})"
            ) from None
    return obligations


def _obligation(row: list[str], scale: int) -> Obligation:
    """One CSV row as an Obligation; InvalidInput says what is wrong with it."""
    if len(row) != len(HEADER):
        raise InvalidInput(f"expected 3 fields debtor,creditor,amount, got {len(row)}")
    debtor, creditor, amount = row
    for role, value in (("debtor", debtor), ("creditor", creditor)):
        if value == "":
            raise InvalidInput(f"{role} is empty")
        if value != value.strip():
            raise InvalidInput(f"{role} {value!r} has leading or trailing spaces")
    if debtor == creditor:
        raise InvalidInput(f"debtor and creditor are both {debtor!r}")
    return Obligation(debtor, creditor, parse_amount(amount, scale))


def write_setoff(
    path: Path,
    obligations: list[Obligation],
    result: ClearingResult,
    scale: int,
    report: Report,
) -> None:
    """Write one row per obligation (input order) to ``path``, replacing it atomically
    so a failed write leaves no partial file. Amounts are decimals at ``scale``."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(OUT_HEADER)
            for done, (ob, setoff) in enumerate(zip(obligations, result.setoff, strict=True), 1):
                writer.writerow(
                    [
                        ob.debtor,
                        ob.creditor,
                        format_amount(ob.amount, scale),
                        format_amount(setoff, scale),
                        format_amount(ob.amount - setoff, scale),
                    ]
                )
                if done % _PROGRESS_STEP == 0:
                    report(done)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _report(count: int, result: ClearingResult, scale: int, seconds: float) -> dict[str, Any]:
    """The figures printed by ``solve``, keyed as in the ``--json`` output."""
    return {
        "obligations": count,
        "participants": len(result.participants),
        "scale": scale,
        "total": format_amount(result.total, scale),
        "total_minor": result.total,
        "net_internal_debt": format_amount(result.net_internal_debt, scale),
        "net_internal_debt_minor": result.net_internal_debt,
        "cleared": format_amount(result.cleared, scale),
        "cleared_minor": result.cleared,
        "cleared_percent": round(result.cleared_percent, 2),
        "seconds": round(seconds, 3),
    }


def _human_report(report: dict[str, Any]) -> str:
    lines = [
        ("obligations", str(report["obligations"])),
        ("participants", str(report["participants"])),
        ("total", report["total"]),
        ("net internal debt", report["net_internal_debt"]),
        ("cleared", report["cleared"]),
        ("cleared percent", f"{report['cleared_percent']:.2f}%"),
        ("seconds", f"{report['seconds']:.3f}"),
    ]
    return "\n".join(f"{label:<18} {value}" for label, value in lines)


def _count_lines(path: Path) -> int:
    """Number of newline bytes in ``path`` (cheap; used to size the progress bar)."""
    count = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _os_error_text(err: OSError) -> str:
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or err}"


def _stage(
    shown: bool, label: str, unit: str, total: int | None
) -> contextlib.AbstractContextManager[Report]:
    """A progress bar on stderr for one stage if ``shown`` (and stderr is a terminal)."""
    if shown:
        return counting_progress(label, unit, total)
    return contextlib.nullcontext(_ignore_progress)


def _ignore_progress(done: int) -> None:
    """Progress report that goes nowhere."""
