"""Clearing rounds between four `letsnode run` processes on loopback, driven by the CLI.

The communities a, b, c, d have lines around a ring and debts around it. A round with a
community whose operator refuses aborts with nothing changed anywhere; a round in which a
participant is killed is all-or-nothing once it restarts; a round with everyone clears the
cycle and keeps every community's net position.
"""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from letsnode.audit.runner import audit_folder
from letsnode.community.folder import Community
from letsnode.core.wire.transfers import RemoteOrder
from tests.proc_harness import NodeProcess, free_port

RING = "abcd"
DEBTS = {("a", "b"): 10_000, ("b", "c"): 7_000, ("c", "d"): 8_000, ("d", "a"): 4_000}


def cli(data: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "letsnode", "--data", str(data), *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def community_id(node: NodeProcess) -> bytes:
    with Community.opened(node.data) as c:
        return c.genesis.community_id


def ledger_view(nodes: dict[str, NodeProcess]) -> dict[str, tuple[int, dict[str, int]]]:
    """Per community: the number of log entries and the balance of every line account."""
    out = {}
    for name, node in nodes.items():
        with Community.opened(node.data) as c:
            mirrors = {x.handle: c.account(x.handle).balance for x in c.ledger.lines.values()}
            out[name] = (c.store.entry_count(), mirrors)
    return out


def rounds_in(node: NodeProcess) -> list[dict]:
    return json.loads(cli(node.data, "clearing", "rounds", "--json"))["rounds"]


def applied(node: NodeProcess) -> set[str]:
    conn = sqlite3.connect(f"file:{node.data / 'ledger.db'}?mode=ro", uri=True)
    try:
        return {row[0].hex() for row in conn.execute("SELECT round_id FROM cleared_rounds")}
    finally:
        conn.close()


def check_sound(nodes: dict[str, NodeProcess], nets: dict[str, int]) -> None:
    view = ledger_view(nodes)
    for x, y in zip(RING, RING[1:] + RING[:1], strict=True):
        assert view[x][1][f"line-{y}"] == -view[y][1][f"line-{x}"], (x, y)
    for name in RING:
        assert sum(view[name][1].values()) == nets[name], name
        report = audit_folder(nodes[name].data)
        assert report.ok, report.fault


@pytest.fixture
def ring(tmp_path):
    for name in RING:
        c = Community.create(
            tmp_path / name,
            name=f"Bank {name}",
            short=name,
            unit="HOUR",
            scale=2,
            floor=-50_000,
            ceiling=50_000,
        )
        c.admit("m")
        c.close()
    nodes = {name: NodeProcess(tmp_path / name, free_port(), []) for name in RING}
    nodes["b"].peers = [nodes["a"].addr]
    nodes["c"].peers = [nodes["b"].addr]
    nodes["d"].peers = [nodes["c"].addr, nodes["a"].addr]
    try:
        for node in nodes.values():
            node.start()
        for x, y in zip(RING, RING[1:] + RING[:1], strict=True):
            left, right = nodes[x], nodes[y]
            proposal = left.call(
                "line_propose", peer=right.addr.rsplit("/", 1)[1], limit_out=20_000, limit_in=20_000
            )
            right.call("line_accept", id=proposal["id"])
        for (x, y), amount in DEBTS.items():
            pay(nodes[x], community_id(nodes[y]), amount)
        yield nodes
    finally:
        for node in nodes.values():
            if node.proc is not None:
                node.stop()


def pay(node: NodeProcess, payee: bytes, amount: int) -> None:
    with Community.opened(node.data) as c:
        key, cid = c.member_key("m"), c.genesis.community_id
    deadline = time.monotonic() + 30
    while True:  # until the adverts have spread
        nonce = node.call("next_nonce", handle="m")
        data, sig = RemoteOrder(cid, "m", payee, "m", amount, nonce, "").sign(key)
        try:
            if node.call("pay_remote", order=data.hex(), signature=sig.hex())["state"] == (
                "fulfilled"
            ):
                return
        except Exception:
            pass
        assert time.monotonic() < deadline, "the payment never went through"
        time.sleep(0.5)


def wait_for(predicate, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.slow
def test_rounds_refused_killed_and_completed_between_four_node_processes(ring, tmp_path):
    nodes = ring
    before = ledger_view(nodes)
    nets = {name: sum(mirrors.values()) for name, (_, mirrors) in before.items()}
    check_sound(nodes, nets)

    # 1. d's operator refuses: the round aborts and nothing changes anywhere.
    assert "clearing policy: refuse" in cli(nodes["d"].data, "clearing", "policy", "refuse")
    result = json.loads(cli(nodes["a"].data, "clearing", "run", "--json"))
    assert result["state"] == "aborted" and "clearing_refused" in result["reason"], result
    assert ledger_view(nodes) == before
    assert rounds_in(nodes["d"])[0]["state"] == "refused"
    cli(nodes["d"].data, "clearing", "policy", "accept")

    # 2. c is killed in the middle of a round, once the coordinator is collecting votes.
    a_data = str(nodes["a"].data)
    runner = subprocess.Popen(
        [sys.executable, "-m", "letsnode", "--data", a_data, "clearing", "run", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def proposing() -> bool:
        conn = sqlite3.connect(f"file:{nodes['a'].data / 'ledger.db'}?mode=ro", uri=True)
        try:
            return bool(
                conn.execute(
                    "SELECT 1 FROM clearing_rounds WHERE role = 'coordinator' "
                    "AND state != 'aborted' LIMIT 1"
                ).fetchone()
            )
        finally:
            conn.close()

    wait_for(proposing, "the coordinator never started asking for votes")
    nodes["c"].stop(signal.SIGKILL)
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, err
    killed = json.loads(out)
    time.sleep(1)
    nodes["c"].start()
    # All or nothing: once c is back, either all four applied the round or none did.
    rid = killed["round_id"]
    if killed["state"] == "committed":
        wait_for(lambda: all(rid in applied(n) for n in nodes.values()), "c never caught up")
    else:
        assert killed["state"] == "aborted", killed
        wait_for(
            lambda: not rounds_in(nodes["c"]) or rounds_in(nodes["c"])[0]["state"] != "voted",
            "c never learned the round was aborted",
        )
        assert ledger_view(nodes) == before
    check_sound(nodes, nets)
    print(f"round with c killed: {killed['state']} ({killed['reason'] or 'all voted'})")

    # 3. Everyone signs: the cycle clears and every net position stays.
    if killed["state"] != "committed":
        result = json.loads(cli(nodes["b"].data, "clearing", "run", "--json"))
        assert result["state"] == "committed", result
        assert result["cleared_minor"] == 16_000
        wait_for(
            lambda: all(result["round_id"] in applied(n) for n in nodes.values()),
            "a participant never applied the round",
        )
    after = ledger_view(nodes)
    for (x, y), amount in DEBTS.items():
        assert after[x][1][f"line-{y}"] == amount - 4_000
    check_sound(nodes, nets)
    listed = rounds_in(nodes["a"])
    assert any(r["state"] == "committed" for r in listed)
    plot = tmp_path / "round.png"
    committed = next(r for r in listed if r["state"] == "committed")
    cli(nodes["a"].data, "clearing", "plot", committed["round"][:12], "--out", str(plot))
    assert plot.read_bytes().startswith(b"\x89PNG")
