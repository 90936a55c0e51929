"""Both HTTP servers a node can run (its own, the default, and Hypercorn) serve the wallet and
API alike: the same requests over real sockets get the same statuses, headers that matter
and bodies, live updates included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import trio

from letsnode.core.crypto import SigningKey
from letsnode.core.wire.entries import Order
from letsnode.http import HTTP_SERVERS, HttpServerKind, split_host_port
from letsnode.node.facade import Node
from letsnode.node.run import run_node
from letsnode.web.common import SESSION_COOKIE
from tests.web_helpers import Member, join, make_community, sign_in

STRIPPED = {"id", "time", "timestamp_ms", "challenge", "entry", "seq", "at", "created", "expires"}


def shape(value: Any) -> Any:
    """``value`` with what differs from run to run (times, ids, nonces) blanked."""
    if isinstance(value, dict):
        return {k: "…" if k in STRIPPED else shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return value


async def transcript(folder: Path, server: HttpServerKind) -> list[Any]:
    """What a member's wallet sees of a session on a node served by ``server``."""
    data = make_community(folder)
    node = Node.open(data)
    invites = [node.joins.create_invite(1, 1) for _ in range(2)]
    community_id = node.community_id
    node.close()
    seen: list[Any] = []

    def note(response: httpx.Response) -> None:
        headers = {
            k: response.headers.get(k)
            for k in ("content-type", "content-security-policy", "cache-control", "x-frame-options")
        }
        body = (
            response.json()
            if response.content and "json" in (headers["content-type"] or "")
            else len(response.content)
        )
        seen.append(
            (
                response.request.method,
                response.request.url.path,
                response.status_code,
                headers,
                shape(body),
            )
        )

    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: run_node(
                data, "127.0.0.1:0", task_status=task_status, http_server=server
            )
        )
        ana = Member("ana", SigningKey(b"a" * 32))  # the same keys on both nodes
        ben = Member("ben", SigningKey(b"b" * 32))
        async with httpx.AsyncClient(
            base_url=url, headers={"X-Letsnode": "1", "Origin": url}
        ) as client:
            note(await client.get("/"))
            note(await client.head("/api/community"))
            note(await client.get("/api/community"))
            note(await client.get("/api/me"))  # no session yet
            note(await join(client, ben, invites[1]))
            note(await join(client, ana, invites[0]))
            note(await sign_in(client, ana.key))
            note(await client.get("/api/me"))
            note(await client.post("/api/payments", content=b"{not json"))
            note(await client.post("/api/payments", headers={"X-Letsnode": ""}, json={}))
            events = await open_events(url, client.cookies[SESSION_COOKIE])
            async with events:
                signed = Order(community_id, "ana", "ben", 150, 1, "bread").sign(ana.key)
                order = {"order": signed.data.hex(), "signature": signed.signature.hex()}
                note(await client.post("/api/payments", json=order))
                note(await client.post("/api/payments", json=order))  # the same nonce again
                seen.append(("event", shape(await first_event(events))))
            note(await client.get("/api/history"))
        nursery.cancel_scope.cancel()
    return seen


async def open_events(url: str, session: str) -> trio.SocketStream:
    """``GET /api/events`` on a raw connection, as the wallet's EventSource asks for it."""
    host, port = split_host_port(url.removeprefix("http://"))
    stream = await trio.open_tcp_stream(host, port)
    await stream.send_all(
        f"GET /api/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Accept: text/event-stream\r\nCookie: {SESSION_COOKIE}={session}\r\n\r\n".encode()
    )
    return stream


async def first_event(stream: trio.SocketStream) -> Any:
    """The data of the first event the stream carries (its chunk framing skipped)."""
    received = b""
    with trio.fail_after(10):
        while b"data: " not in received or b"\n\n" not in received.split(b"data: ", 1)[1]:
            received += await stream.receive_some(65536)
    data = received.split(b"data: ", 1)[1].split(b"\n\n", 1)[0]
    return json.loads(data)


async def test_both_servers_serve_the_wallet_alike(tmp_path: Path) -> None:
    runs = {server: await transcript(tmp_path / server, server) for server in HTTP_SERVERS}
    ours, theirs = runs["letsnode"], runs["hypercorn"]
    assert ours == theirs
    statuses = [step[2] for step in ours if step[0] != "event"]
    # page, HEAD, community, me (signed out), two joins, session, me, a body that is not
    # JSON, a POST without the CSRF header, the payment, the same order again, history
    assert statuses == [200, 200, 200, 401, 201, 201, 201, 200, 415, 403, 201, 409, 200]
    events = [step[1] for step in ours if step[0] == "event"]
    assert events == [
        {
            "type": "entry",
            "seq": "…",
            "kind": "payment",
            "handles": ["ana", "ben"],
            "payer": "ana",
            "payee": "ben",
            "amount_minor": 150,
        }
    ]
