"""``letsnode init|id|pay|balance|history|export``: a community and its payments.

Each command works on the data folder directly, or through the running node when one runs
(the node stays the only writer of its ledger).
"""

from __future__ import annotations

from pathlib import Path

import click

from letsnode.audit.runner import export_log
from letsnode.cli.common import Context, echo_lines, emit_json, limit_option, pass_ctx, user_errors
from letsnode.community.folder import Community
from letsnode.core.amounts import parse_amount, parse_decimal
from letsnode.core.errors import InvalidInput, LedgerRefusal
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.net.peerid import peer_id_from_community_id
from letsnode.node.control import ControlClient, NodeBusy, client_for
from letsnode.views import shapes


@click.command()
@click.option("--name", required=True, help="The community's name, e.g. 'Valencia Time Bank'.")
@click.option("--short", required=True, help="Short name used in addresses (maria@SHORT).")
@click.option("--unit", required=True, help="Unit code, e.g. HOUR or EUR.")
@click.option(
    "--scale", type=int, default=2, show_default=True, help="Decimal places of the unit (0 to 8)."
)
@click.option(
    "--floor",
    "floor_text",
    default="0",
    show_default=True,
    help="Default floor of new accounts (≤ 0), in the unit.",
)
@click.option(
    "--ceiling",
    "ceiling_text",
    default="none",
    show_default=True,
    help="Default ceiling of new accounts (≥ 0) or 'none'.",
)
@pass_ctx
def init(
    obj: Context, name: str, short: str, unit: str, scale: int, floor_text: str, ceiling_text: str
) -> None:
    """Create a new community (its node key and genesis entry) in the data folder."""
    with user_errors():
        if scale < 0 or scale > 8:
            raise InvalidInput(f"scale must be a whole number from 0 to 8, got {scale}")
        floor = parse_decimal(floor_text, scale, "floor")
        ceiling = limit_option(ceiling_text, scale, "ceiling")
        community = Community.create(
            obj.data, name=name, short=short, unit=unit, scale=scale, floor=floor, ceiling=ceiling
        )
        g = community.genesis
        community.close()
    click.echo(f"created community {g.name} ({g.short}) in {obj.data}")
    click.echo(f"id {g.community_id.hex()}")


@click.command("id")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def show_id(obj: Context, as_json: bool) -> None:
    """Show the community's name, short name and id (its node's public key)."""
    with obj.community() as c:
        info = shapes.community_json(c.genesis)
        info["entries"] = c.ledger.next_seq
        info["head"] = c.ledger.head.hex()
        info["peer_id"] = str(peer_id_from_community_id(c.genesis.community_id))
        client = client_for(obj.data)
        info["addrs"] = client.call("info")["addrs"] if client else []
    if as_json:
        emit_json(info)
        return
    echo_lines(
        [
            f"name     {info['name']}",
            f"short    {info['short']}",
            f"id       {info['id']}",
            f"unit     {info['unit']} (scale {info['scale']})",
            f"limits   floor {info['floor']}, ceiling {info['ceiling'] or 'none'}",
            f"entries  {info['entries']}",
            f"head     {info['head']}",
            f"peer id  {info['peer_id']}",
            *[f"address  {a}" for a in info["addrs"]],
        ]
    )


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("payer")
@click.argument("payee")
@click.argument("amount")
@click.option("--memo", default="", help="What the payment is for.")
@click.option(
    "--nonce",
    type=click.IntRange(min=1),
    default=None,
    help="The order's nonce (default: the payer's next). Retrying an unanswered payment "
    "with the nonce it had is refused as replayed_order if that one went through.",
)
@pass_ctx
def pay(obj: Context, payer: str, payee: str, amount: str, memo: str, nonce: int | None) -> None:
    """PAYER pays PAYEE AMOUNT (a decimal in the community's unit), signed with PAYER's key.

    PAYEE may be a member of another community, HANDLE@COMMUNITY (its short name or peer
    id): the payment then crosses the credit lines, which needs the running node.
    """
    with obj.writing() as (client, c):
        minor = parse_amount(amount, c.genesis.scale)
        if "@" in payee:
            pay_remote(c, client, payer, payee, minor, memo)
            return
        if client is None:
            seq = c.pay(c.sign_order(payer, payee, minor, memo, nonce=nonce)).seq
        else:
            if nonce is None:
                nonce = int(client.call("next_nonce", handle=payer))
            signed = c.sign_order(payer, payee, minor, memo, nonce=nonce)
            try:
                seq = client.call("pay", order=signed.data.hex(), signature=signed.signature.hex())
            except NodeBusy as err:
                raise NodeBusy(
                    f"{err}: the payment may have been made; see 'letsnode history {payer}', "
                    f"or run this command again with --nonce {nonce} (refused as "
                    "replayed_order if it was made)"
                ) from None
            c.reload()
        a = c.account(payer)
        click.echo(
            f"paid {c.fmt(minor)} {c.genesis.unit} from {payer} to {payee} "
            f"(entry {seq}); {payer}'s balance is {c.fmt(a.balance)}"
        )


def pay_remote(
    c: Community, client: ControlClient | None, payer: str, payee: str, minor: int, memo: str
) -> None:
    if client is None:
        raise InvalidInput(
            "paying a member of another community needs the running node ('letsnode run')"
        )
    target = client.call("resolve", address=payee)
    nonce = client.call("next_nonce", handle=payer)
    order = RemoteOrder(
        c.genesis.community_id,
        payer,
        bytes.fromhex(target["community_id"]),
        target["handle"],
        minor,
        nonce,
        memo,
    )
    data, sig = order.sign(c.member_key(payer))
    outcome = client.call("pay_remote", order=data.hex(), signature=sig.hex())
    if outcome["state"] != "fulfilled":
        raise LedgerRefusal(
            f"the payment to {payee} was {outcome['state']}: {outcome['message']}",
            code=outcome["code"],
        )
    c.reload()
    hops = len(outcome["route"])
    click.echo(
        f"paid {c.fmt(minor)} {c.genesis.unit} from {payer} to {payee} over {hops} "
        f"line{'s' if hops > 1 else ''} (transfer {outcome['transfer_id']}); {payer}'s "
        f"balance is {c.fmt(c.account(payer).balance)}"
    )


def show_balances(obj: Context, handle: str | None, as_json: bool) -> None:
    with obj.community() as c:
        accounts = [c.account(handle)] if handle else c.accounts()
        scale = c.genesis.scale
        if as_json:
            emit_json(
                {
                    "community": shapes.community_json(c.genesis),
                    "accounts": [shapes.account_json(a, scale) for a in accounts],
                }
            )
            return
        click.echo(f"{c.genesis.name} ({c.genesis.short}), amounts in {c.genesis.unit}")
        echo_lines(shapes.accounts_table(accounts, scale))


@click.command()
@click.argument("handle", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def balance(obj: Context, handle: str | None, as_json: bool) -> None:
    """Balances and limits of every account, or of HANDLE."""
    show_balances(obj, handle, as_json)


@click.command()
@click.argument("handle", required=False)
@click.option("--limit", type=click.IntRange(min=1), help="Show only the newest N payments.")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def history(obj: Context, handle: str | None, limit: int | None, as_json: bool) -> None:
    """Payments, newest first: all of them, or those of HANDLE."""
    with obj.community() as c:
        rows = c.history(handle, limit)
        scale = c.genesis.scale
        if as_json:
            emit_json(
                {
                    "community": shapes.community_json(c.genesis),
                    "payments": [shapes.payment_json(p, scale) for p in rows],
                }
            )
            return
        if not rows:
            click.echo("no payments yet")
            return
        echo_lines(shapes.history_table(rows, scale))


@click.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def export(obj: Context, out: Path) -> None:
    """Write the whole signed log to OUT in the replication format (protocol/SPEC.md)."""
    with obj.community() as c:
        count = export_log(c.store, c.ledger, out)
    click.echo(f"exported {count} entries to {out}")
