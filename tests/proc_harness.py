"""Real `letsnode run` processes on loopback, driven through their control sockets."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from letsnode.community.folder import Community
from letsnode.net.peerid import peer_id_from_community_id
from letsnode.node.control import ControlClient


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
