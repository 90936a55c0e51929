"""Paying members of other communities through the API: httpx's ASGI transport under trio,
a ``Node`` (community "a") whose federation is a real ``Federation`` on the in-memory
transport, with lines a–b and b–c to two more communities (tests/fed_harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio

from letsnode.community.folder import DB_NAME, Community
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.federation.service import Federation, FederationConfig
from letsnode.net.memory import MemoryNetwork
from letsnode.node.facade import Node
from letsnode.store.db import connect
from letsnode.store.federation_store import FederationStore
from letsnode.store.web_store import WebStore
from letsnode.web.app import create_app
from letsnode.web.common import Limits
from letsnode.web.transfers import transfer_rows
from tests.fed_harness import FedNode, adverts_settled, federation, open_line, virtual_ms
from tests.web_helpers import Member, api_client, is_problem, join, make_community, sign_in

MARIA = Member.new("maria")
BRUNO = Member.new("bruno")
LINE = 5000  # 50.00 HOUR each way on both lines


@dataclass
class World:
    node: Node  # community "a", with the web
    b: FedNode
    c: FedNode
    maria: httpx.AsyncClient
    bruno: httpx.AsyncClient


@asynccontextmanager
async def web_node(tmp: Path, network: MemoryNetwork) -> AsyncIterator[Node]:
    """Community "a" as a Node with its federation running on ``network``."""
    community = Community.create(
        tmp / "a", name="Bank a", short="a", unit="HOUR", scale=2, floor=-10_000, ceiling=10_000
    )
    node = Node(community, WebStore(connect(tmp / "a" / DB_NAME)))
    try:
        node.clock = community.clock = virtual_ms
        config = FederationConfig(advert_interval_s=2.0, tick_s=0.2)
        async with network.transport(community.key.public) as transport, trio.open_nursery() as n:
            node.federation = Federation(
                node, transport, FederationStore(community.store.conn), config
            )
            await n.start(node.federation.run)
            yield node
            n.cancel_scope.cancel()
    finally:
        node.federation = None
        node.close()


@pytest.fixture
async def world(tmp_path: Path, autojump_clock) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    network = MemoryNetwork()
    async with (
        federation(tmp_path, ["b", "c"], network) as (_, n),
        web_node(tmp_path, network) as node,
    ):
        assert node.federation is not None
        a = FedNode(node.community, node.federation)
        await open_line(a, n["b"], LINE, LINE)
        await open_line(n["b"], n["c"], LINE, LINE)
        await adverts_settled([a, n["b"], n["c"]])
        app = create_app(node)
        async with api_client(app) as maria, api_client(app, "127.0.0.2") as bruno:
            for client, who in ((maria, MARIA), (bruno, BRUNO)):
                assert (await join(client, who, node.joins.create_invite())).status_code == 201
                assert (await sign_in(client, who.key)).status_code == 201
            yield World(node, n["b"], n["c"], maria, bruno)


async def remote_order(
    client: httpx.AsyncClient, who: Member, payee: FedNode, handle: str, amount: int, memo: str = ""
) -> dict[str, str]:
    """What the wallet posts: the remote order with the next nonce, signed by ``who``."""
    nxt = (await client.get("/api/orders/next")).json()
    order = RemoteOrder(
        bytes.fromhex(nxt["community_id"]), who.handle, payee.id, handle, amount, nxt["nonce"], memo
    )
    data, signature = order.sign(who.key)
    return {"order": data.hex(), "signature": signature.hex()}


async def test_a_member_pays_a_member_two_lines_away(world: World) -> None:
    r = await world.maria.get("/api/resolve", params={"address": "m-c@c"})
    assert r.status_code == 200, r.text
    found = r.json()
    assert found == {
        "handle": "m-c",
        "local": False,
        "community_id": world.c.id.hex(),
        "short": "c",
        "name": "Bank c",
        "unit": "HOUR",
        "scale": 2,
    }
    body = await remote_order(world.maria, MARIA, world.c, "m-c", 150, "soup")
    r = await world.maria.post("/api/transfers", json=body)
    assert r.status_code == 200, r.text
    outcome = r.json()
    assert (outcome["state"], outcome["code"]) == ("fulfilled", "fulfilled")
    assert (outcome["amount"], outcome["delivered"], outcome["payee"]) == ("1.50", "1.50", "m-c@c")
    assert [hop["short"] for hop in outcome["route"]] == ["b", "c"]
    assert (await world.maria.get("/api/me")).json()["balance"] == "-1.50"
    assert world.c.community.account("m-c").balance == 150
    listed = (await world.maria.get("/api/transfers")).json()["transfers"]
    assert [
        (x["direction"], x["state"], x["counterparty"], x["amount"], x["memo"]) for x in listed
    ] == [("out", "fulfilled", "m-c@c", "1.50", "soup")]
    assert listed[0]["transfer_id"] == outcome["transfer_id"]
    assert (await world.maria.get("/api/orders/next")).json()["nonce"] == 2


async def test_the_payees_community_lists_the_payment_from_its_origin(world: World) -> None:
    body = await remote_order(world.maria, MARIA, world.c, "m-c", 75, "bread")
    assert (await world.maria.post("/api/transfers", json=body)).json()["state"] == "fulfilled"
    c = world.c.community
    rows = transfer_rows(c.store.legs("m-c", 10), world.c.federation)
    assert [(r.direction, r.state, r.counterparty, r.amount, r.memo) for r in rows] == [
        ("in", "fulfilled", "maria@a", 75, "bread")
    ]


async def test_a_payment_beyond_the_lines_is_a_no_route_problem(world: World) -> None:
    body = await remote_order(world.maria, MARIA, world.c, "m-c", LINE + 1)
    r = await world.maria.post("/api/transfers", json=body)
    assert is_problem(r, 409, "no_route")
    assert not world.node.community.ledger.holds
    assert (await world.maria.get("/api/me")).json()["balance"] == "0.00"
    assert (await world.maria.get("/api/transfers")).json()["transfers"] == []


async def test_a_payment_the_payees_community_refuses_is_rejected_and_takes_nothing(
    world: World,
) -> None:
    world.c.community.set_limits("m-c", -10_000, 100)
    body = await remote_order(world.maria, MARIA, world.c, "m-c", 150)
    r = await world.maria.post("/api/transfers", json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["code"]) == ("rejected", "above_ceiling")
    assert (await world.maria.get("/api/me")).json()["balance"] == "0.00"
    listed = (await world.maria.get("/api/transfers")).json()["transfers"]
    assert [(x["state"], x["code"]) for x in listed] == [("rejected", "above_ceiling")]


async def test_an_unknown_payee_is_refused_before_anything_is_held(world: World) -> None:
    body = await remote_order(world.maria, MARIA, world.c, "ghost", 100)
    assert is_problem(await world.maria.post("/api/transfers", json=body), 404, "unknown_account")
    assert not world.node.community.ledger.holds


async def test_unauthenticated_callers_are_refused(world: World) -> None:
    body = await remote_order(world.maria, MARIA, world.c, "m-c", 100)
    async with api_client(create_app(world.node), "127.0.0.9") as stranger:
        assert is_problem(await stranger.post("/api/transfers", json=body), 401, "unauthenticated")
        assert is_problem(await stranger.get("/api/transfers"), 401, "unauthenticated")
        r = await stranger.get("/api/resolve", params={"address": "m-c@c"})
        assert is_problem(r, 401, "unauthenticated")
    assert world.c.community.account("m-c").balance == 0


async def test_a_member_cannot_send_another_members_order(world: World) -> None:
    body = await remote_order(world.maria, MARIA, world.c, "m-c", 100)
    r = await world.bruno.post("/api/transfers", json=body)
    assert is_problem(r, 403, "forbidden")
    assert "bruno" in r.json()["detail"] and "maria" in r.json()["detail"]
    assert not world.node.community.ledger.holds
    forged = await remote_order(world.maria, Member("maria", BRUNO.key), world.c, "m-c", 100)
    assert is_problem(await world.maria.post("/api/transfers", json=forged), 403, "bad_signature")


async def test_resolving_an_unknown_community_is_a_404(world: World) -> None:
    r = await world.maria.get("/api/resolve", params={"address": "karim@nowhere"})
    assert is_problem(r, 404, "unknown_community")
    r = await world.maria.get("/api/resolve", params={"address": "karim"})
    assert is_problem(r, 400, "invalid_input")


async def test_resolving_this_communitys_own_name_says_local(world: World) -> None:
    found = (await world.maria.get("/api/resolve", params={"address": "bruno@a"})).json()
    assert (found["local"], found["handle"], found["short"]) == (True, "bruno", "a")


async def test_malformed_remote_orders_are_refused_with_their_code(world: World) -> None:
    r = await world.maria.post("/api/transfers", json={"order": "c0", "signature": "00" * 64})
    assert is_problem(r, 400, "decode_error")
    r = await world.maria.post(
        "/api/transfers", json={"order": "00" * 4097, "signature": "00" * 64}
    )
    assert is_problem(r, 400, "invalid_input")


async def test_remote_payments_are_rate_limited_per_payer(world: World) -> None:
    world.maria._transport.app.state.limits = Limits(payments_per_payer=(0.001, 1))  # type: ignore[attr-defined]
    first = await remote_order(world.maria, MARIA, world.c, "m-c", 10)
    assert (await world.maria.post("/api/transfers", json=first)).status_code == 200
    second = await remote_order(world.maria, MARIA, world.c, "m-c", 10)
    assert is_problem(await world.maria.post("/api/transfers", json=second), 429, "rate_limited")


@pytest.fixture
def bare_node(tmp_path: Path) -> Iterator[Node]:
    node = Node.open(make_community(tmp_path / "bank"))
    yield node
    node.close()


async def test_without_a_federation_paying_across_is_unavailable(bare_node: Node) -> None:
    async with api_client(create_app(bare_node)) as client:
        assert (await join(client, MARIA, bare_node.joins.create_invite())).status_code == 201
        assert (await sign_in(client, MARIA.key)).status_code == 201
        r = await client.get("/api/resolve", params={"address": "karim@c"})
        assert is_problem(r, 503, "federation_unavailable")
        order = RemoteOrder(bare_node.community_id, "maria", bytes(32), "karim", 10, 1, "")
        data, signature = order.sign(MARIA.key)
        r = await client.post(
            "/api/transfers", json={"order": data.hex(), "signature": signature.hex()}
        )
        assert is_problem(r, 503, "federation_unavailable")
        assert (await client.get("/api/transfers")).json() == {"transfers": []}
