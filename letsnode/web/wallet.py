"""A member's own account: balance and limits, the members to pay (recent payees first),
paying, a payment's details and signed order, history (and CSV), payment requests (link +
QR code) and live updates (Server-Sent Events)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import segno
import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from letsnode.core.amounts import format_amount, parse_amount
from letsnode.core.crypto import SIGNATURE_BYTES
from letsnode.core.errors import InvalidInput, NotFound
from letsnode.core.names import MEMO_MAX, check_slug, check_text
from letsnode.core.rules.state import Account
from letsnode.core.wire.entries import MAX_ORDER_BYTES, Payment, SignedOrder
from letsnode.store.ledger_store import PaymentRow
from letsnode.views import shapes
from letsnode.web.common import (
    caller,
    client_address,
    hex_field,
    json_body,
    limits_of,
    member,
    node_of,
    ok,
    text_field,
    until_disconnect,
)
from letsnode.web.i18n import LANGUAGES
from letsnode.web.port import EventSource, NodePort, Principal
from letsnode.web.units import unit_names

KEEPALIVE_SECONDS = 15
EVENT_BURST = 64  # events sent in one chunk of a live-update stream, at most
HISTORY_MAX = 1000
MEMBERS_MAX = 50
RECENT_SCAN = 200  # payments read to find a member's recent payees


def account_view(node: NodePort, a: Account) -> dict[str, Any]:
    scale = node.genesis.scale
    value = shapes.account_json(a, scale)
    spend = a.balance - a.floor
    receive = None if a.ceiling is None else a.ceiling - a.balance
    value["available_to_spend"] = format_amount(spend, scale)
    value["available_to_spend_minor"] = spend
    value["available_to_receive"] = None if receive is None else format_amount(receive, scale)
    value["available_to_receive_minor"] = receive
    return value


async def community(request: Request) -> Response:
    node = node_of(request)
    value = shapes.community_json(node.genesis)
    value["languages"] = list(LANGUAGES)
    value["unit_names"] = unit_names(node.genesis.unit, node.web.unit_names())
    return ok(value)


async def me(request: Request) -> Response:
    p = member(request)
    node = node_of(request)
    value = account_view(node, node.account(p.handle))
    value["steward"] = p.steward
    value["language"] = node.web.language(p.handle)
    return ok(value)


async def set_language(request: Request) -> Response:
    p = member(request)
    lang = text_field(await json_body(request), "language")
    if lang not in LANGUAGES:
        raise InvalidInput(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    node_of(request).web.set_language(p.handle, lang)
    return ok({"language": lang})


def recent_counterparties(node: NodePort, handle: str) -> dict[str, int]:
    """Whom ``handle`` paid or was paid by lately: handle -> time of the latest payment."""
    last: dict[str, int] = {}
    for row in node.history(handle, RECENT_SCAN):
        other = row.payee if row.payer == handle else row.payer
        last[other] = max(last.get(other, 0), row.timestamp_ms)
    return last


async def members(request: Request) -> Response:
    """Active members to pay, those the caller dealt with lately first (newest first),
    then the others by handle; ``q`` keeps those whose handle contains it."""
    p = caller(request)
    q = request.query_params.get("q", "").strip().lower()
    if len(q) > 100:
        raise InvalidInput("a search is at most 100 characters")
    node = node_of(request)
    recent = {} if p.handle.startswith("@") else recent_counterparties(node, p.handle)
    found = [
        a
        for a in node.accounts()
        if a.status == "active"
        and a.kind in ("member", "issuer")
        and a.handle != p.handle
        and q in a.handle
    ]
    found.sort(key=lambda a: (-recent.get(a.handle, 0), a.handle))
    return ok(
        {
            "members": [
                {
                    "handle": a.handle,
                    "kind": a.kind,
                    "recent": a.handle in recent,
                    "last_payment": (
                        shapes.iso_time(recent[a.handle]) if a.handle in recent else None
                    ),
                }
                for a in found[:MEMBERS_MAX]
            ]
        }
    )


async def next_order(request: Request) -> Response:
    p = member(request)
    node = node_of(request)
    return ok(
        {
            "community_id": node.community_id.hex(),
            "payer": p.handle,
            "nonce": node.next_nonce(p.handle),
            "domain": "letsnode/order/v1\x00",
            "scale": node.genesis.scale,
        }
    )


async def pay(request: Request) -> Response:
    """Record a payment from an order the payer signed in their browser."""
    limits = limits_of(request)
    limits.check("payments_per_address", client_address(request))
    body = await json_body(request)
    data = hex_field(body, "order")
    if len(data) > MAX_ORDER_BYTES:
        raise InvalidInput(f"an order is at most {MAX_ORDER_BYTES} bytes")
    signed = SignedOrder.from_parts(data, hex_field(body, "signature", SIGNATURE_BYTES))
    limits.check("payments_per_payer", signed.order.payer)
    node = node_of(request)
    entry = await node.pay(signed)
    o = signed.order
    scale = node.genesis.scale
    row = PaymentRow(entry.seq, entry.timestamp_ms, o.payer, o.payee, o.amount, o.memo)
    return ok(
        {
            "payment": shapes.payment_json(row, scale),
            "payer": account_view(node, node.account(o.payer)),
        },
        201,
    )


def payment_seq(request: Request) -> int:
    text = request.path_params["seq"]
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"there is no payment {text[:20]!r}")
    return int(text)


async def payment(request: Request) -> Response:
    """One payment with the order its payer signed: for the payer, the payee and stewards."""
    p = caller(request)
    node = node_of(request)
    seq = payment_seq(request)
    entry = node.entry(seq)
    body = None if entry is None else entry.body
    if (
        entry is None
        or not isinstance(body, Payment)
        or not (p.steward or p.handle in (body.order.payer, body.order.payee))
    ):
        raise NotFound(f"there is no payment {seq} of yours")
    o = body.order
    row = PaymentRow(entry.seq, entry.timestamp_ms, o.payer, o.payee, o.amount, o.memo)
    return ok(
        {
            "payment": shapes.payment_json(row, node.genesis.scale),
            "unit": node.genesis.unit,
            "nonce": o.nonce,
            "community_id": o.community_id.hex(),
            "order": body.signed.data.hex(),
            "signature": body.signed.signature.hex(),
            "entry": {
                "seq": entry.seq,
                "hash": entry.hash.hex(),
                "prev": entry.prev.hex(),
                "signature": entry.signature.hex(),
            },
        }
    )


def parse_day(text: str | None, what: str) -> int | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-03-31") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def filtered_history(request: Request) -> tuple[Principal, list[PaymentRow]]:
    p = member(request)
    params = request.query_params
    counterparty = params.get("counterparty", "").strip()
    start = parse_day(params.get("from"), "from")
    end = parse_day(params.get("to"), "to")
    if end is not None:
        end += int(timedelta(days=1).total_seconds() * 1000)
    rows = node_of(request).history(p.handle)
    picked = [
        r
        for r in rows
        if (not counterparty or counterparty in (r.payer, r.payee))
        and (start is None or r.timestamp_ms >= start)
        and (end is None or r.timestamp_ms < end)
    ]
    return p, picked[:HISTORY_MAX]


async def history(request: Request) -> Response:
    _, rows = filtered_history(request)
    scale = node_of(request).genesis.scale
    return ok({"payments": [shapes.payment_json(r, scale) for r in rows]})


def csv_cell(text: str) -> str:
    """Keep spreadsheets from running a memo as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def history_csv(request: Request) -> Response:
    """The member's history for a spreadsheet: what they paid and what they received in
    columns of their own, so no amount carries a sign."""
    p, rows = filtered_history(request)
    g = node_of(request).genesis
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["seq", "time", "payer", "payee", "paid", "received", "unit", "memo"])
    for r in rows:
        amount = format_amount(r.amount, g.scale)
        paid, received = ("", amount) if r.payee == p.handle else (amount, "")
        writer.writerow(
            [
                r.seq,
                shapes.iso_time(r.timestamp_ms),
                r.payer,
                r.payee,
                paid,
                received,
                g.unit,
                csv_cell(r.memo),
            ]
        )
    filename = f"{g.short}-{p.handle}-history.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def request_link(request: Request, to: str, amount: str, memo: str) -> str:
    check_slug(to, "payee")
    query: dict[str, str] = {"to": to}
    if amount:
        parse_amount(amount, node_of(request).genesis.scale)
        query["amount"] = amount
    if memo:
        query["memo"] = check_text(memo, "memo", MEMO_MAX)
    return f"{request.base_url}#/pay?{urlencode(query)}"


async def request_qr(request: Request) -> Response:
    caller(request)
    params = request.query_params
    link = request_link(
        request, params.get("to", ""), params.get("amount", ""), params.get("memo", "")
    )
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return Response(out.getvalue(), media_type="image/svg+xml")


class EventStream:
    """An SSE response: the caller's ledger events until the client goes away."""

    def __init__(self, events: EventSource, principal: Principal) -> None:
        self.events = events
        self.principal = principal

    def wants(self, event: dict[str, Any]) -> bool:
        return self.principal.steward or self.principal.handle in event.get("handles", ())

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
        listen_to = None if self.principal.steward else self.principal.handle
        async with self.events.subscribe(listen_to) as rx:
            await until_disconnect(receive, lambda: self._pump(rx, send))

    async def _pump(self, rx: trio.MemoryReceiveChannel[dict[str, Any]], send: Send) -> None:
        await send({"type": "http.response.body", "body": b"retry: 3000\n\n", "more_body": True})
        while True:
            first: dict[str, Any] | None = None
            with trio.move_on_after(KEEPALIVE_SECONDS):
                first = await rx.receive()
            if first is None:
                await send(
                    {"type": "http.response.body", "body": b": keepalive\n\n", "more_body": True}
                )
                continue
            # Entries are committed in groups, so their events come in bursts: take what is
            # already queued too and send it as one chunk (one wake-up and one write for the
            # burst, not one per event).
            events = [first]
            with contextlib.suppress(trio.WouldBlock):
                while len(events) < EVENT_BURST:
                    events.append(rx.receive_nowait())
            chunk = "".join(
                f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                for event in events
                if self.wants(event)
            )
            if chunk:
                await send(
                    {"type": "http.response.body", "body": chunk.encode(), "more_body": True}
                )


async def events(request: Request) -> Response:
    principal = caller(request)
    return EventStream(node_of(request).events, principal)  # type: ignore[return-value]


routes = [
    Route("/api/community", community, methods=["GET"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me/language", set_language, methods=["PUT"]),
    Route("/api/members", members, methods=["GET"]),
    Route("/api/orders/next", next_order, methods=["GET"]),
    Route("/api/payments", pay, methods=["POST"]),
    Route("/api/payments/{seq}", payment, methods=["GET"]),
    Route("/api/history", history, methods=["GET"]),
    Route("/api/history.csv", history_csv, methods=["GET"]),
    Route("/api/payment-requests/qr.svg", request_qr, methods=["GET"]),
    Route("/api/events", events, methods=["GET"]),
]
