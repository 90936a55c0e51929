"""``letsnode member|steward|invite``: admitting members and managing their accounts.

Through the running node when one runs; otherwise directly on the data folder.
"""

from __future__ import annotations

from pathlib import Path

import click

from letsnode.cli.common import Context, limit_option, pass_ctx, user_errors
from letsnode.cli.community import show_balances
from letsnode.community.folder import Community
from letsnode.community.keystore import read_key, write_new_key
from letsnode.core.amounts import parse_decimal
from letsnode.core.errors import InvalidInput
from letsnode.core.names import check_slug
from letsnode.core.wire.entries import ACCOUNT_KINDS, AccountStatus, account_kind
from letsnode.node.control import ControlClient, ControlError, NodeBusy, writer


@click.group()
def member() -> None:
    """Admit members and manage their accounts."""


@member.command("add")
@click.argument("handle")
@click.option("--floor", "floor_text", help="Floor (≤ 0) in the unit; community default if unset.")
@click.option(
    "--ceiling",
    "ceiling_text",
    help="Ceiling (≥ 0) in the unit, or 'none'; community default if unset.",
)
@click.option("--kind", type=click.Choice(ACCOUNT_KINDS[:3]), default="member", show_default=True)
@click.option(
    "--key",
    "key_hex",
    help="The member's own Ed25519 public key (64 hex digits); "
    "without it a key pair is created in the data folder.",
)
@pass_ctx
def member_add(
    obj: Context,
    handle: str,
    floor_text: str | None,
    ceiling_text: str | None,
    kind: str,
    key_hex: str | None,
) -> None:
    """Open an account for HANDLE."""
    with obj.writing() as (client, c):
        scale = c.genesis.scale
        floor = None if floor_text is None else parse_decimal(floor_text, scale, "floor")
        ceiling = limit_option(ceiling_text, scale, "ceiling")
        key = parse_key(key_hex) if key_hex is not None else None
        if client is None:
            seq = c.admit(
                handle,
                key=key,
                kind=account_kind(kind),
                floor=floor,
                ceiling=ceiling,
                default_ceiling=ceiling_text is None,
            ).seq
        else:
            seq = admit_through_node(client, c, handle, key, kind, floor, ceiling, ceiling_text)
            c.reload()
        a = c.account(handle)
        where = "" if key is not None else f", key in {c.member_key_path(handle)}"
        click.echo(
            f"admitted {handle} ({a.kind}, floor {c.fmt(a.floor)}, ceiling "
            f"{'none' if a.ceiling is None else c.fmt(a.ceiling)}) as entry "
            f"{seq}{where}"
        )


def admit_through_node(
    client: ControlClient,
    c: Community,
    handle: str,
    key: bytes | None,
    kind: str,
    floor: int | None,
    ceiling: int | None,
    ceiling_text: str | None,
) -> int:
    """Admit through the running node, writing a new member's key first and keeping it.

    The key file is removed only once the admission is known not to have happened: the
    node refused it, or the node did not answer and the log, read when no node can write
    any more, has no such account. A key left by an earlier unanswered try, which no
    account has, is used again.
    """
    check_slug(handle)
    path = None
    if key is None:
        path = c.member_key_path(handle)
        key = orphan_key(c, path) or write_new_key(path).public
    if ceiling is None and ceiling_text is None:
        ceiling = c.genesis.ceiling
    try:
        return int(
            client.call(
                "admit", handle=handle, key=key.hex(), kind=kind, floor=floor, ceiling=ceiling
            )
        )
    except ControlError:
        if path is not None:
            path.unlink(missing_ok=True)  # the node answered: nothing was admitted
        raise
    except NodeBusy as unanswered:
        seq = settle_admission(c.path, handle, key, path, unanswered)
        if seq is None:
            raise
        return seq


def orphan_key(c: Community, path: Path) -> bytes | None:
    """The public key in ``path`` if it is there and no account has it yet."""
    if not path.exists():
        return None
    public = read_key(path).public
    return None if public in c.ledger.keys else public


def settle_admission(
    data: Path, handle: str, key: bytes, path: Path | None, unanswered: NodeBusy
) -> int | None:
    """After an unanswered admit: the seq that admitted ``handle`` with ``key``, or None
    (the key file then removed) once no node can commit it any more."""
    with writer(data) as client:
        with Community.opened(data) as now:
            found = now.store.admission(handle)
        if found is not None and found[0] == key:
            return found[1]
        if client is not None:  # a node answers again: the admission may still be in flight
            where = f" (its key stays in {path})" if path is not None else ""
            raise NodeBusy(
                f"the node did not answer ({unanswered}); {handle} may still be admitted: "
                f"see 'letsnode balance {handle}', or run this command again{where}"
            ) from None
        if path is not None:
            path.unlink(missing_ok=True)  # no node runs and the log has no such account
        return None


def parse_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise InvalidInput(f"key {text!r} is not 64 hex digits (an Ed25519 public key)")
    return key


@member.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def member_list(obj: Context, as_json: bool) -> None:
    """List every account (same as 'balance')."""
    show_balances(obj, None, as_json)


@member.command("limits")
@click.argument("handle")
@click.option("--floor", "floor_text", required=True, help="New floor (≤ 0) in the unit.")
@click.option("--ceiling", "ceiling_text", required=True, help="New ceiling (≥ 0) or 'none'.")
@pass_ctx
def member_limits(obj: Context, handle: str, floor_text: str, ceiling_text: str) -> None:
    """Change HANDLE's floor and ceiling."""
    with obj.writing() as (client, c):
        scale = c.genesis.scale
        floor = parse_decimal(floor_text, scale, "floor")
        ceiling = limit_option(ceiling_text, scale, "ceiling")
        if client is None:
            seq = c.set_limits(handle, floor, ceiling).seq
        else:
            seq = client.call("limits", handle=handle, floor=floor, ceiling=ceiling)
            c.reload()
        a = c.account(handle)
        click.echo(
            f"limits of {handle}: floor {c.fmt(a.floor)}, ceiling "
            f"{'none' if a.ceiling is None else c.fmt(a.ceiling)} (entry {seq})"
        )


def status_command(name: str, status: AccountStatus, help_text: str) -> None:
    @member.command(name, help=help_text)
    @click.argument("handle")
    @pass_ctx
    def command(obj: Context, handle: str) -> None:
        with obj.writing() as (client, c):
            if client is None:
                seq = c.set_status(handle, status).seq
            else:
                seq = client.call("status", handle=handle, status=status)
        click.echo(f"{handle} is now {status} (entry {seq})")


status_command("freeze", "frozen", "Freeze HANDLE: it can neither pay nor be paid.")
status_command("unfreeze", "active", "Make a frozen account active again.")
status_command("close", "closed", "Close HANDLE for good (its balance must be zero).")


@click.group()
def steward() -> None:
    """Mark members as stewards (they approve joins and manage accounts in the wallet)."""


@steward.command("add")
@click.argument("handle")
@pass_ctx
def steward_add(obj: Context, handle: str) -> None:
    """Make HANDLE a steward."""
    from letsnode.node.facade import Node

    with user_errors():
        node = Node.open(obj.data)
        try:
            node.joins.add_steward(handle)
        finally:
            node.close()
    click.echo(f"{handle} is now a steward")


@click.group()
def invite() -> None:
    """Invite codes: whoever has one joins at once, without waiting for a steward."""


@invite.command("create")
@click.option("--uses", type=click.IntRange(1, 1000), default=1, show_default=True)
@click.option("--hours", type=click.FloatRange(0.1, 24 * 365), default=72, show_default=True)
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="The wallet's URL.")
@click.option("--steward", "make_steward", is_flag=True, help="Whoever joins becomes a steward.")
@pass_ctx
def invite_create(obj: Context, uses: int, hours: float, url: str, make_steward: bool) -> None:
    """Make an invite code and print its join link."""
    from letsnode.node.facade import Node

    with user_errors():
        node = Node.open(obj.data)
        try:
            code = node.joins.create_invite(uses, hours, steward=make_steward)
        finally:
            node.close()
    click.echo(f"{url.rstrip('/')}/#/join?invite={code}")
