"""Paying members of other communities from the wallet: resolving ``handle@community``,
sending a remote order the payer signed in their browser across the credit lines, and the
member's cross-community payments (in flight and ended).

A remote order is signed exactly like a local one, under ``letsnode/remote-order/v1\\0``
(protocol/SPEC.md §6.2); its nonce shares the payer's sequence with local orders, so the
wallet takes it from ``/api/orders/next``. The payment runs while the request waits (a few
seconds at most: the legs expire); refusals before anything is held are problems with the
federation's stable code (``no_route``, ``unknown_account``, ``below_floor``, ...), while a
payment that was held and then refused or timed out is a 200 whose ``state`` says so.

The listing reads the legs the node's log recorded (``NodePort.legs``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from letsnode.core.amounts import format_amount
from letsnode.core.crypto import SIGNATURE_BYTES
from letsnode.core.errors import Forbidden, InvalidInput, LetsError
from letsnode.core.names import check_slug
from letsnode.core.wire.bodies import Hold, Release
from letsnode.core.wire.transfers import MAX_TRANSFER_MESSAGE, Prepare, Reject, RemoteOrder
from letsnode.federation.service import Federation
from letsnode.federation.transfers import Outcome
from letsnode.net.transport import PeerError, RemoteError
from letsnode.store.ledger_store import Leg
from letsnode.views.shapes import iso_time
from letsnode.web.common import client_address, hex_field, json_body, limits_of, member, node_of, ok
from letsnode.web.port import NodePort
from letsnode.web.problems import problem, status_for

TRANSFERS_MAX = 200
ADDRESS_MAX = 100
COMMUNITY_NAME = re.compile(r"[A-Za-z0-9-]+")

# hold state in the ledger -> the word the API (and Outcome) uses
STATES = {
    "pending": "pending",
    "settled": "fulfilled",
    "rejected": "rejected",
    "expired": "expired",
}

# Statuses of codes met only here; the rest follow letsnode/web/problems.py.
STATUS_BY_CODE = {
    "federation_unavailable": 503,
    "unknown_community": 404,
    "ambiguous_community": 409,
    "peer_unreachable": 502,
    "peer_refused": 502,
    "peer_timeout": 504,
}


class FederationUnavailable(LetsError):
    code = "federation_unavailable"


Handler = Callable[[Request], Awaitable[Response]]


def problems(handler: Handler) -> Handler:
    """Answer a LetsError as a problem with this module's statuses: an unreachable partner
    is the network's fault (5xx), a refusal relayed from another community a conflict."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except LetsError as err:
            status = STATUS_BY_CODE.get(err.code, status_for(err))
            if isinstance(err, PeerError) and status == 400:
                # relayed from another community (account_frozen, ...) or the network's fault
                status = 409 if isinstance(err, RemoteError) else 502
            return problem(status, err.code, err.message)

    return wrapped


def federation_of(node: NodePort) -> Federation:
    if node.federation is None:
        raise FederationUnavailable(
            "this node is not connected to other communities: pay members of this one"
        )
    return node.federation


def split_address(text: str) -> tuple[str, str]:
    """``handle@community`` -> (handle, community); the community may be a short name, a
    community id (hex) or a libp2p peer id."""
    text = text.strip()
    handle, at, community = text.partition("@")
    if not at or not community or len(text) > ADDRESS_MAX:
        raise InvalidInput("write a member of another community as handle@community")
    community = community.strip()
    if not COMMUNITY_NAME.fullmatch(community):
        raise InvalidInput(
            "after the @ comes a community's short name, id or peer id: letters, digits, dashes"
        )
    if not community.startswith(("12D3", "Qm")):  # peer ids are case-sensitive base58
        community = community.lower()
    return check_slug(handle.lower(), "handle"), community


def community_json(fed: Federation | None, cid: bytes) -> dict[str, Any]:
    advert = None if fed is None else fed.routes.adverts.get(cid)
    return {
        "community_id": cid.hex(),
        "short": advert.short if advert else None,
        "name": advert.name if advert else None,
        "unit": advert.unit if advert else None,
        "scale": advert.scale if advert else None,
    }


def is_own_community(node: NodePort, community: str) -> bool:
    g = node.genesis
    return community in (g.short, g.community_id.hex())


async def resolve_address(node: NodePort, address: str) -> dict[str, Any]:
    """``handle@community`` -> the payee's handle, whether it is of this community, and its
    community's id, short name, name, unit and scale; LetsError when it cannot be found."""
    handle, community = split_address(address)
    g = node.genesis
    if is_own_community(node, community):
        return {
            "handle": handle,
            "local": True,
            "community_id": g.community_id.hex(),
            "short": g.short,
            "name": g.name,
            "unit": g.unit,
            "scale": g.scale,
        }
    fed = federation_of(node)
    cid = await fed.resolve_peer(community)
    value = {"handle": handle, "local": cid == g.community_id, **community_json(fed, cid)}
    if cid == g.community_id:
        value.update(short=g.short, name=g.name, unit=g.unit, scale=g.scale)
    elif value["short"] is None:  # found by asking the peers, not from an advert
        with contextlib.suppress(LetsError):
            peer = await fed.lines.hello(cid)
            value.update(short=peer.short, name=peer.name, unit=peer.unit, scale=peer.scale)
    return value


@problems
async def resolve(request: Request) -> Response:
    p = member(request)
    # Resolving an unknown name asks every connected peer: keep it to a member's pace.
    limits_of(request).check("writes_per_member", p.handle)
    address = request.query_params.get("address", "")
    return ok(await resolve_address(node_of(request), address))


def outcome_json(node: NodePort, fed: Federation, order: RemoteOrder, o: Outcome) -> dict[str, Any]:
    payee = community_json(fed, order.payee_community)
    scale = payee["scale"]
    return {
        "transfer_id": o.transfer_id.hex(),
        "state": o.state,
        "code": o.code,
        "message": o.message,
        "payee": f"{order.payee_handle}@{payee['short'] or order.payee_community.hex()}",
        "payee_community": payee,
        "amount": format_amount(o.amount, node.genesis.scale),
        "amount_minor": o.amount,
        "delivered": None if scale is None else format_amount(o.delivered, scale),
        "delivered_minor": o.delivered,
        "route": [
            {k: v for k, v in community_json(fed, cid).items() if k in ("community_id", "short")}
            for cid in o.route
        ],
    }


@problems
async def pay(request: Request) -> Response:
    """Pay a member of another community from a remote order signed in the browser."""
    limits = limits_of(request)
    limits.check("payments_per_address", client_address(request))
    p = member(request)
    node = node_of(request)
    fed = federation_of(node)
    body = await json_body(request)
    data = hex_field(body, "order")
    if len(data) > MAX_TRANSFER_MESSAGE:
        raise InvalidInput(f"a remote order is at most {MAX_TRANSFER_MESSAGE} bytes")
    signature = hex_field(body, "signature", SIGNATURE_BYTES)
    order = RemoteOrder.decode(data)
    if order.payer != p.handle:
        raise Forbidden(f"you are signed in as {p.handle}: you cannot pay from {order.payer}")
    limits.check("payments_per_payer", order.payer)
    outcome = await fed.transfers.pay(data, signature)
    return ok(outcome_json(node, fed, order, outcome))


# -- the member's cross-community payments -----------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferRow:
    transfer_id: bytes
    direction: str  # "out": this member paid; "in": this member was paid
    state: str  # pending, fulfilled, rejected, expired
    code: str | None  # why a payment this member sent was rejected
    counterparty: str  # handle@short (short or hex prefix of the community id)
    community_id: bytes | None  # of the payee, for payments this member sent
    amount: int  # in this community's units
    memo: str
    created_ms: int
    ended_ms: int | None


def transfer_rows(legs: list[Leg], fed: Federation | None) -> list[TransferRow]:
    """The member's ``legs`` with what their log entries say: the remote order (payee,
    memo) of a payment the member sent, the prepare (payer, memo) of one they received,
    the reject's code."""
    out: list[TransferRow] = []
    for leg in legs:
        tid, role, amount, state = leg.transfer_id, leg.role, leg.amount, leg.state
        created, ended = leg.created, leg.ended
        hold = created.body
        assert isinstance(hold, Hold)
        community_id: bytes | None = None
        code = None
        if role == "out":
            order = RemoteOrder.decode(hold.evidence)
            community_id = order.payee_community
            short = community_json(fed, community_id)["short"] or community_id.hex()[:8]
            counterparty, memo = f"{order.payee_handle}@{short}", order.memo
            if ended is not None and state == "rejected":
                release = ended.body
                if isinstance(release, Release) and release.evidence:
                    code = Reject.decode(release.evidence).code
        else:
            prepare = Prepare.decode(hold.evidence)
            counterparty, memo = prepare.origin, prepare.memo
        out.append(
            TransferRow(
                tid,
                role,
                STATES.get(state, state),
                code,
                counterparty,
                community_id,
                amount,
                memo,
                created.timestamp_ms,
                None if ended is None else ended.timestamp_ms,
            )
        )
    return out


def transfer_json(r: TransferRow, scale: int) -> dict[str, Any]:
    return {
        "transfer_id": r.transfer_id.hex(),
        "direction": r.direction,
        "state": r.state,
        "code": r.code,
        "counterparty": r.counterparty,
        "community_id": None if r.community_id is None else r.community_id.hex(),
        "amount": format_amount(r.amount, scale),
        "amount_minor": r.amount,
        "memo": r.memo,
        "time": iso_time(r.created_ms),
        "timestamp_ms": r.created_ms,
        "ended": None if r.ended_ms is None else iso_time(r.ended_ms),
    }


@problems
async def transfers(request: Request) -> Response:
    """The member's payments with other communities; works without a federation too (the
    ledger keeps them), only the short names of payees' communities are then unknown."""
    p = member(request)
    node = node_of(request)
    text = request.query_params.get("limit", str(TRANSFERS_MAX))
    if not text.isdigit() or not 1 <= int(text) <= TRANSFERS_MAX:
        raise InvalidInput(f"limit must be a whole number from 1 to {TRANSFERS_MAX}")
    rows = transfer_rows(node.legs(p.handle, int(text)), node.federation)
    scale = node.genesis.scale
    return ok({"transfers": [transfer_json(r, scale) for r in rows]})


routes = [
    Route("/api/resolve", resolve, methods=["GET"]),
    Route("/api/transfers", pay, methods=["POST"]),
    Route("/api/transfers", transfers, methods=["GET"]),
]
