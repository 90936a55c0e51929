"""What every route module needs: the node, the caller, JSON bodies, rate limits."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive

from letsnode.core.errors import Forbidden, InvalidInput, LedgerRefusal, LetsError, Unauthenticated
from letsnode.web.port import NodePort, Principal
from letsnode.web.security import RateLimiter

SESSION_COOKIE = "letsnode_session"
JOIN_COOKIE = "letsnode_join"  # a waiting joiner's token: hears the stewards' decision
# Deeper JSON is refused before it can cost more than a glance: Python's parser recurses
# (a few thousand levels raise RecursionError), and no request of the API nests past 3.
MAX_JSON_DEPTH = 32


@dataclass
class Limits:
    """Rate limits (requests a second, burst) kept in memory per client address or key."""

    joins_per_address: tuple[float, float] = (1 / 60, 5)
    sessions_per_address: tuple[float, float] = (1, 20)
    payments_per_payer: tuple[float, float] = (5, 20)
    payments_per_address: tuple[float, float] = (50, 200)
    writes_per_member: tuple[float, float] = (1, 30)
    checks_per_member: tuple[float, float] = (5, 60)
    joins_followed_per_address: tuple[float, float] = (1, 30)
    limiters: dict[str, RateLimiter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (
            "joins_per_address",
            "sessions_per_address",
            "payments_per_payer",
            "payments_per_address",
            "writes_per_member",
            "checks_per_member",
            "joins_followed_per_address",
        ):
            rate, burst = getattr(self, name)
            self.limiters[name] = RateLimiter(rate, burst)

    def check(self, name: str, key: str) -> None:
        if not self.limiters[name].allow(key):
            raise LedgerRefusal(
                "too many requests: wait a moment and try again", code="rate_limited"
            )


class UnsupportedMediaType(LetsError):
    code = "unsupported_media_type"


def node_of(request: Request) -> NodePort:
    node: NodePort = request.app.state.node
    return node


def limits_of(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


def caller(request: Request) -> Principal:
    """The session's holder; raises Unauthenticated (401) without a valid session."""
    token = session_token(request)
    if token is None:
        raise Unauthenticated("sign in first: this needs a session")
    return node_of(request).sessions.session(token)


def member(request: Request) -> Principal:
    """The session's holder, who must be a member (not the bare node key)."""
    principal = caller(request)
    if principal.handle.startswith("@"):
        raise Forbidden("the node key has no account: use a member's wallet")
    return principal


def steward(request: Request) -> Principal:
    principal = caller(request)
    if not principal.steward:
        raise Forbidden(f"{principal.handle} is not a steward of this community")
    return principal


async def json_body(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = await request.body()
    # Counting brackets (at C speed) settles almost every body: fewer brackets than the
    # bound cannot nest past it. Only a body with many goes through the exact scan.
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > MAX_JSON_DEPTH and json_depth(raw) > MAX_JSON_DEPTH:
        raise InvalidInput(f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw`` (JSON text, valid or not), counting
    brackets outside strings; linear, and never recursive."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def text_field(body: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    value = body.get(name)
    if value is None and not required:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


def hex_field(body: dict[str, Any], name: str, length: int | None = None) -> bytes:
    value = text_field(body, name)
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise InvalidInput(f"{name} must be hexadecimal") from None
    if length is not None and len(data) != length:
        raise InvalidInput(f"{name} must be {length} bytes")
    return data


class _JSONResponse(JSONResponse):
    """Starlette's JSONResponse, rendered by one encoder made once (``json.dumps`` with
    these options builds a new encoder on every call): the same bytes."""

    def render(self, content: Any) -> bytes:
        return _encode(content).encode("utf-8")


_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
).encode


def ok(value: Any, status: int = 200) -> JSONResponse:
    return _JSONResponse(value, status_code=status)


async def until_disconnect(receive: Receive, stream: Callable[[], Awaitable[None]]) -> None:
    """Run ``stream`` (a long response's sending) until it ends or the client disconnects,
    whichever comes first; a client gone mid-send (``OSError``) just ends it."""
    async with trio.open_nursery() as nursery:

        async def watch_disconnect() -> None:
            message: Message = {"type": ""}
            while message["type"] != "http.disconnect":
                message = await receive()
            nursery.cancel_scope.cancel()

        nursery.start_soon(watch_disconnect)
        with contextlib.suppress(OSError):
            await stream()
        nursery.cancel_scope.cancel()
