"""The wallet's files (pages, scripts, styles, locales) are declared as package data, so an
installed letsnode (a wheel, not this checkout) serves the same wallet."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_file_of_the_package_is_code_or_declared_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = config["tool"]["setuptools"]["package-data"]
    covered: set[Path] = set()
    for package, patterns in declared.items():
        folder = ROOT.joinpath(*package.split("."))
        for pattern in patterns:
            covered.update(folder.glob(pattern))
    data = {
        path
        for path in (ROOT / "letsnode").rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }
    assert data, "the wallet's files were not found"
    assert sorted(map(str, data - covered)) == []
