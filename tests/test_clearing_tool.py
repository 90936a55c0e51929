"""``letsnode clearing solve``: reading obligations, the report, --json and --out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from letsnode.cli import clearing_solve as clearing_tool
from letsnode.cli.clearing_solve import clearing

CYCLE_CSV = "debtor,creditor,amount\nann,bob,10\nbob,cat,7\ncat,ann,5.5\nann,dan,1\n"


def run(tmp_path: Path, content: str | bytes, *args: str) -> Result:
    source = tmp_path / "obligations.csv"
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, encoding="utf-8")
    return CliRunner().invoke(clearing, ["solve", str(source), *args], catch_exceptions=False)


def error_line(tmp_path: Path, content: str | bytes, *args: str) -> str:
    """The one stderr line of a failed run, with the temporary path shortened."""
    result = run(tmp_path, content, *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    return result.stderr.replace(str(tmp_path / "obligations.csv"), "OBLIGATIONS.csv").rstrip("\n")


def test_the_report_names_every_figure_at_the_scale(tmp_path: Path) -> None:
    result = run(tmp_path, CYCLE_CSV)
    assert result.exit_code == 0
    assert result.stderr == ""
    masked = re.sub(r"(?m)^seconds +\d+\.\d{3}$", "seconds            <masked>", result.stdout)
    assert masked == (
        "obligations        4\n"
        "participants       4\n"
        "total              23.50\n"
        "net internal debt  5.50\n"
        "cleared            16.50\n"
        "cleared percent    70.21%\n"
        "seconds            <masked>\n"
    )


def test_json_prints_one_object_with_stable_keys(tmp_path: Path) -> None:
    result = run(tmp_path, CYCLE_CSV, "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1
    report = json.loads(result.stdout)
    seconds = report.pop("seconds")
    assert isinstance(seconds, float)
    assert seconds >= 0
    assert report == {
        "obligations": 4,
        "participants": 4,
        "scale": 2,
        "total": "23.50",
        "total_minor": 2350,
        "net_internal_debt": "5.50",
        "net_internal_debt_minor": 550,
        "cleared": "16.50",
        "cleared_minor": 1650,
        "cleared_percent": 70.21,
    }


def test_scale_sets_the_decimal_places_of_amounts(tmp_path: Path) -> None:
    result = run(
        tmp_path, "debtor,creditor,amount\nann,bob,3\nbob,ann,2\n", "--scale", "0", "--json"
    )
    report = json.loads(result.stdout)
    assert (report["total"], report["cleared"], report["cleared_minor"]) == ("5", "4", 4)


def test_out_writes_the_setoff_of_each_obligation_in_input_order(tmp_path: Path) -> None:
    out = tmp_path / "setoff.csv"
    result = run(tmp_path, CYCLE_CSV, "--out", str(out))
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8") == (
        "debtor,creditor,amount,setoff,remaining\n"
        "ann,bob,10.00,5.50,4.50\n"
        "bob,cat,7.00,5.50,1.50\n"
        "cat,ann,5.50,5.50,0.00\n"
        "ann,dan,1.00,0.00,1.00\n"
    )
    assert list(tmp_path.glob("*.partial")) == []


def test_a_header_only_file_clears_nothing(tmp_path: Path) -> None:
    report = json.loads(run(tmp_path, "debtor,creditor,amount\n", "--json").stdout)
    assert report["obligations"] == 0
    assert (report["total"], report["cleared"], report["cleared_percent"]) == ("0.00", "0.00", 0.0)


def test_blank_lines_and_a_byte_order_mark_are_accepted(tmp_path: Path) -> None:
    content = "\ufeffdebtor,creditor,amount\nann,bob,1\n\nbob,ann,1\n\n".encode()
    report = json.loads(run(tmp_path, content, "--json").stdout)
    assert (report["obligations"], report["cleared"]) == (2, "2.00")


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        (
            "bob,cat,1.505",
            "amount '1.505' has too many decimal places: this unit allows at most 2 decimal places",
        ),
        ("bob,cat,0", "amount '0' must be greater than zero"),
        ("bob,cat,-2", "amount '-2' must be greater than zero"),
        ("bob,cat,1e3", "amount '1e3' is not a plain decimal number"),
        ("bob,cat,", "amount is empty"),
        ("bob,bob,2", "debtor and creditor are both 'bob'"),
        (",cat,2", "debtor is empty"),
        ("bob, cat,2", "creditor ' cat' has leading or trailing spaces"),
        ("bob,cat", "expected 3 fields debtor,creditor,amount, got 2"),
        ("bob,cat,2,x", "expected 3 fields debtor,creditor,amount, got 4"),
        (
            "bob,cat,92233720368547758.08",
            "amount '92233720368547758.08' does not fit in a signed 64-bit",
        ),
    ],
)
def test_a_bad_row_is_reported_with_its_line_number(
    tmp_path: Path, row: str, complaint: str
) -> None:
    content = f"debtor,creditor,amount\nann,bob,10\n\n{row}\nann,cat,1\n"
    line = error_line(tmp_path, content)
    assert line.startswith(f"error: OBLIGATIONS.csv line 4: {complaint}")
    assert line.endswith(" [invalid_input]")


def test_a_total_past_int64_is_reported_where_it_overflows(tmp_path: Path) -> None:
    content = "debtor,creditor,amount\nann,bob,92233720368547758.07\nbob,ann,0.01\n"
    assert error_line(tmp_path, content) == (
        "error: OBLIGATIONS.csv line 3: the total of all obligations passes "
        "92233720368547758.07, the largest amount a ledger holds [invalid_input]"
    )


def test_a_wrong_header_is_refused(tmp_path: Path) -> None:
    assert error_line(tmp_path, "from,to,amount\nann,bob,1\n") == (
        "error: OBLIGATIONS.csv line 1: the header must be exactly debtor,creditor,amount, "
        "got 'from,to,amount' [invalid_input]"
    )


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert error_line(tmp_path, "") == (
        "error: OBLIGATIONS.csv is empty: expected the header debtor,creditor,amount "
        "[invalid_input]"
    )


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    line = error_line(tmp_path, b"debtor,creditor,amount\n\xff\xfe,bob,1\n")
    assert line.startswith("error: OBLIGATIONS.csv: not UTF-8 text")


def test_a_missing_file_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(clearing, ["solve", str(tmp_path / "absent.csv")])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path / 'absent.csv'}: No such file or directory [io_error]\n"
    )


def test_nothing_is_written_to_out_when_the_input_is_bad(tmp_path: Path) -> None:
    out = tmp_path / "setoff.csv"
    result = run(tmp_path, "debtor,creditor,amount\nann,bob,x\n", "--out", str(out))
    assert result.exit_code == 1
    assert not out.exists()


def test_progress_never_reaches_stdout_nor_a_non_terminal_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clearing_tool, "PROGRESS_MIN_ROWS", 1)
    as_json = run(tmp_path, CYCLE_CSV, "--json")
    assert as_json.stderr == ""
    assert json.loads(as_json.stdout)["cleared"] == "16.50"
    report = run(tmp_path, CYCLE_CSV)
    assert report.stderr == ""
    assert report.stdout.startswith("obligations        4\n")
