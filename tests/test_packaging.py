"""The wallet's files (pages, scripts, styles, locales) are declared as package data, so an
installed letsnode (a wheel, not this checkout) serves the same wallet: a wheel built from
the checkout is installed into a fresh venv and its node serves the pages."""

from __future__ import annotations

import signal
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import httpx
import pytest

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


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_a_built_wheel_installs_a_node_that_serves_the_wallet(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)])
    (wheel,) = wheels.glob("letsnode-*.whl")
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    python, letsnode = fresh / "bin" / "python", fresh / "bin" / "letsnode"
    # The dependencies come from this interpreter's site-packages (appended after the fresh
    # venv's own, so letsnode itself is the wheel's; the checkout is not on the path).
    site = run([str(python), "-c", "import site; print(site.getsitepackages()[0])"]).stdout
    deps = [p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir()]
    (Path(site.strip()) / "letsnode-deps.pth").write_text("\n".join(map(str, deps)) + "\n")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)])
    where = run([str(python), "-c", "import letsnode; print(letsnode.__file__)"], cwd=tmp_path)
    assert where.stdout.startswith(str(fresh)), where.stdout

    data = tmp_path / "data"
    init = [str(letsnode), "--data", str(data), "init", "--name", "Wheel Town", "--short", "wheel"]
    run([*init, "--unit", "HOUR"], cwd=tmp_path)
    node = subprocess.Popen(
        [str(letsnode), "--data", str(data), "run", "--http", "127.0.0.1:0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert node.stdout is not None
        url = None
        for line in node.stdout:
            if line.startswith("wallet"):
                url = line.split()[1].rstrip("/")
                break
        assert url is not None, "the installed node did not start"
        with httpx.Client(base_url=url, timeout=10) as client:
            page = client.get("/")
            assert page.status_code == 200 and "<script" in page.text
            for path in ("/js/main.js", "/css/app.css", "/locales/ar.json", "/icon.svg"):
                assert client.get(path).status_code == 200, path
            assert client.get("/api/community").json()["name"] == "Wheel Town"
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(30)
        if node.stdout is not None:
            node.stdout.close()
