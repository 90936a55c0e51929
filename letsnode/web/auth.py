"""Signing in with a key, and joining.

A member proves they hold their key by signing a fresh node challenge under
``letsnode/session/v1\\0`` (bound to this community's id); the node answers with a session
token in an HttpOnly, SameSite=Strict cookie (or in the body, for scripts that send it as
``Authorization: Bearer``). Joining signs the challenge and the handle under
``letsnode/join/v1\\0``. The node never sees a private key.

A join that waits for a steward sets a second HttpOnly cookie, the joiner's token: with it
the waiting browser hears the decision live (``/api/join/events``) and ``GET
/api/session`` says where the request stands, so the wallet never has to try signing in
to find out. ``GET /api/session`` always answers 200: who is signed in, if anyone.
"""

from __future__ import annotations

import contextlib
import json
import secrets

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from letsnode.core.crypto import DOMAIN_JOIN, DOMAIN_SESSION, KEY_BYTES, SIGNATURE_BYTES
from letsnode.core.errors import LetsError, Unauthenticated
from letsnode.store.web_store import JoinRequest
from letsnode.web.common import (
    JOIN_COOKIE,
    SESSION_COOKIE,
    client_address,
    hex_field,
    json_body,
    limits_of,
    node_of,
    ok,
    session_token,
    text_field,
    until_disconnect,
)
from letsnode.web.port import SESSION_SECONDS, NodePort, Principal
from letsnode.web.wallet import KEEPALIVE_SECONDS

JOIN_TOKEN_SECONDS = 30 * 24 * 3600


def principal_json(p: Principal) -> dict[str, object]:
    return {"handle": p.handle, "key": p.key.hex(), "steward": p.steward}


async def challenge(request: Request) -> Response:
    limits_of(request).check("sessions_per_address", client_address(request))
    body = await json_body(request)
    node = node_of(request)
    value = node.sessions.new_challenge(hex_field(body, "key", KEY_BYTES))
    return ok(
        {
            "challenge": value.hex(),
            "community_id": node.community_id.hex(),
            "session_domain": DOMAIN_SESSION.decode(),
            "join_domain": DOMAIN_JOIN.decode(),
        }
    )


async def open_session(request: Request) -> Response:
    limits_of(request).check("sessions_per_address", client_address(request))
    body = await json_body(request)
    token, principal = node_of(request).sessions.open_session(
        hex_field(body, "key", KEY_BYTES),
        hex_field(body, "challenge", 32),
        hex_field(body, "signature", SIGNATURE_BYTES),
    )
    value = principal_json(principal)
    if body.get("token") is True:
        value["token"] = token
    response = ok(value, 201)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def close_session(request: Request) -> Response:
    token = session_token(request)
    if token is not None:
        node_of(request).sessions.close_session(token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def join_json(r: JoinRequest) -> dict[str, object]:
    return {"status": r.status, "handle": r.handle, "key": r.key.hex()}


def join_request_of(request: Request) -> JoinRequest | None:
    """The join request of the waiting joiner's token cookie, if any."""
    token = request.cookies.get(JOIN_COOKIE)
    return node_of(request).web.join_request_by_token(token) if token else None


async def session_status(request: Request) -> Response:
    node = node_of(request)
    value: dict[str, object] = {"member": None, "join": None}
    token = session_token(request)
    if token is not None:
        with contextlib.suppress(LetsError):
            value["member"] = principal_json(node.sessions.session(token))
    if value["member"] is None and JOIN_COOKIE in request.cookies:
        limits_of(request).check("joins_followed_per_address", client_address(request))
        found = join_request_of(request)
        value["join"] = None if found is None else join_json(found)
    return ok(value)


async def join(request: Request) -> Response:
    limits_of(request).check("joins_per_address", client_address(request))
    body = await json_body(request)
    invite = text_field(body, "invite", required=False) or None
    node = node_of(request)
    joined = await node.joins.join(
        text_field(body, "handle"),
        hex_field(body, "key", KEY_BYTES),
        hex_field(body, "challenge", 32),
        hex_field(body, "signature", SIGNATURE_BYTES),
        invite,
    )
    response = ok(
        {"status": joined.status, "handle": joined.handle, "request_id": joined.request_id},
        201 if joined.status == "admitted" else 202,
    )
    if joined.request_id is not None:
        token = secrets.token_urlsafe(32)
        node.web.set_join_token(joined.request_id, token)
        response.set_cookie(
            JOIN_COOKIE,
            token,
            max_age=JOIN_TOKEN_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


class JoinStream:
    """An SSE response for a waiting joiner: a ``join`` event with where the request
    stands at once, and again when a steward decides (then the stream ends)."""

    def __init__(self, node: NodePort, found: JoinRequest) -> None:
        self.node = node
        self.found = found

    def status(self) -> str:
        now = self.node.web.join_request(self.found.id)
        return "rejected" if now is None else now.status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        events = self.node.events
        async with events.subscribe(self.found.handle) as rx:

            async def stream() -> None:
                await self._pump(rx, send)
                await send({"type": "http.response.body", "body": b"", "more_body": False})

            await until_disconnect(receive, stream)

    def _event(self, status: str) -> bytes:
        data = {"status": status, "handle": self.found.handle}
        return f"event: join\ndata: {json.dumps(data)}\n\n".encode()

    async def _pump(self, rx: trio.MemoryReceiveChannel[dict[str, object]], send: Send) -> None:
        status = self.status()
        first = b"retry: 5000\n\n" + self._event(status)
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while status == "pending":
            heard = None
            with trio.move_on_after(KEEPALIVE_SECONDS):
                heard = await rx.receive()
            now = self.status()
            if now != status:
                status = now
                body = self._event(status)
            elif heard is None:
                body = b": keepalive\n\n"
            else:
                continue
            await send({"type": "http.response.body", "body": body, "more_body": True})


async def join_events(request: Request) -> Response:
    limits_of(request).check("joins_followed_per_address", client_address(request))
    found = join_request_of(request)
    if found is None:
        raise Unauthenticated("no request to join is known from this browser")
    return JoinStream(node_of(request), found)  # type: ignore[return-value]


routes = [
    Route("/api/session/challenge", challenge, methods=["POST"]),
    Route("/api/session", open_session, methods=["POST"]),
    Route("/api/session", session_status, methods=["GET"]),
    Route("/api/session", close_session, methods=["DELETE"]),
    Route("/api/join", join, methods=["POST"]),
    Route("/api/join/events", join_events, methods=["GET"]),
]
