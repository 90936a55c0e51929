"""Stewards' pages: approve join requests, set limits, freeze and unfreeze accounts, make
invites, and see the audit status of the ledger."""

from __future__ import annotations

import functools

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from letsnode.audit.report import audit_json
from letsnode.audit.runner import audit_path
from letsnode.core.amounts import parse_decimal
from letsnode.core.errors import InvalidInput, NotFound
from letsnode.core.wire.entries import account_status
from letsnode.views import shapes
from letsnode.web.common import json_body, node_of, ok, steward, text_field
from letsnode.web.wallet import account_view


def request_id(request: Request) -> int:
    try:
        return int(request.path_params["request_id"])
    except ValueError:
        raise NotFound("there is no such join request") from None


async def join_requests(request: Request) -> Response:
    steward(request)
    return ok(
        {
            "requests": [
                {
                    "id": r.id,
                    "handle": r.handle,
                    "key": r.key.hex(),
                    "time": shapes.iso_time(r.created_ms),
                }
                for r in node_of(request).joins.join_requests()
            ]
        }
    )


async def approve(request: Request) -> Response:
    p = steward(request)
    entry = await node_of(request).joins.approve(request_id(request), p.handle)
    return ok({"status": "approved", "seq": entry.seq})


async def reject(request: Request) -> Response:
    p = steward(request)
    node_of(request).joins.reject(request_id(request), p.handle)
    return ok({"status": "rejected"})


async def accounts(request: Request) -> Response:
    steward(request)
    node = node_of(request)
    stewards = set(node.web.stewards())
    return ok(
        {
            "accounts": [
                {**account_view(node, a), "steward": a.handle in stewards} for a in node.accounts()
            ]
        }
    )


async def set_limits(request: Request) -> Response:
    steward(request)
    body = await json_body(request)
    node = node_of(request)
    scale = node.genesis.scale
    handle = request.path_params["handle"]
    ceiling_text = text_field(body, "ceiling", required=False)
    floor = parse_decimal(text_field(body, "floor"), scale, "floor")
    ceiling = parse_decimal(ceiling_text, scale, "ceiling") if ceiling_text else None
    entry = await node.set_limits(handle, floor, ceiling)
    return ok({"seq": entry.seq, "account": account_view(node, node.account(handle))})


async def set_status(request: Request) -> Response:
    steward(request)
    text = text_field(await json_body(request), "status")
    if text not in ("active", "frozen"):
        raise InvalidInput("status must be active or frozen (close accounts with the CLI)")
    status = account_status(text)
    node = node_of(request)
    handle = request.path_params["handle"]
    entry = await node.set_status(handle, status)
    return ok({"seq": entry.seq, "account": account_view(node, node.account(handle))})


async def create_invite(request: Request) -> Response:
    steward(request)
    body = await json_body(request)
    uses, hours = body.get("uses", 1), body.get("hours", 72)
    if not isinstance(uses, int) or not isinstance(hours, int | float) or isinstance(uses, bool):
        raise InvalidInput("uses must be a whole number and hours a number")
    code = node_of(request).joins.create_invite(uses, hours)
    return ok({"code": code, "link": f"{request.base_url}#/join?invite={code}"}, 201)


async def audit(request: Request) -> Response:
    steward(request)
    # One core, in a thread: the node keeps answering members while it runs.
    check = functools.partial(audit_path, node_of(request).data, workers=0)
    report = await trio.to_thread.run_sync(check)
    return ok(audit_json(report))


routes = [
    Route("/api/admin/join-requests", join_requests, methods=["GET"]),
    Route("/api/admin/join-requests/{request_id}/approve", approve, methods=["POST"]),
    Route("/api/admin/join-requests/{request_id}/reject", reject, methods=["POST"]),
    Route("/api/admin/accounts", accounts, methods=["GET"]),
    Route("/api/admin/accounts/{handle}/limits", set_limits, methods=["POST"]),
    Route("/api/admin/accounts/{handle}/status", set_status, methods=["POST"]),
    Route("/api/admin/invites", create_invite, methods=["POST"]),
    Route("/api/admin/audit", audit, methods=["GET"]),
]
