"""The stewards' Clearing page API (httpx ASGI under trio, real SQLite) and the round report
behind it (letsnode/views/clearing_report.py), on rounds built from real signed statements: three
communities that owe each other in a circle."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from letsnode.community.folder import DB_NAME
from letsnode.core.clearing.rounds import propose
from letsnode.core.crypto import SigningKey
from letsnode.core.wire import codec
from letsnode.core.wire.clearing import LineView, Statement, round_id
from letsnode.federation.clearing import RoundReport
from letsnode.node.facade import Node
from letsnode.store.clearing_store import ClearingStore, RoundRow
from letsnode.store.db import connect
from letsnode.views.clearing_report import line_uses, plot_png, round_summary
from letsnode.web.app import create_app
from tests.web_helpers import Member, api_client, is_problem, join, make_community, sign_in

ALICE = Member.new("alice")
BOB = Member.new("bob")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

KEYS = {
    name: SigningKey(bytes([i + 1]) * 32) for i, name in enumerate(("valencia", "thessa", "tunis"))
}
# valencia owes thessa 100.00, thessa owes tunis 70.00, tunis owes valencia 80.00: 70.00
# clears on each line. The creditor states a little more than the debtor (a transfer that
# settled on one side first): the debt counted is the smaller of the two.
DEBTS = [
    ("valencia", "thessa", 10_000, 10_050, 20_000),
    ("thessa", "tunis", 7_000, 7_000, 10_000),
    ("tunis", "valencia", 8_000, 8_000, 0),
]
LINE_IDS = {(d, c): bytes([i + 1]) * 16 for i, (d, c, *_) in enumerate(DEBTS)}
STRAY_LINE = b"\x09" * 16  # stated by valencia only: its partner is not in the snapshot
T0 = 1_760_000_000_000


def nonce_at(created_ms: int) -> bytes:
    return hashlib.blake2b(str(created_ms).encode(), digest_size=16).digest()


def statement(name: str, nonce: bytes) -> Statement:
    views = []
    for debtor, creditor, owed, claimed, ceiling in DEBTS:
        line_id = LINE_IDS[(debtor, creditor)]
        if name == debtor:
            partner = KEYS[creditor].public
            views.append(LineView(line_id, partner, owed, -50_000, ceiling, 1, 1))
        elif name == creditor:
            partner = KEYS[debtor].public
            views.append(LineView(line_id, partner, -claimed, -50_000, 30_000, 1, 1))
    if name == "valencia":
        views.append(LineView(STRAY_LINE, b"\x07" * 32, 500, -1_000, 1_000, 1, 1))
    views.sort(key=lambda v: v.line_id)
    return Statement(nonce, KEYS[name].public, name, "HOUR", 2, T0, tuple(views))


def cycle_round(
    state: str = "committed",
    created_ms: int = T0,
    nonce: bytes | None = None,
    coordinator: str = "valencia",
) -> RoundRow:
    nonce = nonce or nonce_at(created_ms)
    snapshot = sorted(
        (statement(name, nonce).sign(key) for name, key in KEYS.items()),
        key=lambda s: s.statement.community_id,
    )
    proposal = propose(snapshot, nonce, KEYS[coordinator].public, created_ms + 10_000)
    assert proposal is not None
    data = proposal.encode()
    reason = "refused by tunis (clearing_refused): no" if state == "aborted" else ""
    return RoundRow(
        nonce,
        round_id(data),
        "coordinator" if coordinator == "valencia" else "participant",
        KEYS[coordinator].public,
        state,
        codec.pack([s.to_wire() for s in snapshot]),
        data,
        None,
        proposal.cleared,
        reason,
        created_ms,
        created_ms + 2_000,
    )


def empty_round(created_ms: int) -> RoundRow:
    nonce = nonce_at(created_ms)
    own = Statement(nonce, KEYS["valencia"].public, "valencia", "HOUR", 2, created_ms, ())
    snapshot = codec.pack([own.sign(KEYS["valencia"]).to_wire()])
    return RoundRow(
        nonce,
        None,
        "coordinator",
        KEYS["valencia"].public,
        "empty",
        snapshot,
        None,
        None,
        0,
        "nothing to clear",
        created_ms,
        created_ms + 50,
    )


# -- the report ---------------------------------------------------------------------------


def test_line_uses_of_a_committed_round() -> None:
    uses = line_uses(cycle_round())
    assert [u.name for u in uses] == ["valencia → thessa", "thessa → tunis", "tunis → valencia"]
    assert [(u.debtor, u.creditor) for u in uses] == [
        (KEYS["valencia"].public, KEYS["thessa"].public),
        (KEYS["thessa"].public, KEYS["tunis"].public),
        (KEYS["tunis"].public, KEYS["valencia"].public),
    ]
    assert [(u.debt_before, u.cleared, u.debt_after, u.limit) for u in uses] == [
        (10_000, 7_000, 3_000, 20_000),  # the smaller of 100.00 owed and 100.50 claimed
        (7_000, 7_000, 0, 10_000),
        (8_000, 7_000, 1_000, 0),
    ]
    assert all(u.applied for u in uses)
    assert [u.utilisation_before for u in uses] == [0.5, 0.7, 0.0]  # no limit: 0
    assert [u.utilisation_after for u in uses] == [0.15, 0.0, 0.0]
    assert all(isinstance(u.debt_after, int) for u in uses)


def test_line_uses_of_a_round_that_did_not_commit() -> None:
    uses = line_uses(cycle_round("aborted"))
    assert [(u.debt_before, u.cleared, u.debt_after) for u in uses] == [
        (10_000, 7_000, 10_000),
        (7_000, 7_000, 7_000),
        (8_000, 7_000, 8_000),
    ]
    assert not any(u.applied for u in uses)
    assert line_uses(empty_round(T0)) == []
    refused = replace(cycle_round("refused"), snapshot=None)  # a participant that refused
    assert line_uses(refused) == []
    assert png_size(plot_png(refused))[0] == 800


def test_round_summary_is_stable_json() -> None:
    me = KEYS["valencia"].public
    summary = round_summary(cycle_round(), me, 2, "HOUR")
    assert summary == {
        "round": nonce_at(T0).hex(),
        "round_id": summary["round_id"],
        "role": "coordinator",
        "state": "committed",
        "coordinator": me.hex(),
        "cleared": "210.00",
        "cleared_minor": 21_000,
        "cleared_here": "70.00",
        "cleared_here_minor": 7_000,
        "unit": "HOUR",
        "communities": 3,
        "lines": 3,
        "reason": "",
        "started": "2025-10-09T08:53:20Z",
        "decided": "2025-10-09T08:53:22Z",
    }
    assert len(summary["round"]) == 32 and len(summary["round_id"]) == 32
    empty = round_summary(empty_round(T0), me, 2, "HOUR")
    assert (empty["round_id"], empty["communities"], empty["lines"], empty["cleared"]) == (
        None,
        1,
        0,
        "0.00",
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_is_a_png_chart() -> None:
    data = plot_png(cycle_round())
    width, height = png_size(data)
    assert width == 800 and height > 200
    assert len(data) > 10_000  # bars, labels and text, not a blank image
    assert png_size(plot_png(empty_round(T0)))[0] == 800  # a chart saying there is nothing


# -- the API --------------------------------------------------------------------------------


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node.open(make_community(tmp_path / "bank"))
    yield node
    node.close()


@pytest.fixture
def app(node: Node):  # type: ignore[no-untyped-def]
    return create_app(node)


@pytest.fixture
async def alice(app, node: Node) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """Alice joined by invite, signed in, and made a steward by the operator."""
    async with api_client(app) as client:
        assert (await join(client, ALICE, node.joins.create_invite())).status_code == 201
        node.joins.add_steward("alice")
        assert (await sign_in(client, ALICE.key)).status_code == 201
        yield client


@pytest.fixture
async def bob(app, node: Node) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with api_client(app, "127.0.0.2") as client:
        assert (await join(client, BOB, node.joins.create_invite())).status_code == 201
        assert (await sign_in(client, BOB.key)).status_code == 201
        yield client


@pytest.fixture
def rounds(node: Node) -> list[RoundRow]:
    """Three rounds stored as the clearing desk stores them (on a connection of its own)."""
    made = [
        cycle_round("committed", T0),
        cycle_round("aborted", T0 + 60_000),
        empty_round(T0 + 120_000),
    ]
    db = connect(node.data / DB_NAME)
    try:
        store = ClearingStore(db.conn)
        for row in made:
            store.save(row)
    finally:
        db.conn.close()
    return made


async def test_steward_sees_the_rounds_newest_first(alice, rounds: list[RoundRow]) -> None:
    r = await alice.get("/api/admin/clearing")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["policy"], body["federation"]) == ("accept", False)
    listed = body["rounds"]
    assert [x["round"] for x in listed] == [row.nonce.hex() for row in reversed(rounds)]
    assert [x["state"] for x in listed] == ["empty", "aborted", "committed"]
    assert [(x["cleared"], x["cleared_minor"], x["lines"]) for x in listed] == [
        ("0.00", 0, 0),
        ("210.00", 21_000, 3),
        ("210.00", 21_000, 3),
    ]
    assert listed[1]["reason"].startswith("refused by tunis")
    assert listed[2]["started"] == "2025-10-09T08:53:20Z"
    assert listed[2]["communities"] == 3


async def test_steward_gets_the_plot_of_a_round(alice, rounds: list[RoundRow]) -> None:
    for row in rounds:
        r = await alice.get(f"/api/admin/clearing/{row.nonce.hex()}/plot.png")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        assert png_size(r.content)[0] == 800
        assert len(r.content) > 10_000
        assert "img-src 'self'" in r.headers["content-security-policy"]


async def test_unknown_round_has_no_plot(alice, rounds: list[RoundRow]) -> None:
    for text in ("00" * 16, "f" * 32, "not-hex", rounds[0].nonce.hex()[:12]):
        r = await alice.get(f"/api/admin/clearing/{text}/plot.png")
        assert is_problem(r, 404, "not_found"), text


async def test_steward_sets_the_policy(alice, node: Node) -> None:
    r = await alice.post("/api/admin/clearing/policy", json={"policy": "refuse"})
    assert (r.status_code, r.json()) == (200, {"policy": "refuse"})
    assert (await alice.get("/api/admin/clearing")).json()["policy"] == "refuse"
    db = connect(node.data / DB_NAME)  # what the clearing desk reads, on its own connection
    try:
        assert ClearingStore(db.conn).policy() == "refuse"
    finally:
        db.conn.close()
    r = await alice.post("/api/admin/clearing/policy", json={"policy": "accept"})
    assert r.json() == {"policy": "accept"}


async def test_a_bad_policy_is_refused_by_name(alice) -> None:
    for value in ("maybe", "ACCEPT", 1, None):
        r = await alice.post("/api/admin/clearing/policy", json={"policy": value})
        assert is_problem(r, 422, "invalid_policy"), value
        assert repr(value) in r.json()["detail"]
        assert "accept, refuse" in r.json()["detail"]
    assert (await alice.get("/api/admin/clearing")).json()["policy"] == "accept"


async def test_members_cannot_see_or_change_clearing(bob, rounds: list[RoundRow]) -> None:
    assert is_problem(await bob.get("/api/admin/clearing"), 403, "forbidden")
    r = await bob.get(f"/api/admin/clearing/{rounds[0].nonce.hex()}/plot.png")
    assert is_problem(r, 403, "forbidden")
    r = await bob.post("/api/admin/clearing/policy", json={"policy": "refuse"})
    assert is_problem(r, 403, "forbidden")
    assert is_problem(await bob.post("/api/admin/clearing/run"), 403, "forbidden")


async def test_clearing_needs_a_session_and_the_csrf_header(app, alice) -> None:
    async with api_client(app, "127.0.0.3") as anonymous:
        assert is_problem(await anonymous.get("/api/admin/clearing"), 401, "unauthenticated")
    r = await alice.post(
        "/api/admin/clearing/policy", json={"policy": "refuse"}, headers={"X-Letsnode": "0"}
    )
    assert is_problem(r, 403, "csrf")
    r = await alice.post("/api/admin/clearing/run", headers={"Origin": "http://evil.example"})
    assert is_problem(r, 403, "csrf")
    assert (await alice.get("/api/admin/clearing")).json()["policy"] == "accept"


async def test_running_a_round_without_the_federation_is_a_clear_error(alice) -> None:
    r = await alice.post("/api/admin/clearing/run")
    assert is_problem(r, 503, "no_federation")
    assert "federation" in r.json()["detail"]


async def test_running_a_round_returns_its_report(alice, node: Node) -> None:
    calls: list[float] = []

    async def run_round(timeout_s: float = 10.0) -> RoundReport:
        calls.append(timeout_s)
        return RoundReport(
            b"\x05" * 16,
            b"\x06" * 16,
            "committed",
            21_000,
            3,
            tuple(k.public for k in KEYS.values()),
            "",
            (b"\x08" * 32,),
        )

    node.federation = SimpleNamespace(clearing=SimpleNamespace(run_round=run_round))  # type: ignore[assignment]
    try:
        r = await alice.post("/api/admin/clearing/run")
    finally:
        node.federation = None
    assert r.status_code == 200, r.text
    assert r.json() == {
        "round": "05" * 16,
        "round_id": "06" * 16,
        "state": "committed",
        "cleared": "210.00",
        "cleared_minor": 21_000,
        "communities": 3,
        "participants": 3,
        "unreachable": 1,
        "reason": "",
    }
    assert calls == [10.0]
