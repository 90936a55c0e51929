"""Signing in with a key, and joining.

A member proves they hold their key by signing a fresh node challenge under
``letsnode/session/v1\\0`` (bound to this community's id); the node answers with a session
token in an HttpOnly, SameSite=Strict cookie (or in the body, for scripts that send it as
``Authorization: Bearer``). Joining signs the challenge and the handle under
``letsnode/join/v1\\0``. The node never sees a private key.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from letsnode.core.crypto import DOMAIN_JOIN, DOMAIN_SESSION, KEY_BYTES, SIGNATURE_BYTES
from letsnode.web.common import (
    SESSION_COOKIE,
    client_address,
    hex_field,
    json_body,
    limits_of,
    node_of,
    ok,
    session_token,
    text_field,
)
from letsnode.web.port import SESSION_SECONDS, Principal


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


async def join(request: Request) -> Response:
    limits_of(request).check("joins_per_address", client_address(request))
    body = await json_body(request)
    invite = text_field(body, "invite", required=False) or None
    joined = await node_of(request).joins.join(
        text_field(body, "handle"),
        hex_field(body, "key", KEY_BYTES),
        hex_field(body, "challenge", 32),
        hex_field(body, "signature", SIGNATURE_BYTES),
        invite,
    )
    return ok(
        {"status": joined.status, "handle": joined.handle, "request_id": joined.request_id},
        201 if joined.status == "admitted" else 202,
    )


routes = [
    Route("/api/session/challenge", challenge, methods=["POST"]),
    Route("/api/session", open_session, methods=["POST"]),
    Route("/api/session", close_session, methods=["DELETE"]),
    Route("/api/join", join, methods=["POST"]),
]
