"""Three `letsnode run` processes on loopback: a forwarding node killed in the middle of a
burst of cross-community payments, then restarted, leaves every ledger sound and every
line's mirrors equal once the transfers finish."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from letsnode.auditing import audit_folder
from letsnode.community import Community
from letsnode.control import ControlClient
from letsnode.core.transfers import RemoteOrder
from letsnode.net.peerid import peer_id_from_community_id

PAYERS = [f"p{i}" for i in range(6)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeProcess:
    def __init__(self, data: Path, port: int, peers: list[str]) -> None:
        self.data, self.port, self.peers = data, port, peers
        self.proc: subprocess.Popen | None = None

    @property
    def addr(self) -> str:
        with Community.opened(self.data) as c:
            cid = c.genesis.community_id
        return f"/ip4/127.0.0.1/tcp/{self.port}/p2p/{peer_id_from_community_id(cid)}"

    def start(self) -> None:
        args = [
            sys.executable,
            "-m",
            "letsnode",
            "--data",
            str(self.data),
            "run",
            "--http",
            "127.0.0.1:0",
            "--listen",
            f"/ip4/127.0.0.1/tcp/{self.port}",
        ]
        for peer in self.peers:
            args += ["--peer", peer]
        with open(str(self.data) + ".log", "a") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("wallet"):
                return
            if not line:
                self.proc.wait(10)
                log = Path(str(self.data) + ".log").read_text()[-3000:]
                raise AssertionError(f"the node exited ({self.proc.returncode}): {log}")
        raise AssertionError("the node did not start")

    def stop(self, sig: int = signal.SIGINT) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        self.proc.wait(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.proc = None

    def call(self, cmd: str, **args):
        return ControlClient(self.data).call(cmd, **args)


def pending_holds(data: Path) -> int:
    conn = sqlite3.connect(f"file:{data / 'ledger.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM holds WHERE state = 'pending'").fetchone()[0]
    finally:
        conn.close()


def balance(data: Path, handle: str) -> int:
    with Community.opened(data) as c:
        return c.account(handle).balance


@pytest.fixture
def federation_processes(tmp_path):
    for name in "abc":
        c = Community.create(
            tmp_path / name,
            name=f"Bank {name}",
            short=name,
            unit="HOUR",
            scale=2,
            floor=-10_000,
            ceiling=100_000,
        )
        for payer in PAYERS if name == "a" else ["karim"]:
            c.admit(payer)
        c.close()
    a = NodeProcess(tmp_path / "a", free_port(), [])
    b = NodeProcess(tmp_path / "b", free_port(), [])
    c = NodeProcess(tmp_path / "c", free_port(), [])
    b.peers = [a.addr]
    c.peers = [b.addr]
    nodes = [a, b, c]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            if node.proc is not None:
                node.stop()


def pay(node: NodeProcess, payer: str, payee_id: bytes, amount: int) -> dict:
    with Community.opened(node.data) as c:
        key = c.member_key(payer)
        cid = c.genesis.community_id
    nonce = node.call("next_nonce", handle=payer)
    data, sig = RemoteOrder(cid, payer, payee_id, "karim", amount, nonce, "").sign(key)
    return node.call("pay_remote", order=data.hex(), signature=sig.hex())


@pytest.mark.slow
def test_a_forwarding_node_killed_mid_burst_and_restarted_leaves_everything_sound(
    federation_processes,
):
    a, b, c = federation_processes
    for left, right in ((a, b), (b, c)):
        proposal = left.call(
            "line_propose",
            peer=str(right.addr.rsplit("/", 1)[1]),
            limit_out=50_000,
            limit_in=50_000,
        )
        right.call("line_accept", id=proposal["id"])
    with Community.opened(c.data) as cc:
        c_id = cc.genesis.community_id
    deadline = time.monotonic() + 30
    while True:  # until the adverts have spread
        try:
            assert pay(a, "p0", c_id, 1)["state"] == "fulfilled"
            break
        except Exception:
            assert time.monotonic() < deadline
            time.sleep(0.5)

    outcomes: list[dict] = []

    def burst(payer: str) -> None:
        for _ in range(3):
            try:
                outcomes.append(pay(a, payer, c_id, 7))
            except Exception as err:  # refused before anything was held (B unreachable)
                outcomes.append({"state": "refused", "code": getattr(err, "code", "?")})

    threads = [threading.Thread(target=burst, args=(p,)) for p in PAYERS]
    for t in threads:
        t.start()
    time.sleep(0.4)
    in_flight = pending_holds(b.data)
    b.stop(signal.SIGKILL)
    time.sleep(1)
    b.start()
    for t in threads:
        t.join(120)
    deadline = time.monotonic() + 90
    while any(pending_holds(n.data) for n in (a, b, c)):
        assert time.monotonic() < deadline, "legs still pending long after their expiry"
        time.sleep(0.5)

    assert len(outcomes) == 3 * len(PAYERS)
    for node in (a, b, c):
        report = audit_folder(node.data)
        assert report.ok, report.fault
    assert balance(a.data, "line-b") == -balance(b.data, "line-a")
    assert balance(b.data, "line-c") == -balance(c.data, "line-b")
    assert balance(b.data, "transit") <= 0
    paid = sum(-balance(a.data, p) for p in PAYERS)
    fulfilled = sum(7 for o in outcomes if o["state"] == "fulfilled") + 1
    assert paid == fulfilled, [o for o in outcomes if o["state"] != "fulfilled"]
    assert pay(a, "p1", c_id, 5)["state"] == "fulfilled"  # the restarted B forwards again
    print(
        f"in flight at the kill: {in_flight} legs at B; outcomes: "
        f"{sorted(o['state'] for o in outcomes)}"
    )
