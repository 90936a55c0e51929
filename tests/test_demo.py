"""The demos behind ./scripts/run work end to end."""

import re
import subprocess
import sys


def test_the_cli_demo_builds_a_community_that_passes_audit(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "letsnode.demo.community", "--data", str(tmp_path / "v")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "refused as expected" in out and "[below_floor]" in out
    assert f"audit ok: {tmp_path / 'v'}" in out


def test_the_federation_demo_pays_across_three_node_processes():
    result = subprocess.run(
        [sys.executable, "-m", "letsnode.demo.federation", "--http-port", "0", "--seconds", "0.5"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "maria@valencia pays karim@tunis 1.00 HOUR: fulfilled (2 lines)" in out
    assert "letsnode simulate simulations/mediterranean.toml --out out/med" in out
    assert (
        len(re.findall(r"^  (valencia|thessaloniki|tunis) +http://127\.0\.0\.1:\d+/$", out, re.M))
        == 3
    )
