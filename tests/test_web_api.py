"""The node's JSON API, over httpx's ASGI transport under trio: real SQLite in tmp_path and
real Ed25519 keys standing in for members' browsers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trio
from starlette.routing import Route

from letsnode.core.crypto import DOMAIN_SESSION
from letsnode.node.facade import Node
from letsnode.web.app import STATIC, create_app
from letsnode.web.common import Limits
from letsnode.web.i18n import LANGUAGES, LOCALES
from tests.web_helpers import (
    Member,
    api_client,
    challenge,
    is_problem,
    join,
    make_community,
    sign_in,
)

ALICE = Member.new("alice")
BOB = Member.new("bob")


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


# -- joining and sessions ----------------------------------------------------------------


async def test_join_by_invite_opens_the_account_at_once(app, node: Node) -> None:
    async with api_client(app) as client:
        r = await join(client, BOB, node.joins.create_invite())
        assert (r.status_code, r.json()["status"]) == (201, "admitted")
        assert node.account("bob").key == BOB.key.public
        assert (await sign_in(client, BOB.key)).json()["handle"] == "bob"
        me = (await client.get("/api/me")).json()
        assert (me["balance"], me["floor"], me["available_to_spend"]) == ("0.00", "-20.00", "20.00")


async def test_invite_is_spent_after_its_uses(app, node: Node) -> None:
    code = node.joins.create_invite(uses=1)
    async with api_client(app) as client:
        assert (await join(client, BOB, code)).status_code == 201
        r = await join(client, Member.new("carol"), code)
        assert is_problem(r, 409, "invalid_invite")


async def test_join_without_invite_waits_for_a_steward(app, node: Node, alice) -> None:
    async with api_client(app, "127.0.0.9") as client:
        r = await join(client, BOB)
        assert (r.status_code, r.json()["status"]) == (202, "pending")
        assert is_problem(await sign_in(client, BOB.key), 403, "join_pending")
        requests = (await alice.get("/api/admin/join-requests")).json()["requests"]
        assert [(q["handle"], q["key"]) for q in requests] == [("bob", BOB.public_hex)]
        r = await alice.post(f"/api/admin/join-requests/{requests[0]['id']}/approve")
        assert r.status_code == 200, r.text
        assert (await sign_in(client, BOB.key)).status_code == 201
        assert (await client.get("/api/me")).json()["handle"] == "bob"
        assert (await alice.get("/api/admin/join-requests")).json()["requests"] == []


async def test_joining_with_a_taken_handle_is_refused(app, alice) -> None:
    async with api_client(app, "127.0.0.9") as client:
        assert is_problem(await join(client, Member.new("alice")), 409, "handle_taken")


async def test_join_signed_by_another_key_is_refused(app) -> None:
    async with api_client(app) as client:
        value, community_id = await challenge(client, BOB.public_hex)
        forged = ALICE.key.sign(b"letsnode/join/v1\x00", community_id + value + b"bob")
        r = await client.post(
            "/api/join",
            json={
                "handle": "bob",
                "key": BOB.public_hex,
                "challenge": value.hex(),
                "signature": forged.hex(),
            },
        )
        assert is_problem(r, 403, "bad_signature")


async def test_session_needs_the_challenge_signed_by_the_key(app, alice) -> None:
    async with api_client(app) as client:
        value, community_id = await challenge(client, ALICE.public_hex)
        wrong_domain = ALICE.key.sign(b"letsnode/order/v1\x00", community_id + value)
        body = {"key": ALICE.public_hex, "challenge": value.hex(), "signature": wrong_domain.hex()}
        assert is_problem(await client.post("/api/session", json=body), 403, "bad_signature")
        # the challenge was spent by that try: a right signature cannot reuse it
        body["signature"] = ALICE.key.sign(DOMAIN_SESSION, community_id + value).hex()
        assert is_problem(await client.post("/api/session", json=body), 403, "bad_signature")


async def test_unauthenticated_reads_are_refused(app) -> None:
    async with api_client(app) as client:
        for path in (
            "/api/me",
            "/api/history",
            "/api/history.csv",
            "/api/listings",
            "/api/admin/accounts",
            "/api/events",
        ):
            assert is_problem(await client.get(path), 401, "unauthenticated"), path
        r = await client.get("/api/me", headers={"Authorization": "Bearer made-up"})
        assert is_problem(r, 401, "unauthenticated")


async def test_bearer_token_works_like_the_cookie(app, alice) -> None:
    async with api_client(app) as client:
        value, community_id = await challenge(client, ALICE.public_hex)
        signature = ALICE.key.sign(DOMAIN_SESSION, community_id + value)
        r = await client.post(
            "/api/session",
            json={
                "key": ALICE.public_hex,
                "challenge": value.hex(),
                "signature": signature.hex(),
                "token": True,
            },
        )
        assert "httponly" in r.headers["set-cookie"].lower()
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        token = r.json()["token"]
        client.cookies.clear()
        me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["handle"] == "alice"


async def test_sign_out_ends_the_session(alice) -> None:
    assert (await alice.delete("/api/session")).status_code == 204
    assert is_problem(await alice.get("/api/me"), 401, "unauthenticated")


async def test_node_key_signs_in_as_a_steward(app, node: Node, alice) -> None:
    async with api_client(app) as client:
        r = await sign_in(client, node.community.key)
        assert r.json() == {"handle": "@node", "key": node.community_id.hex(), "steward": True}
        assert (await client.get("/api/admin/accounts")).status_code == 200


# -- paying ------------------------------------------------------------------------------


async def test_pay_moves_money_and_both_histories_show_it(node: Node, alice, bob) -> None:
    nxt = (await alice.get("/api/orders/next")).json()
    assert (nxt["nonce"], nxt["community_id"]) == (1, node.community_id.hex())
    r = await alice.post("/api/payments", json=ALICE.order(node, "bob", 150, 1, "bread"))
    assert r.status_code == 201, r.text
    assert (r.json()["payment"]["amount"], r.json()["payer"]["balance"]) == ("1.50", "-1.50")
    assert (await bob.get("/api/me")).json()["balance"] == "1.50"
    for client in (alice, bob):
        payments = (await client.get("/api/history")).json()["payments"]
        assert [(p["payer"], p["payee"], p["amount"], p["memo"]) for p in payments] == [
            ("alice", "bob", "1.50", "bread")
        ]
    assert (await alice.get("/api/orders/next")).json()["nonce"] == 2


async def test_payment_below_the_floor_is_refused_and_changes_nothing(
    node: Node, alice, bob
) -> None:
    entries = node.community.ledger.next_seq
    r = await alice.post("/api/payments", json=ALICE.order(node, "bob", 2001, 1))
    assert is_problem(r, 409, "below_floor")
    assert "alice" in r.json()["detail"]
    assert (await alice.get("/api/me")).json()["balance"] == "0.00"
    assert (await bob.get("/api/me")).json()["balance"] == "0.00"
    assert node.community.ledger.next_seq == entries
    assert (await alice.get("/api/history")).json()["payments"] == []


async def test_payment_above_the_payee_ceiling_is_refused(node: Node, alice, bob) -> None:
    await alice.post("/api/admin/accounts/alice/limits", json={"floor": "-100", "ceiling": ""})
    r = await alice.post("/api/payments", json=ALICE.order(node, "bob", 4001, 1))
    assert is_problem(r, 409, "above_ceiling")


async def test_payment_with_a_bad_signature_is_refused(node: Node, alice, bob) -> None:
    body = ALICE.order(node, "bob", 100, 1)
    body["signature"] = BOB.order(node, "alice", 100, 1)["signature"]
    assert is_problem(await alice.post("/api/payments", json=body), 403, "bad_signature")
    forged = Member("alice", BOB.key).order(node, "bob", 100, 1)  # bob signs as alice
    assert is_problem(await bob.post("/api/payments", json=forged), 403, "bad_signature")
    assert (await alice.get("/api/me")).json()["balance"] == "0.00"


async def test_replayed_order_is_refused(node: Node, alice, bob) -> None:
    body = ALICE.order(node, "bob", 100, 1)
    assert (await alice.post("/api/payments", json=body)).status_code == 201
    assert is_problem(await alice.post("/api/payments", json=body), 409, "replayed_order")
    assert (await bob.get("/api/me")).json()["balance"] == "1.00"


async def test_malformed_orders_are_refused_with_their_code(node: Node, alice, bob) -> None:
    r = await alice.post("/api/payments", json={"order": "zz", "signature": "00" * 64})
    assert is_problem(r, 400, "invalid_input")
    r = await alice.post("/api/payments", json={"order": "c0", "signature": "00" * 64})
    assert is_problem(r, 400, "decode_error")
    unknown = ALICE.order(node, "nobody", 100, 1)
    assert is_problem(await alice.post("/api/payments", json=unknown), 404, "unknown_account")


async def test_frozen_account_cannot_pay(node: Node, alice, bob) -> None:
    r = await alice.post("/api/admin/accounts/bob/status", json={"status": "frozen"})
    assert r.json()["account"]["status"] == "frozen"
    r = await bob.post("/api/payments", json=BOB.order(node, "alice", 100, 1))
    assert is_problem(r, 409, "account_frozen")


async def test_members_cannot_use_steward_pages(bob) -> None:
    assert is_problem(await bob.get("/api/admin/accounts"), 403, "forbidden")
    r = await bob.post("/api/admin/accounts/bob/limits", json={"floor": "-1000"})
    assert is_problem(r, 403, "forbidden")


async def test_steward_sets_limits_and_audits(alice, bob) -> None:
    r = await alice.post("/api/admin/accounts/bob/limits", json={"floor": "-50", "ceiling": "90"})
    assert (r.json()["account"]["floor"], r.json()["account"]["ceiling"]) == ("-50.00", "90.00")
    assert (await bob.get("/api/me")).json()["available_to_spend"] == "50.00"
    audit = (await alice.get("/api/admin/audit")).json()
    assert (audit["ok"], audit["accounts"]) == (True, 2)


async def test_payment_events_reach_the_payee(node: Node) -> None:
    node.community.admit("carol")
    node.community.admit("dan")
    async with node.events.subscribe() as events:
        signed = node.community.sign_order("carol", "dan", 250, "soup")
        await node.pay(signed)
        with trio.fail_after(1):
            event = await events.receive()
    assert (event["kind"], event["payee"], event["amount_minor"]) == ("payment", "dan", 250)
    assert len(node.events) == 0


async def test_live_updates_reach_only_the_accounts_they_name_and_stewards(node: Node) -> None:
    for handle in ("carol", "dan", "erin"):
        node.community.admit(handle)
    async with (
        node.events.subscribe("dan") as dan,
        node.events.subscribe("erin") as erin,
        node.events.subscribe() as steward,
    ):
        assert len(node.events) == 3
        await node.pay(node.community.sign_order("carol", "dan", 100, "soup"))
        with trio.fail_after(1):
            assert (await dan.receive())["payer"] == "carol"
            assert (await steward.receive())["payee"] == "dan"
        with pytest.raises(trio.WouldBlock):
            erin.receive_nowait()  # erin's wallet is not woken by others' payments
        await node.pay(node.community.sign_order("dan", "erin", 50, "bread"))
        with trio.fail_after(1):
            assert (await erin.receive())["payer"] == "dan"
            assert (await dan.receive())["payee"] == "erin"
    assert len(node.events) == 0


# -- history, payment requests, preferences ----------------------------------------------


async def test_history_filters_and_csv_export(node: Node, alice, bob) -> None:
    node.community.admit("carol")
    await alice.post("/api/payments", json=ALICE.order(node, "bob", 150, 1, "=cmd|calc"))
    await alice.post("/api/payments", json=ALICE.order(node, "carol", 75, 2, "soup, with bread"))
    with_bob = (await alice.get("/api/history", params={"counterparty": "bob"})).json()
    assert [p["payee"] for p in with_bob["payments"]] == ["bob"]
    future = (await alice.get("/api/history", params={"from": "2999-01-01"})).json()
    assert future["payments"] == []
    r = await alice.get("/api/history.csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["seq", "time", "payer", "payee", "paid", "received", "unit", "memo"]
    assert [tuple(x[2:]) for x in rows[1:]] == [
        ("alice", "carol", "0.75", "", "HOUR", "soup, with bread"),
        ("alice", "bob", "1.50", "", "HOUR", "'=cmd|calc"),
    ]
    bob_rows = list(csv.reader(io.StringIO((await bob.get("/api/history.csv")).text)))
    assert (bob_rows[1][4], bob_rows[1][5]) == ("", "1.50")


async def test_payment_request_qr_is_an_svg_of_the_link(alice) -> None:
    r = await alice.get(
        "/api/payment-requests/qr.svg", params={"to": "alice", "amount": "2.50", "memo": "bread"}
    )
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.text.startswith("<svg") and "<script" not in r.text
    r = await alice.get("/api/payment-requests/qr.svg", params={"to": "alice", "amount": "2.505"})
    assert is_problem(r, 400, "invalid_input")


async def test_language_preference_is_remembered(alice) -> None:
    assert (await alice.put("/api/me/language", json={"language": "ar"})).status_code == 200
    assert (await alice.get("/api/me")).json()["language"] == "ar"
    r = await alice.put("/api/me/language", json={"language": "xx"})
    assert is_problem(r, 400, "invalid_input")


async def test_member_autocomplete_lists_active_handles(alice, bob) -> None:
    found = (await alice.get("/api/members", params={"q": "b"})).json()["members"]
    assert [m["handle"] for m in found] == ["bob"]


# -- offers and wants --------------------------------------------------------------------


async def test_listings_can_be_posted_edited_searched_and_withdrawn(alice, bob) -> None:
    r = await alice.post(
        "/api/listings",
        json={
            "kind": "offer",
            "category": "food",
            "title": "Sourdough bread",
            "description": "Baked on Saturdays <b>fresh</b>",
            "contact": "ring 555-0101",
        },
    )
    assert r.status_code == 201, r.text
    listing = r.json()
    await bob.post(
        "/api/listings", json={"kind": "want", "category": "learning", "title": "Greek lessons"}
    )
    found = (await bob.get("/api/listings", params={"q": "bread"})).json()["listings"]
    assert [(x["title"], x["description"]) for x in found] == [
        ("Sourdough bread", "Baked on Saturdays <b>fresh</b>")
    ]
    assert [
        x["title"]
        for x in (await bob.get("/api/listings", params={"q": "sour"})).json()["listings"]
    ] == ["Sourdough bread"]
    wants = (await bob.get("/api/listings", params={"kind": "want"})).json()["listings"]
    assert [x["title"] for x in wants] == ["Greek lessons"]
    r = await bob.put(f"/api/listings/{listing['id']}", json={"title": "mine now"})
    assert is_problem(r, 403, "forbidden")
    r = await alice.put(f"/api/listings/{listing['id']}", json={"title": "Rye bread"})
    assert r.json()["title"] == "Rye bread"
    assert (await bob.get("/api/listings", params={"q": "sourdough"})).json()["listings"] == []
    assert (await alice.delete(f"/api/listings/{listing['id']}")).status_code == 204
    assert (await bob.get("/api/listings", params={"q": "rye"})).json()["listings"] == []


async def test_listing_with_unknown_category_is_refused(alice) -> None:
    r = await alice.post(
        "/api/listings", json={"kind": "offer", "category": "weapons", "title": "x"}
    )
    assert is_problem(r, 400, "invalid_input")


async def test_search_text_cannot_break_the_fts_query(alice) -> None:
    for text in ['"', "bread OR", "NEAR(", "*", "a AND -b"]:
        r = await alice.get("/api/listings", params={"q": text})
        assert r.status_code == 200, (text, r.text)


# -- the API's own rules -----------------------------------------------------------------


def api_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/"):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((route.path, method.lower()))
    return found


async def test_openapi_document_lists_every_api_route(app) -> None:
    async with api_client(app) as client:
        r = await client.get("/api/openapi.json")
    document = json.loads(r.text)
    assert document["openapi"].startswith("3.")
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert listed == api_routes(app)


def body_schema(document: dict, path: str, method: str = "post") -> dict:
    operation = document["paths"][path][method]
    return operation["requestBody"]["content"]["application/json"]["schema"]["properties"]


async def test_openapi_document_states_key_and_signature_lengths(app) -> None:
    async with api_client(app) as client:
        document = (await client.get("/api/openapi.json")).json()
    for path in ("/api/session", "/api/join"):
        fields = body_schema(document, path)
        assert (fields["key"]["minLength"], fields["key"]["maxLength"]) == (64, 64), path
        assert (fields["signature"]["minLength"], fields["signature"]["maxLength"]) == (128, 128)
    assert body_schema(document, "/api/payments")["signature"]["maxLength"] == 128
    assert "nested at most 32 levels" in document["info"]["description"]


async def test_responses_carry_a_strict_content_security_policy(app) -> None:
    async with api_client(app) as client:
        for path in ("/", "/api/community", "/js/main.js", "/api/me"):
            r = await client.get(path)
            csp = r.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src 'self'" in csp, path
            assert "unsafe-inline" not in csp
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["x-content-type-options"] == "nosniff"


async def test_state_changes_need_the_csrf_header_and_same_origin(app, node: Node) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        r = await client.post("/api/session/challenge", json={"key": ALICE.public_hex})
        assert is_problem(r, 403, "csrf")
        r = await client.post(
            "/api/session/challenge",
            json={"key": ALICE.public_hex},
            headers={"X-Letsnode": "1", "Origin": "http://evil.example"},
        )
        assert is_problem(r, 403, "csrf")
        r = await client.post(
            "/api/session/challenge",
            json={"key": ALICE.public_hex},
            headers={"X-Letsnode": "1", "Origin": "http://testserver"},
        )
        assert r.status_code == 200


async def test_an_origin_of_another_scheme_is_cross_origin(app) -> None:
    async with api_client(app, "10.0.0.9") as client:
        for origin in ("https://testserver", "http://testserver:8443", "ws://testserver"):
            r = await client.post(
                "/api/session/challenge",
                json={"key": ALICE.public_hex},
                headers={"X-Letsnode": "1", "Origin": origin},
            )
            assert is_problem(r, 403, "csrf"), origin


async def test_a_local_tls_proxy_states_the_scheme_and_nobody_else_can(app) -> None:
    """Behind a TLS reverse proxy on the same machine, the browser's origin is https."""
    headers = {"X-Letsnode": "1", "Origin": "https://testserver", "X-Forwarded-Proto": "https"}
    body = {"key": ALICE.public_hex}
    async with api_client(app, "127.0.0.1") as proxied:
        r = await proxied.post("/api/session/challenge", json=body, headers=headers)
        assert r.status_code == 200
    async with api_client(app, "10.0.0.9") as remote:
        r = await remote.post("/api/session/challenge", json=body, headers=headers)
        assert is_problem(r, 403, "csrf")


async def test_deeply_nested_json_is_invalid_input_not_a_crash(app) -> None:
    async with api_client(app) as client:
        for body in (b"[" * 5000 + b"]" * 5000, b'{"key":' + b"[" * 40 + b"]" * 40 + b"}"):
            r = await client.post(
                "/api/session/challenge",
                content=body,
                headers={"content-type": "application/json", "X-Letsnode": "1"},
            )
            assert is_problem(r, 400, "invalid_input")
            assert "nested more than 32 levels" in r.json()["detail"]
        # brackets inside strings do not count
        r = await client.post(
            "/api/session/challenge",
            json={"key": ALICE.public_hex, "note": "[" * 100},
            headers={"X-Letsnode": "1"},
        )
        assert r.status_code == 200


async def test_get_never_changes_state(app) -> None:
    async with api_client(app) as client:
        for path in ("/api/join", "/api/payments", "/api/session/challenge"):
            assert is_problem(await client.get(path), 405, "method_not_allowed"), path


async def test_oversized_and_non_json_bodies_are_refused(app) -> None:
    async with api_client(app) as client:
        r = await client.post(
            "/api/join",
            content=b"{" + b" " * 20000 + b"}",
            headers={"content-type": "application/json"},
        )
        assert is_problem(r, 413, "payload_too_large")
        r = await client.post(
            "/api/session/challenge",
            content=b"key=00",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert is_problem(r, 415, "unsupported_media_type")


async def test_joins_are_rate_limited_per_address(node: Node) -> None:
    app = create_app(node, limits=Limits(joins_per_address=(0.001, 2)))
    async with api_client(app, "10.0.0.7") as client:
        codes = [(await join(client, Member.new(f"m{i}"))).status_code for i in range(3)]
    assert codes == [202, 202, 429]


async def test_payments_are_rate_limited_per_payer(node: Node, alice, bob) -> None:
    alice._transport.app.state.limits = Limits(payments_per_payer=(0.001, 1))  # type: ignore[attr-defined]
    assert (
        await alice.post("/api/payments", json=ALICE.order(node, "bob", 1, 1))
    ).status_code == 201
    r = await alice.post("/api/payments", json=ALICE.order(node, "bob", 1, 2))
    assert is_problem(r, 429, "rate_limited")


async def test_unknown_api_path_is_a_problem(app) -> None:
    async with api_client(app) as client:
        assert is_problem(await client.get("/api/nothing"), 404, "not_found")


# -- the wallet's static files -----------------------------------------------------------


def wallet_sources() -> dict[Path, str]:
    return {p: p.read_text() for p in STATIC.rglob("*") if p.suffix in (".js", ".html")}


def test_every_catalog_has_every_key_the_wallet_uses() -> None:
    used: set[str] = set()
    for text in wallet_sources().values():
        used |= set(re.findall(r"\bt\(\s*\"([a-z_]+\.[a-z_]+)\"", text))
    english = json.loads((LOCALES / "en.json").read_text())
    assert used <= set(english), used - set(english)
    for code in LANGUAGES:
        catalog = json.loads((LOCALES / f"{code}.json").read_text())
        assert set(catalog) == set(english), code
        for key, text in catalog.items():
            assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", english[key])), (
                code,
                key,
            )


def test_wallet_has_no_inline_scripts_styles_or_inner_html() -> None:
    for path, text in wallet_sources().items():
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path
        assert " style=" not in text and "onclick=" not in text, path
        if path.suffix == ".html":
            assert re.search(r"<script(?![^>]*\bsrc=)", text) is None, path
            assert "<style" not in text, path


async def test_payments_go_through_the_ledger_writer_when_the_node_has_one(
    node: Node, alice, bob
) -> None:
    from letsnode.audit.pool import VerifyPool
    from letsnode.node.ingest import open_ledger_writer

    with VerifyPool("inline") as pool:
        async with open_ledger_writer(node.community, pool=pool) as writer:
            node.writer = writer
            try:
                ok = await alice.post("/api/payments", json=ALICE.order(node, "bob", 150, 1))
                assert ok.status_code == 201, ok.text
                too_much = ALICE.order(node, "bob", 5000, 2)
                assert is_problem(
                    await alice.post("/api/payments", json=too_much), 409, "below_floor"
                )
                forged = Member("alice", BOB.key).order(node, "bob", 100, 2)
                assert is_problem(
                    await bob.post("/api/payments", json=forged), 403, "bad_signature"
                )
                r = await alice.post("/api/admin/accounts/bob/status", json={"status": "frozen"})
                assert r.status_code == 200, r.text
            finally:
                node.writer = None
            assert writer.stats.entries == 2
    assert (await bob.get("/api/me")).json()["balance"] == "1.50"
