"""Checking a payment before the payer reviews it: does the payee exist (here, or as
``handle@community`` in another community), can both accounts pay and be paid, does the
amount leave the payer above their floor and the payee under their ceiling?

The wallet asks while the member types, so the answer is a verdict, not an error: 200 with
``ok`` and, for a payment the node would refuse, the refusal's stable ``code``
(``unknown_account``, ``below_floor``, ``above_ceiling``, ``account_frozen``,
``unknown_community``, ...). Only a malformed request (no payee, an amount that is not a
decimal of the community's scale) is a problem. A local payment is checked by the ledger's
own rules (``NodePort.check_payment``); for another community's member only this side is
known (the payer's floor): the partner communities check the rest when it is sent.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from letsnode.core.amounts import format_amount, parse_amount
from letsnode.core.errors import InvalidInput, LetsError
from letsnode.core.names import check_slug
from letsnode.core.rules.state import Account
from letsnode.web.common import limits_of, member, node_of, ok
from letsnode.web.port import NodePort
from letsnode.web.transfers import resolve_address

SYSTEM_KINDS = ("line",)


def verdict(code: str | None, **extra: Any) -> dict[str, Any]:
    return {"ok": code is None, "code": code, **extra}


def after(node: NodePort, payer: Account, amount: int | None) -> dict[str, Any]:
    """What the payment leaves the payer: balance and room still to spend."""
    if amount is None:
        return {}
    scale = node.genesis.scale
    room = payer.balance - payer.held_out - payer.floor - amount
    return {
        "amount": format_amount(amount, scale),
        "amount_minor": amount,
        "balance_after": format_amount(payer.balance - amount, scale),
        "available_after": format_amount(room, scale),
    }


def local_verdict(
    node: NodePort, payer: Account, handle: str, amount: int | None
) -> dict[str, Any]:
    try:
        check_slug(handle, "payee")
    except InvalidInput:
        return verdict("invalid_handle")
    if handle == payer.handle:
        return verdict("pay_self")
    try:
        payee = node.account(handle)
    except LetsError as err:
        return verdict(err.code)
    if payee.kind in SYSTEM_KINDS or handle == "transit":
        return verdict("unknown_account")
    shown = {"payee": {"handle": handle, "local": True, "kind": payee.kind}}
    for account in (payer, payee):
        if account.status != "active":
            return verdict(f"account_{account.status}", **shown)
    if amount is None:
        return verdict(None, **shown)
    try:
        node.check_payment(payer.handle, handle, amount)
    except LetsError as err:
        return verdict(err.code, **shown, **after(node, payer, amount))
    return verdict(None, **shown, **after(node, payer, amount))


async def remote_verdict(
    node: NodePort, payer: Account, address: str, amount: int | None
) -> dict[str, Any]:
    try:
        target = await resolve_address(node, address)
    except LetsError as err:
        code = "invalid_address" if err.code == "invalid_input" else err.code
        return verdict(code)
    if target["local"]:
        return local_verdict(node, payer, target["handle"], amount)
    shown = {"payee": {**target, "address": f"{target['handle']}@{target['short'] or address}"}}
    if payer.status != "active":
        return verdict(f"account_{payer.status}", **shown)
    if amount is not None and payer.balance - payer.held_out - amount < payer.floor:
        return verdict("below_floor", **shown, **after(node, payer, amount))
    return verdict(None, **shown, **after(node, payer, amount))


async def check_payment(request: Request) -> Response:
    p = member(request)
    limits_of(request).check("checks_per_member", p.handle)
    node = node_of(request)
    params = request.query_params
    to = params.get("to", "").strip()
    if not to:
        raise InvalidInput("to is missing: name the member to pay (handle or handle@community)")
    if len(to) > 100:
        raise InvalidInput("to is at most 100 characters")
    text = params.get("amount", "").strip()
    amount = parse_amount(text, node.genesis.scale) if text else None
    payer = node.account(p.handle)
    if "@" in to:
        # Finding another community may ask every connected peer: a member's pace.
        limits_of(request).check("writes_per_member", p.handle)
        return ok(await remote_verdict(node, payer, to, amount))
    return ok(local_verdict(node, payer, to.lower(), amount))


routes = [
    Route("/api/payments/check", check_payment, methods=["GET"]),
]
