"""Stewards' pages: approve join requests, find members (search and pages), see and set a
member's limits, freeze, unfreeze and close accounts, name the unit in each language, make
invites, and see the audit status of the ledger."""

from __future__ import annotations

import functools
import math
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from letsnode.audit.report import audit_json
from letsnode.audit.runner import audit_path
from letsnode.core.amounts import parse_decimal
from letsnode.core.errors import InvalidInput, NotFound
from letsnode.core.rules.state import Account
from letsnode.core.wire.entries import account_status
from letsnode.views import shapes
from letsnode.web.common import json_body, limits_of, node_of, ok, steward, text_field
from letsnode.web.i18n import LANGUAGES
from letsnode.web.port import NodePort
from letsnode.web.units import check_forms, check_language, default_names, unit_names
from letsnode.web.wallet import account_view

PER_PAGE = 20
PER_PAGE_MAX = 100
STATUSES = ("active", "frozen", "closed")


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


def is_member_account(a: Account) -> bool:
    return a.kind in ("member", "issuer") and a.handle != "transit"


def whole_number(request: Request, name: str, default: int, top: int) -> int:
    text = request.query_params.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= top:
        raise InvalidInput(f"{name} must be a whole number from 1 to {top}")
    return int(text)


async def accounts(request: Request) -> Response:
    """Members' accounts, a page at a time: ``q`` (part of a handle), ``status``
    (active, frozen or closed), ``page`` and ``per_page``."""
    steward(request)
    node = node_of(request)
    params = request.query_params
    q = params.get("q", "").strip().lower()
    if len(q) > 100:
        raise InvalidInput("a search is at most 100 characters")
    status = params.get("status", "")
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    per_page = whole_number(request, "per_page", PER_PAGE, PER_PAGE_MAX)
    found = [
        a
        for a in node.accounts()
        if is_member_account(a) and q in a.handle and (not status or a.status == status)
    ]
    found.sort(key=lambda a: a.handle)
    pages = max(1, math.ceil(len(found) / per_page))
    page = whole_number(request, "page", 1, 1_000_000)
    shown = found[(page - 1) * per_page : page * per_page]
    stewards = set(node.web.stewards())
    return ok(
        {
            "accounts": [{**account_view(node, a), "steward": a.handle in stewards} for a in shown],
            "total": len(found),
            "page": page,
            "pages": pages,
            "per_page": per_page,
        }
    )


def member_account(node: NodePort, handle: str) -> Account:
    a = node.account(handle)
    if not is_member_account(a):
        raise NotFound(f"{handle} is not a member's account")
    return a


async def account(request: Request) -> Response:
    """One member: account, limits, status, steward or not, language, recent payments."""
    steward(request)
    node = node_of(request)
    a = member_account(node, request.path_params["handle"])
    rows = node.history(a.handle, 5)
    value: dict[str, Any] = {
        **account_view(node, a),
        "steward": node.web.is_steward(a.handle),
        "language": node.web.language(a.handle),
        "recent": [shapes.payment_json(r, node.genesis.scale) for r in rows],
    }
    return ok(value)


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
    if text not in STATUSES:
        raise InvalidInput(
            "status must be active, frozen or closed (closing is for good, at balance zero)"
        )
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


def unit_names_json(node: NodePort) -> dict[str, Any]:
    unit = node.genesis.unit
    custom = node.web.unit_names()
    defaults = default_names(unit)
    names = unit_names(unit, custom)
    return {
        "unit": unit,
        "languages": {
            lang: {
                "forms": names.get(lang),
                "custom": lang in custom,
                "default": defaults.get(lang),
            }
            for lang in LANGUAGES
        },
    }


async def get_unit_names(request: Request) -> Response:
    steward(request)
    return ok(unit_names_json(node_of(request)))


async def set_unit_names(request: Request) -> Response:
    p = steward(request)
    limits_of(request).check("writes_per_member", p.handle)
    lang = check_language(request.path_params["lang"])
    forms = check_forms(await json_body(request))
    node = node_of(request)
    node.web.set_unit_names(lang, forms, node.clock())
    return ok(unit_names_json(node))


async def clear_unit_names(request: Request) -> Response:
    p = steward(request)
    limits_of(request).check("writes_per_member", p.handle)
    lang = check_language(request.path_params["lang"])
    node = node_of(request)
    node.web.clear_unit_names(lang)
    return ok(unit_names_json(node))


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
    Route("/api/admin/accounts/{handle}", account, methods=["GET"]),
    Route("/api/admin/accounts/{handle}/limits", set_limits, methods=["POST"]),
    Route("/api/admin/accounts/{handle}/status", set_status, methods=["POST"]),
    Route("/api/admin/invites", create_invite, methods=["POST"]),
    Route("/api/admin/unit-names", get_unit_names, methods=["GET"]),
    Route("/api/admin/unit-names/{lang}", set_unit_names, methods=["PUT"]),
    Route("/api/admin/unit-names/{lang}", clear_unit_names, methods=["DELETE"]),
    Route("/api/admin/audit", audit, methods=["GET"]),
]
