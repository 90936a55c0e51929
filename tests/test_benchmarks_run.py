"""Every benchmark script still runs (at toy sizes) and ends with its JSON line: the
figures in the README come from commands that work. Not a timing test: nothing here
compares a time with a threshold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

TOY = {
    "bench_verify.py": ["--entries", "300", "--accounts", "20", "--sample", "200"],
    "bench_ingest.py": [
        *["--accounts", "20", "--light", "20", "--saturated", "200", "--submitters", "4"],
        *["--http-orders", "40", "--http-payers", "2"],
    ],
    "bench_federation.py": ["--samples", "3", "--seconds", "1", "--payers", "2", "--local", "20"],
    "bench_clearing.py": ["--sizes", "200"],
    "bench_wire.py": ["--rounds", "1", "--calls", "200"],
    "bench_simulate.py": [
        *["--payments", "400", "--communities", "6", "--members", "20", "--sweep-days", "0.1"],
    ],
    "bench_http_pay.py": ["--orders", "40", "--payers", "2", "--repeat", "1", "--compare"],
}


def test_every_benchmark_script_is_listed() -> None:
    assert sorted(TOY) == sorted(p.name for p in SCRIPTS.glob("bench_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TOY))
def test_a_benchmark_runs_at_toy_size_and_prints_its_json_line(script: str, tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *TOY[script]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(figures, dict) and figures
