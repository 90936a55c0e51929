"""Shared by the simulator's tests: the repository's scenario files, and small versions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from letsnode.sim.parse import load_scenario
from letsnode.sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
SIMULATIONS = ROOT / "simulations"


def scenario(name: str, *overrides: str, days: float | None = None) -> Scenario:
    return load_scenario(SIMULATIONS / name, overrides=overrides, days=days)


def letsnode(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``letsnode ARGS`` in a fresh interpreter (its own hash seed, its own trio state)."""
    return subprocess.run(
        [sys.executable, "-m", "letsnode", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
