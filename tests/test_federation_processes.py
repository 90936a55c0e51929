"""Three `letsnode run` processes on loopback: a forwarding node killed in the middle of a
burst of cross-community payments, then restarted, leaves every ledger sound and every
line's mirrors equal once the transfers finish."""

import signal
import threading
import time

import pytest

from letsnode.audit.runner import audit_folder
from letsnode.community.folder import Community
from letsnode.core.wire.transfers import RemoteOrder
from tests.proc_harness import NodeProcess, balance, free_port, pending_holds

PAYERS = [f"p{i}" for i in range(6)]


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
