"""letsnode/core is pure: it imports only itself, a few pure libraries and pure stdlib."""

import ast
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
