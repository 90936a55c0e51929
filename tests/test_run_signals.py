"""``letsnode run`` stops cleanly when asked, by SIGINT (Ctrl-C) or SIGTERM (a service
manager, ``kill``), even when started in the background of a shell script, which leaves
SIGINT ignored in the process it starts."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.proc_harness import free_port


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `letsnode run &` in a script has it


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_node_started_in_the_background_stops_when_asked(tmp_path: Path, stop: int) -> None:
    data = tmp_path / "d"
    letsnode = [sys.executable, "-m", "letsnode", "--data", str(data)]
    subprocess.run(
        [*letsnode, "init", "--name", "Village", "--short", "village", "--unit", "HOUR"],
        check=True,
        capture_output=True,
    )
    node = subprocess.Popen(
        [
            *letsnode,
            "run",
            "--http",
            "127.0.0.1:0",
            "--listen",
            f"/ip4/127.0.0.1/tcp/{free_port()}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore_sigint,
    )
    try:
        assert node.stdout is not None
        for line in node.stdout:
            if line.startswith("wallet"):
                break
        else:
            pytest.fail(f"the node did not start: {node.stderr.read() if node.stderr else ''}")
        node.send_signal(stop)
        out, err = node.communicate(timeout=60)
    finally:
        if node.poll() is None:
            node.kill()
            node.communicate()
    assert node.returncode == 0, err[-2000:]
    assert out.strip().endswith("stopped")
    assert not (data / "control.sock").exists()
