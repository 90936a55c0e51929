"""Stewards' Clearing page: the rounds this community ran or joined, the plot of each
round's line utilisation, whether the community signs rounds, and a round run now.

Rounds and the policy are read and set through ``Node.clearing_store`` (the web tables'
own connection, used only on the node's trio thread). The plot is drawn in a worker thread
so the node keeps answering while matplotlib renders. Running a round needs the
federation (``letsnode run`` with libp2p); without it the answer is ``no_federation``.
"""

from __future__ import annotations

import functools
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from letsnode.core.amounts import format_amount
from letsnode.core.clearing.commit import RoundReport
from letsnode.core.errors import LedgerRefusal, LetsError, NotFound
from letsnode.core.wire.clearing import NONCE_BYTES
from letsnode.store.clearing_store import POLICIES, RoundRow
from letsnode.views.clearing_report import plot_png, round_summary
from letsnode.web.common import json_body, limits_of, node_of, ok, steward
from letsnode.web.port import NodePort

ROUNDS_SHOWN = 50
RUN_TIMEOUT_S = 10.0


class InvalidPolicy(LetsError):
    code = "invalid_policy"


class NoFederation(LetsError):
    code = "no_federation"


def find_round(node: NodePort, text: str) -> RoundRow:
    """The round whose nonce is ``text`` (32 hex digits); NotFound otherwise."""
    try:
        nonce = bytes.fromhex(text)
    except ValueError:
        nonce = b""
    row = node.clearing_store().get(nonce) if len(nonce) == NONCE_BYTES else None
    if row is None:
        raise NotFound(f"there is no clearing round {text[:40]!r} here")
    return row


def report_json(report: RoundReport, scale: int) -> dict[str, Any]:
    return {
        "round": report.nonce.hex(),
        "round_id": None if report.round_id is None else report.round_id.hex(),
        "state": report.state,
        "cleared": format_amount(report.cleared, scale),
        "cleared_minor": report.cleared,
        "communities": report.communities,
        "participants": len(report.participants),
        "unreachable": len(report.unreachable),
        "reason": report.reason,
    }


async def overview(request: Request) -> Response:
    steward(request)
    node = node_of(request)
    g = node.genesis
    store = node.clearing_store()
    return ok(
        {
            "policy": store.policy(),
            "federation": node.federation is not None,
            "rounds": [
                round_summary(r, g.community_id, g.scale, g.unit)
                for r in store.rounds(ROUNDS_SHOWN)
            ],
        }
    )


async def plot(request: Request) -> Response:
    steward(request)
    node = node_of(request)
    row = find_round(node, request.path_params["round"])
    g = node.genesis
    draw = functools.partial(plot_png, row, scale=g.scale, unit=g.unit)
    png = await trio.to_thread.run_sync(draw)
    return Response(png, media_type="image/png")


async def set_policy(request: Request) -> Response:
    steward(request)
    value = (await json_body(request)).get("policy")
    if value not in POLICIES:
        raise InvalidPolicy(f"the clearing policy is one of {', '.join(POLICIES)}, not {value!r}")
    store = node_of(request).clearing_store()
    store.set_policy(value)
    return ok({"policy": store.policy()})


async def run(request: Request) -> Response:
    p = steward(request)
    limits_of(request).check("writes_per_member", p.handle)
    node = node_of(request)
    if node.federation is None:
        raise NoFederation(
            "this node runs without the federation (libp2p), so it cannot coordinate a "
            "clearing round: start it with 'letsnode run'"
        )
    state = request.app.state
    if getattr(state, "clearing_running", False):
        raise LedgerRefusal("a clearing round is already running", code="clearing_busy")
    state.clearing_running = True
    try:
        report = await node.federation.clearing.run_round(RUN_TIMEOUT_S)
    finally:
        state.clearing_running = False
    return ok(report_json(report, node.genesis.scale))


routes = [
    Route("/api/admin/clearing", overview, methods=["GET"]),
    Route("/api/admin/clearing/{round}/plot.png", plot, methods=["GET"]),
    Route("/api/admin/clearing/policy", set_policy, methods=["POST"]),
    Route("/api/admin/clearing/run", run, methods=["POST"]),
]
