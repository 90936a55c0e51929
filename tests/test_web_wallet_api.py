"""The API behind the wallet's screens: checks before the review, members to pay (recent
first), a payment's details, where a join stands (and hearing the decision live), the
stewards' paged members table and member detail, and the unit's names per language (also
from the CLI)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from click.testing import CliRunner

from letsnode.cli.main import main
from letsnode.core.crypto import DOMAIN_ORDER, is_valid_signature
from letsnode.node.facade import Node
from letsnode.web.app import create_app
from letsnode.web.auth import JoinStream
from letsnode.web.common import Limits
from tests.web_helpers import Member, api_client, is_problem, join, make_community, sign_in

ALICE = Member.new("alice")
BOB = Member.new("bob")
CAROL = Member.new("carol")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_community(tmp_path / "bank")


@pytest.fixture
def node(data: Path) -> Iterator[Node]:
    node = Node.open(data)
    yield node
    node.close()


@pytest.fixture
def app(node: Node):  # type: ignore[no-untyped-def]
    return create_app(node)


async def member_client(app, node: Node, who: Member, address: str):  # type: ignore[no-untyped-def]
    client = api_client(app, address)
    c = await client.__aenter__()
    assert (await join(c, who, node.joins.create_invite())).status_code == 201
    assert (await sign_in(c, who.key)).status_code == 201
    return client, c


@pytest.fixture
async def alice(app, node: Node) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """Alice, a member and a steward."""
    cm, client = await member_client(app, node, ALICE, "127.0.0.1")
    node.joins.add_steward("alice")
    yield client
    await cm.__aexit__(None, None, None)


@pytest.fixture
async def bob(app, node: Node) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    cm, client = await member_client(app, node, BOB, "127.0.0.2")
    yield client
    await cm.__aexit__(None, None, None)


async def check(client: httpx.AsyncClient, to: str, amount: str = "") -> dict[str, Any]:
    r = await client.get("/api/payments/check", params={"to": to, "amount": amount})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- checks before the review ------------------------------------------------------------


async def test_a_payment_that_fits_is_ok_and_says_what_it_leaves(alice, bob) -> None:
    found = await check(alice, "bob", "2.50")
    assert (found["ok"], found["code"], found["payee"]["handle"]) == (True, None, "bob")
    assert (found["balance_after"], found["available_after"]) == ("-2.50", "17.50")
    assert (await check(alice, "BOB"))["ok"] is True  # handles are lower case
    assert (await check(alice, "bob@test", "1"))["payee"]["local"] is True


async def test_each_refusal_is_known_before_the_review(node: Node, alice, bob) -> None:
    assert (await check(alice, "bob", "20.01"))["code"] == "below_floor"
    assert (await check(alice, "bob", "20.00"))["ok"] is True
    await alice.post("/api/admin/accounts/alice/limits", json={"floor": "-100", "ceiling": ""})
    assert (await check(alice, "bob", "40.01"))["code"] == "above_ceiling"
    assert (await check(alice, "nobody", "1"))["code"] == "unknown_account"
    assert (await check(alice, "nobody"))["code"] == "unknown_account"
    assert (await check(alice, "alice", "1"))["code"] == "pay_self"
    assert (await check(alice, "Not A Name"))["code"] == "invalid_handle"
    assert (await check(alice, "karim@@x"))["code"] == "invalid_address"
    assert (await check(alice, "karim@tunis", "1"))["code"] == "federation_unavailable"
    await alice.post("/api/admin/accounts/bob/status", json={"status": "frozen"})
    assert (await check(alice, "bob", "1"))["code"] == "account_frozen"
    assert (await check(bob, "alice"))["code"] == "account_frozen"  # the payer's own state


async def test_a_check_with_bad_input_names_what_was_wrong(alice, bob) -> None:
    r = await alice.get("/api/payments/check", params={"to": "", "amount": "1"})
    assert is_problem(r, 400, "invalid_input") and "to is missing" in r.json()["detail"]
    r = await alice.get("/api/payments/check", params={"to": "bob", "amount": "1.505"})
    assert is_problem(r, 400, "invalid_input") and "1.505" in r.json()["detail"]
    r = await alice.get("/api/payments/check", params={"to": "bob", "amount": "0"})
    assert is_problem(r, 400, "invalid_input")


async def test_checks_need_a_session_and_are_rate_limited(node: Node, app, alice) -> None:
    async with api_client(app, "127.0.0.5") as stranger:
        r = await stranger.get("/api/payments/check", params={"to": "alice"})
        assert is_problem(r, 401, "unauthenticated")
    alice._transport.app.state.limits = Limits(checks_per_member=(0.001, 2))  # type: ignore[attr-defined]
    await check(alice, "bob")
    await check(alice, "bob")
    r = await alice.get("/api/payments/check", params={"to": "bob"})
    assert is_problem(r, 429, "rate_limited")


# -- members to pay, a payment's details, the CSV -----------------------------------------


async def test_members_to_pay_list_recent_payees_first(node: Node, alice, bob) -> None:
    for handle in ("aaron", "zoe"):
        node.community.admit(handle)
    assert (await alice.post("/api/payments", json=ALICE.order(node, "zoe", 100, 1))).is_success
    found = (await alice.get("/api/members")).json()["members"]
    assert [(m["handle"], m["recent"]) for m in found] == [
        ("zoe", True),
        ("aaron", False),
        ("bob", False),
    ]
    assert found[0]["last_payment"].endswith("Z")
    assert [m["handle"] for m in (await alice.get("/api/members?q=ar")).json()["members"]] == [
        "aaron"
    ]


async def test_a_payment_shows_its_signed_order_to_those_it_concerns(
    app, node: Node, alice, bob
) -> None:
    r = await bob.post("/api/payments", json=BOB.order(node, "alice", 150, 1, "soup"))
    seq = r.json()["payment"]["seq"]
    detail = (await bob.get(f"/api/payments/{seq}")).json()
    assert (detail["payment"]["payer"], detail["payment"]["memo"], detail["nonce"]) == (
        "bob",
        "soup",
        1,
    )
    order, signature = bytes.fromhex(detail["order"]), bytes.fromhex(detail["signature"])
    assert is_valid_signature(BOB.key.public, DOMAIN_ORDER, order, signature)
    assert len(bytes.fromhex(detail["entry"]["hash"])) == 32
    assert (await alice.get(f"/api/payments/{seq}")).status_code == 200  # the payee (a steward)
    cm, carol = await member_client(app, node, CAROL, "127.0.0.3")
    try:
        assert is_problem(await carol.get(f"/api/payments/{seq}"), 404, "not_found")
        assert is_problem(await carol.get("/api/payments/0"), 404, "not_found")  # genesis
        assert is_problem(await carol.get("/api/payments/x1"), 404, "not_found")
    finally:
        await cm.__aexit__(None, None, None)


# -- joining: where a request stands ----------------------------------------------------


async def test_session_status_is_always_an_answer(app, node: Node, alice) -> None:
    async with api_client(app, "127.0.0.7") as client:
        assert (await client.get("/api/session")).json() == {"member": None, "join": None}
        r = await join(client, BOB)
        assert r.status_code == 202 and "httponly" in r.headers["set-cookie"].lower()
        status = (await client.get("/api/session")).json()
        assert status["member"] is None
        assert (status["join"]["status"], status["join"]["handle"]) == ("pending", "bob")
        request_id = r.json()["request_id"]
        assert (await alice.post(f"/api/admin/join-requests/{request_id}/approve")).is_success
        assert (await client.get("/api/session")).json()["join"]["status"] == "approved"
        assert (await sign_in(client, BOB.key)).status_code == 201
        status = (await client.get("/api/session")).json()
        assert (status["member"]["handle"], status["join"]) == ("bob", None)
    assert (await alice.get("/api/session")).json()["member"]["steward"] is True


async def test_join_events_need_the_join_token(app) -> None:
    async with api_client(app) as client:
        assert is_problem(await client.get("/api/join/events"), 401, "unauthenticated")
        client.cookies.set("letsnode_join", "made-up")
        assert is_problem(await client.get("/api/join/events"), 401, "unauthenticated")


async def test_a_decided_request_streams_its_decision_and_ends(app, node: Node, alice) -> None:
    async with api_client(app, "127.0.0.8") as client:
        request_id = (await join(client, BOB)).json()["request_id"]
        assert (await alice.post(f"/api/admin/join-requests/{request_id}/reject")).is_success
        r = await client.get("/api/join/events")
        assert r.headers["content-type"].startswith("text/event-stream")
        assert 'event: join\ndata: {"status": "rejected", "handle": "bob"}' in r.text


async def test_a_waiting_joiner_hears_the_approval_live(node: Node) -> None:
    request_id = node.web.add_join_request("dina", b"\x01" * 32, node.clock())
    found = node.web.join_request(request_id)
    assert found is not None
    sent: list[bytes] = []
    got_event = trio.Event()
    gone = trio.Event()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message["body"])
            if b"approved" in message["body"]:
                got_event.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(JoinStream(node, found), {"type": "http"}, receive, send)
        with trio.fail_after(5):
            while not sent:
                await trio.sleep(0.01)
        assert b'"status": "pending"' in sent[0]
        await node.joins.approve(request_id, "alice")
        with trio.fail_after(5):
            await got_event.wait()
        gone.set()
    assert node.account("dina").key == b"\x01" * 32
    assert sent[-1] == b""  # the stream ended after the decision


# -- stewards ---------------------------------------------------------------------------


async def test_stewards_search_members_a_page_at_a_time(node: Node, alice) -> None:
    for i in range(25):
        node.community.admit(f"m{i:02d}")
    first = (await alice.get("/api/admin/accounts")).json()
    assert (first["total"], first["pages"], first["per_page"], len(first["accounts"])) == (
        26,
        2,
        20,
        20,
    )
    assert first["accounts"][0]["handle"] == "alice"
    second = (await alice.get("/api/admin/accounts", params={"page": "2"})).json()
    assert [a["handle"] for a in second["accounts"]] == [f"m{i:02d}" for i in range(19, 25)]
    found = (await alice.get("/api/admin/accounts", params={"q": "m1"})).json()
    assert found["total"] == 10
    await alice.post("/api/admin/accounts/m03/status", json={"status": "frozen"})
    frozen = (await alice.get("/api/admin/accounts", params={"status": "frozen"})).json()
    assert [a["handle"] for a in frozen["accounts"]] == ["m03"]
    r = await alice.get("/api/admin/accounts", params={"page": "0"})
    assert is_problem(r, 400, "invalid_input") and "page" in r.json()["detail"]
    r = await alice.get("/api/admin/accounts", params={"status": "asleep"})
    assert is_problem(r, 400, "invalid_input") and "status" in r.json()["detail"]


async def test_a_member_in_detail_and_closing_an_account(node: Node, alice, bob) -> None:
    await bob.post("/api/payments", json=BOB.order(node, "alice", 150, 1, "soup"))
    detail = (await alice.get("/api/admin/accounts/bob")).json()
    assert (detail["balance"], detail["steward"], detail["status"]) == ("-1.50", False, "active")
    assert [p["memo"] for p in detail["recent"]] == ["soup"]
    assert is_problem(await alice.get("/api/admin/accounts/nobody"), 404, "unknown_account")
    r = await alice.post("/api/admin/accounts/bob/status", json={"status": "closed"})
    assert is_problem(r, 409, "balance_not_zero")
    node.community.admit("erin")
    r = await alice.post("/api/admin/accounts/erin/status", json={"status": "closed"})
    assert r.json()["account"]["status"] == "closed"
    r = await alice.post("/api/admin/accounts/bob/status", json={"status": "gone"})
    assert is_problem(r, 400, "invalid_input")
    assert is_problem(await bob.get("/api/admin/accounts/bob"), 403, "forbidden")


# -- the unit's names -------------------------------------------------------------------


async def test_the_unit_has_names_in_every_language_by_default(app) -> None:
    async with api_client(app) as client:
        names = (await client.get("/api/community")).json()["unit_names"]
    assert names["en"] == {"one": "hour", "other": "hours"}
    assert names["es"] == {"one": "hora", "other": "horas"}
    assert names["el"]["other"] == "ώρες"
    assert names["ar"]["few"] == "ساعات"


async def test_stewards_name_the_unit_and_members_cannot(app, alice, bob) -> None:
    r = await alice.put("/api/admin/unit-names/es", json={"one": "hora de ayuda", "other": "horas"})
    assert r.json()["languages"]["es"] == {
        "forms": {"one": "hora de ayuda", "other": "horas"},
        "custom": True,
        "default": {"one": "hora", "other": "horas"},
    }
    names = (await bob.get("/api/community")).json()["unit_names"]
    assert names["es"]["one"] == "hora de ayuda"
    r = await alice.put("/api/admin/unit-names/es", json={"one": "hora"})
    assert is_problem(r, 400, "invalid_input") and "other is missing" in r.json()["detail"]
    r = await alice.put("/api/admin/unit-names/es", json={"one": "a", "other": "b", "lots": "c"})
    assert is_problem(r, 400, "invalid_input") and "'lots'" in r.json()["detail"]
    r = await alice.put("/api/admin/unit-names/xx", json={"one": "a", "other": "b"})
    assert is_problem(r, 400, "invalid_input") and "'xx'" in r.json()["detail"]
    r = await bob.put("/api/admin/unit-names/es", json={"one": "a", "other": "b"})
    assert is_problem(r, 403, "forbidden")
    assert (await alice.delete("/api/admin/unit-names/es")).json()["languages"]["es"][
        "custom"
    ] is False
    assert (await bob.get("/api/community")).json()["unit_names"]["es"]["one"] == "hora"


def test_the_operator_names_the_unit_from_the_command_line(data: Path) -> None:
    runner = CliRunner()
    env = {"LETSNODE_DATA": str(data)}
    r = runner.invoke(main, ["unit", "name", "pt", "--one", "hora", "--other", "horas!"], env=env)
    assert r.exit_code == 0, r.output
    assert "pt  one=hora, other=horas!  [set here]" in r.output
    r = runner.invoke(main, ["unit", "names", "--json"], env=env)
    value = json.loads(r.output)
    assert value["unit"] == "HOUR"
    assert value["languages"]["pt"] == {"forms": {"one": "hora", "other": "horas!"}, "custom": True}
    r = runner.invoke(main, ["unit", "name", "pt", "--one", "hora"], env=env)
    assert r.exit_code == 1 and "other is missing" in r.output and "[invalid_input]" in r.output
    r = runner.invoke(main, ["unit", "name", "pt", "--default"], env=env)
    assert r.exit_code == 0 and "[set here]" not in r.output
