"""One writer per data folder: the node and every command that writes share one lock, a
member's new key outlives an unanswered admission, and failures of `letsnode run` a user
can cause are one line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import trio

from letsnode.audit.runner import audit_folder
from letsnode.cli.main import main
from letsnode.community.folder import Community
from letsnode.community.lock import FolderLock, is_locked
from letsnode.node.control import SOCKET_NAME, ControlClient, hold_folder, writer
from letsnode.node.facade import Node
from tests.proc_harness import NodeProcess, free_port

HOUR = ["--unit", "HOUR", "--scale", "2", "--floor", "-1000", "--ceiling", "1000"]


def letsnode(data: Path, *args: str) -> int:
    """Run one command in this process, as the shell would; its exit code."""
    try:
        main.main(["--data", str(data), *args], standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def community(tmp_path: Path, *members: str) -> Path:
    data = tmp_path / "d"
    assert letsnode(data, "init", "--name", "Lock Town", "--short", "lock", *HOUR) == 0
    for handle in members:
        assert letsnode(data, "member", "add", handle) == 0
    return data


# -- the lock itself --------------------------------------------------------------------


def test_a_command_writing_holds_the_folder_lock_and_lets_it_go(tmp_path: Path) -> None:
    data = community(tmp_path)
    assert not is_locked(data)
    with writer(data) as client:
        assert client is None  # no node: the command writes itself
        assert is_locked(data)
        assert not FolderLock(data).try_acquire()
    assert not is_locked(data)


def test_a_second_writer_waits_its_turn(tmp_path: Path) -> None:
    data = community(tmp_path)
    order: list[str] = []
    first = FolderLock(data)
    assert first.try_acquire()

    def second() -> None:
        with writer(data, wait_s=10):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    order.append("first done")
    first.release()
    thread.join(10)
    assert order == ["first done", "second"]


# -- a starting node never loads a state older than a command's write -----------------------


def pay_until(data: Path, stop: threading.Event, counts: dict[str, int], memo: str) -> None:
    while not stop.is_set():
        code = letsnode(data, "pay", "ana", "ben", "0.01", "--memo", memo)
        counts["acked" if code == 0 else "refused"] += 1


async def start_as_the_node_does(data: Path) -> tuple[int, int]:
    """What ``run_node`` does first: take the folder, then load the state. Returns the
    payer's last nonce in the loaded state and on disk just before letting go."""
    async with hold_folder(data):
        node = Node.open(data)
        try:
            loaded = node.community.account("ana").last_nonce
            await trio.sleep(0.005)  # the node goes on starting, holding the folder
            with Community.opened(data) as now:
                on_disk = now.account("ana").last_nonce
        finally:
            node.close()
    return loaded, on_disk


def test_a_node_starting_many_times_among_direct_payments_never_loads_a_stale_state(
    tmp_path: Path,
) -> None:
    data = community(tmp_path, "ana", "ben")
    stop = threading.Event()
    counts = {"acked": 0, "refused": 0}
    payer = threading.Thread(target=pay_until, args=(data, stop, counts, "race"))
    payer.start()
    try:
        for _ in range(60):
            loaded, on_disk = trio.run(start_as_the_node_does, data)
            assert loaded == on_disk, "a command wrote while the node held the folder"
            time.sleep(0.003)
    finally:
        stop.set()
        payer.join(60)
    assert counts["acked"] > 60
    assert audit_folder(data, workers=0).ok
    with Community.opened(data) as c:
        assert c.account("ana").last_nonce == len(c.history("ana")) == counts["acked"]


@pytest.mark.slow
def test_a_starting_node_and_direct_payments_race_without_losing_one(tmp_path: Path) -> None:
    data = community(tmp_path, "ana", "ben")
    acked = 0
    for round_ in range(2):
        stop = threading.Event()
        counts = {"acked": 0, "refused": 0}
        payer = threading.Thread(target=pay_until, args=(data, stop, counts, f"r{round_}"))
        payer.start()
        time.sleep(0.2 + 0.1 * round_)  # direct payments, then the node starts among them
        node = NodeProcess(data, free_port(), [])
        try:
            node.start()
            time.sleep(0.5)  # payments now go through the node
            stop.set()
            payer.join(60)
            acked += counts["acked"]
            assert counts["acked"] > 0
            # the node's view holds every acknowledged payment: ana's next nonce follows them
            assert node.call("next_nonce", handle="ana") == acked + 1
        finally:
            stop.set()
            payer.join(60)
            node.stop()
    report = audit_folder(data, workers=0)
    assert report.ok, report.fault
    with Community.opened(data) as c:
        assert len(c.history("ana")) == acked
        assert c.account("ana").last_nonce == acked


# -- admissions the node committed but did not answer ---------------------------------------


class DyingNode:
    """Stands in for a node that takes one admit request, perhaps commits it, and dies
    before it answers: it holds the folder's lock and serves the control socket, then
    drops the connection, the socket and the lock at once."""

    def __init__(self, data: Path, commit: bool) -> None:
        self.data, self.commit = data, commit
        self.lock = FolderLock(data)
        assert self.lock.try_acquire()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(data / SOCKET_NAME))
        self.listener.listen(1)
        self.thread = threading.Thread(target=self._serve_once)
        self.thread.start()

    def _serve_once(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            with conn, conn.makefile() as lines:
                line = lines.readline()
                if not line:
                    continue  # someone looking whether a node answers
                request = json.loads(line)
                assert request["cmd"] == "admit"
                if self.commit:
                    args = request["args"]
                    with Community.opened(self.data) as c:
                        c.admit(args["handle"], key=bytes.fromhex(args["key"]))
                break
        self.listener.close()
        (self.data / SOCKET_NAME).unlink()
        self.lock.release()


def test_an_admission_committed_but_unanswered_keeps_its_key(tmp_path: Path, capsys) -> None:
    data = community(tmp_path)
    capsys.readouterr()
    node = DyingNode(data, commit=True)
    assert letsnode(data, "member", "add", "carla") == 0
    node.thread.join(10)
    out = capsys.readouterr().out
    assert out.startswith("admitted carla (member") and "key in" in out
    with Community.opened(data) as c:
        key = c.member_key("carla")  # the key file is there and is carla's
        assert c.account("carla").key == key.public
    assert letsnode(data, "member", "add", "dora") == 0  # the folder is free again


def test_an_unanswered_admission_that_never_happened_leaves_no_key(tmp_path: Path, capsys) -> None:
    data = community(tmp_path)
    capsys.readouterr()
    node = DyingNode(data, commit=False)
    assert letsnode(data, "member", "add", "carla") == 1
    node.thread.join(10)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "[node_running]" in err
    assert not (data / "keys" / "carla.key").exists()
    with Community.opened(data) as c:
        assert "carla" not in c.ledger.accounts
    assert letsnode(data, "member", "add", "carla") == 0  # and it can be tried again


def test_a_key_left_by_an_unanswered_try_is_used_again(tmp_path: Path) -> None:
    data = community(tmp_path)
    node = NodeProcess(data, free_port(), [])
    node.start()
    try:
        from letsnode.community.keystore import write_new_key

        left = write_new_key(data / "keys" / "carla.key")  # as an unanswered try leaves it
        assert letsnode(data, "member", "add", "carla") == 0
        assert ControlClient(data).call("next_nonce", handle="carla") == 1
    finally:
        node.stop()
    with Community.opened(data) as c:
        assert c.account("carla").key == left.public


# -- what `letsnode run` says when the user can do something about it ------------------------


def run_node_command(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "letsnode", "--data", str(data), "run", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_failures_of_run_a_user_can_cause_are_one_line(tmp_path: Path) -> None:
    data = community(tmp_path)
    other = tmp_path / "other"
    assert letsnode(other, "init", "--name", "Other", "--short", "other", *HOUR) == 0
    node = NodeProcess(data, free_port(), [])
    node.start()
    busy_port = socket.socket()
    busy_port.bind(("127.0.0.1", 0))
    busy_port.listen(1)
    try:
        cases = {
            "node_running": run_node_command(data, "--http", "127.0.0.1:0"),
            "address_in_use": run_node_command(
                other, "--http", f"127.0.0.1:{busy_port.getsockname()[1]}"
            ),
            "invalid_input": run_node_command(other, "--listen", "/ip4/nowhere/tcp/1"),
            "not_initialised": run_node_command(tmp_path / "empty"),
        }
    finally:
        busy_port.close()
        node.stop()
    (other / SOCKET_NAME).mkdir()
    cases["in the way of the node's control socket"] = run_node_command(
        other, "--http", "127.0.0.1:0"
    )
    for expected, result in cases.items():
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1, (expected, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: "), (expected, result.stderr)
        assert expected in lines[0], (expected, lines[0])


def test_a_payment_retried_with_its_nonce_is_made_once(tmp_path: Path, capsys) -> None:
    data = community(tmp_path, "ana", "ben")
    capsys.readouterr()
    assert letsnode(data, "pay", "ana", "ben", "2", "--nonce", "1") == 0
    assert letsnode(data, "pay", "ana", "ben", "2", "--nonce", "1") == 1
    assert "[replayed_order]" in capsys.readouterr().err
    with Community.opened(data) as c:
        assert c.account("ana").balance == -200
