"""The layers hold: letsnode/core is pure (it imports only itself, a few pure libraries and
pure stdlib), and every import contract of ``.importlinter`` is kept."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "letsnode" / "core"

ALLOWED = {
    # our own pure core
    "letsnode.core",
    # pure third-party libraries (encoding, crypto, numerics, solver)
    "msgpack",
    "nacl",
    "numpy",
    "ortools",
    # pure standard library
    "__future__",
    "abc",
    "bisect",
    "collections",
    "contextlib",
    "contextvars",
    "copy",
    "dataclasses",
    "enum",
    "functools",
    "hashlib",
    "heapq",
    "itertools",
    "math",
    "operator",
    "re",
    "typing",
    "unicodedata",
}


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, "letsnode.core"
            else:
                yield node.lineno, node.module or ""


def is_allowed(module: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in ALLOWED)


def test_core_imports_nothing_from_the_shell_or_io():
    offences = [
        f"{path.relative_to(CORE.parent.parent)}:{line} imports {module}"
        for path in sorted(CORE.rglob("*.py"))
        for line, module in imported_modules(path)
        if not is_allowed(module)
    ]
    assert offences == []


def test_the_check_itself_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlite3\nfrom letsnode.store.db import connect\nimport trio\n")
    found = [m for _, m in imported_modules(bad) if not is_allowed(m)]
    assert found == ["sqlite3", "letsnode.store.db", "trio"]


# -- the import contracts of the whole package (.importlinter) -----------------------------

ROOT = CORE.parent.parent
# the command of the import-linter package, beside this interpreter (the venv's bin/)
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", str(ROOT / ".importlinter")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_import_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_catch_an_import_that_points_up(tmp_path):
    shutil.copytree(
        ROOT / "letsnode", tmp_path / "letsnode", ignore=shutil.ignore_patterns("static")
    )
    db = tmp_path / "letsnode" / "store" / "db.py"
    db.write_text(db.read_text() + "\nfrom letsnode.web import app  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "letsnode.store.db -> letsnode.web.app" in result.stdout
