"""``letsnode line ...`` and ``letsnode peers``: credit lines and partners, through the
running node (they talk to other nodes, so they need ``letsnode run``)."""

from __future__ import annotations

import json
from typing import Any

import click

from letsnode.cli.common import Context, pass_ctx, running, user_errors
from letsnode.community.folder import Community
from letsnode.core.amounts import format_amount, parse_decimal
from letsnode.core.errors import InvalidInput
from letsnode.node.control import client_for
from letsnode.views.shapes import table


def parse_rate(text: str) -> tuple[int, int]:
    num, sep, den = text.partition("/")
    if not sep or not num.isdigit() or not den.isdigit() or int(num) == 0 or int(den) == 0:
        raise InvalidInput(f"rate {text!r} must be a ratio of whole numbers such as 1/1 or 3/2")
    return int(num), int(den)


def line_rows(c: Community, proposals: list[dict[str, Any]]) -> dict[str, Any]:
    """Agreed lines (from the ledger) and proposals (from the node), as stable JSON."""
    scale = c.genesis.scale
    lines = []
    for line in sorted(c.ledger.lines.values(), key=lambda x: x.handle):
        a = c.account(line.handle)
        partner_short = line.handle.removeprefix("line-")
        held = {"out": 0, "in": 0}
        for hold in c.ledger.holds.values():
            if line.handle in (hold.debit, hold.credit):
                held[hold.role] += hold.amount
        lines.append(
            {
                "partner": partner_short,
                "partner_id": line.partner.hex(),
                "account": line.handle,
                "version": line.terms.version,
                "rate": f"{line.terms.rate_num}/{line.terms.rate_den}"
                if line.terms.a_id == c.genesis.community_id
                else f"{line.terms.rate_den}/{line.terms.rate_num}",
                "balance": format_amount(a.balance, scale),
                "balance_minor": a.balance,
                "limit_out": format_amount(a.ceiling or 0, scale),
                "limit_out_minor": a.ceiling or 0,
                "limit_in": format_amount(-a.floor, scale),
                "limit_in_minor": -a.floor,
                "in_flight_out_minor": held["out"],
                "in_flight_in_minor": held["in"],
                "status": a.status,
            }
        )
    return {"lines": lines, "proposals": proposals}


@click.group()
def line() -> None:
    """Credit lines with partner communities (the node must be running)."""


@line.command("propose")
@click.argument("partner")
@click.option(
    "--limit-out",
    required=True,
    help="How much this community's members may pay out to the partner (in "
    "our unit): how much we may owe it.",
)
@click.option(
    "--limit-in",
    required=True,
    help="How much the partner's members may pay in (in our unit): how much "
    "the partner may owe us.",
)
@click.option(
    "--rate",
    default="1/1",
    show_default=True,
    help="One of our units is worth NUM/DEN of the partner's.",
)
@pass_ctx
def propose(obj: Context, partner: str, limit_out: str, limit_in: str, rate: str) -> None:
    """Propose a line (or new limits) to PARTNER: its peer id, id or short name."""
    with user_errors(), Community.opened(obj.data) as c:
        scale = c.genesis.scale
        num, den = parse_rate(rate)
        result = running(obj.data).call(
            "line_propose",
            peer=partner,
            limit_out=parse_decimal(limit_out, scale, "limit-out"),
            limit_in=parse_decimal(limit_in, scale, "limit-in"),
            rate_num=num,
            rate_den=den,
        )
    click.echo(
        f"proposed line {result['id']} to {partner}: waiting for its operator to "
        f"run 'letsnode line accept {result['id']}'"
    )


@line.command("accept")
@click.argument("proposal_id")
@pass_ctx
def accept(obj: Context, proposal_id: str) -> None:
    """Accept a partner's proposal: both logs record the signed agreement."""
    with user_errors():
        result = running(obj.data).call("line_accept", id=proposal_id)
    note = "" if result["state"] == "accepted" else " (the partner will be told when reachable)"
    click.echo(f"accepted line {proposal_id} with {result['partner_peer_id']}{note}")


@line.command("lower")
@click.argument("partner")
@click.option(
    "--limit-in",
    required=True,
    help="New, lower limit of what the partner may owe us (in our unit).",
)
@pass_ctx
def lower(obj: Context, partner: str, limit_in: str) -> None:
    """Lower, alone, the credit we extend to PARTNER (no agreement needed)."""
    with user_errors(), Community.opened(obj.data) as c:
        minor = parse_decimal(limit_in, c.genesis.scale, "limit-in")
        result = running(obj.data).call("line_lower", peer=partner, limit_in=minor)
    click.echo(f"lowered the line with {partner} (version {result['version']})")


@line.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def list_(obj: Context, as_json: bool) -> None:
    """Lines (limits, balance, in-flight holds) and pending proposals."""
    with user_errors(), Community.opened(obj.data) as c:
        client = client_for(obj.data)
        proposals = client.call("line_proposals") if client else []
        data = line_rows(c, proposals)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if not data["lines"] and not data["proposals"]:
        click.echo("no lines yet: 'letsnode line propose PARTNER --limit-out N --limit-in N'")
        return
    if data["lines"]:
        for row in table(
            ["partner", "balance", "limit out", "limit in", "in flight", "rate", "status"],
            [
                [
                    x["partner"],
                    x["balance"],
                    x["limit_out"],
                    x["limit_in"],
                    str(x["in_flight_out_minor"] + x["in_flight_in_minor"]),
                    x["rate"],
                    x["status"],
                ]
                for x in data["lines"]
            ],
            {1, 2, 3, 4},
        ):
            click.echo(row)
    for p in data["proposals"]:
        click.echo(
            f"proposal {p['id']}: {p['direction']} {p['state']} with "
            f"{p['partner_peer_id']} ({p['terms']['a']}–{p['terms']['b']})"
        )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def peers(obj: Context, as_json: bool) -> None:
    """Peers this node knows: partners (a line or a proposal) first, and whether they are
    connected."""
    with user_errors():
        result = running(obj.data).call("peers")
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    if not result:
        click.echo("no peers yet: start with --peer ADDRESS, or wait for partners")
    for p in sorted(result, key=lambda p: not p["partner"]):
        state = "connected" if p["connected"] else "not connected"
        role = "partner" if p["partner"] else "peer"
        click.echo(f"{p['short'] or '?':<12} {role:<8} {p['peer_id']}  {state}")
