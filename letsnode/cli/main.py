"""The ``letsnode`` command: a thin layer over ``letsnode.community.folder`` and the core.

Errors leave as one line on stderr, ``error: <what was wrong> [<code>]``, with exit code 1
(2 for a malformed command line); nothing in the ledger changes when a command fails.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from letsnode.audit.report import AuditReport, audit_json, audit_lines
from letsnode.audit.runner import audit_path, export_log
from letsnode.cli import clearing_rounds
from letsnode.cli import federation as federation_cli
from letsnode.cli.clearing_solve import clearing
from letsnode.community.folder import Community
from letsnode.community.keystore import write_new_key
from letsnode.core.amounts import parse_amount, parse_decimal
from letsnode.core.errors import InvalidInput, LedgerRefusal, LetsError
from letsnode.core.names import check_slug
from letsnode.core.wire.entries import ACCOUNT_KINDS
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.http import HTTP_SERVERS, HttpServerKind, split_host_port
from letsnode.net.peerid import peer_id_from_community_id
from letsnode.node.control import ControlClient, client_for
from letsnode.views import shapes
from letsnode.views.progress import counting_progress


def fail(err: LetsError) -> NoReturn:
    click.echo(f"error: {err} [{err.code}]", err=True)
    sys.exit(1)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except LetsError as err:
        fail(err)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


class Context:
    def __init__(self, data: Path) -> None:
        self.data = data

    @contextmanager
    def community(self) -> Iterator[Community]:
        with user_errors(), Community.opened(self.data) as community:
            yield community


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("letsnode-data"),
    envvar="LETSNODE_DATA",
    show_default=True,
    help="The community's data folder (also from LETSNODE_DATA).",
)
@click.version_option(package_name="letsnode")
@click.pass_context
def main(ctx: click.Context, data: Path) -> None:
    """letsnode: a mutual-credit (LETS) community node."""
    ctx.obj = Context(data)


def limit_option(text: str | None, scale: int, what: str) -> int | None:
    if text is None or text == "none":
        return None
    return parse_decimal(text, scale, what)


@main.command()
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


@main.command("id")
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


@main.group()
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
    with obj.community() as c:
        scale = c.genesis.scale
        floor = None if floor_text is None else parse_decimal(floor_text, scale, "floor")
        ceiling = limit_option(ceiling_text, scale, "ceiling")
        key = parse_key(key_hex) if key_hex is not None else None
        client = client_for(obj.data)
        if client is None:
            seq = c.admit(
                handle,
                key=key,
                kind=kind,
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
    """Admit through the running node; a key this command creates is removed on failure."""
    check_slug(handle)
    path = None
    if key is None:
        path = c.member_key_path(handle)
        key = write_new_key(path).public
    if ceiling is None and ceiling_text is None:
        ceiling = c.genesis.ceiling
    try:
        return int(
            client.call(
                "admit", handle=handle, key=key.hex(), kind=kind, floor=floor, ceiling=ceiling
            )
        )
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise


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
    with obj.community() as c:
        scale = c.genesis.scale
        floor = parse_decimal(floor_text, scale, "floor")
        ceiling = limit_option(ceiling_text, scale, "ceiling")
        client = client_for(obj.data)
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


def status_command(name: str, status: str, help_text: str) -> None:
    @member.command(name, help=help_text)
    @click.argument("handle")
    @pass_ctx
    def command(obj: Context, handle: str) -> None:
        with obj.community() as c:
            client = client_for(obj.data)
            if client is None:
                seq = c.set_status(handle, status).seq
            else:
                seq = client.call("status", handle=handle, status=status)
        click.echo(f"{handle} is now {status} (entry {seq})")


status_command("freeze", "frozen", "Freeze HANDLE: it can neither pay nor be paid.")
status_command("unfreeze", "active", "Make a frozen account active again.")
status_command("close", "closed", "Close HANDLE for good (its balance must be zero).")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("payer")
@click.argument("payee")
@click.argument("amount")
@click.option("--memo", default="", help="What the payment is for.")
@pass_ctx
def pay(obj: Context, payer: str, payee: str, amount: str, memo: str) -> None:
    """PAYER pays PAYEE AMOUNT (a decimal in the community's unit), signed with PAYER's key.

    PAYEE may be a member of another community, HANDLE@COMMUNITY (its short name or peer
    id): the payment then crosses the credit lines, which needs the running node.
    """
    with obj.community() as c:
        minor = parse_amount(amount, c.genesis.scale)
        client = client_for(obj.data)
        if "@" in payee:
            pay_remote(c, client, payer, payee, minor, memo)
            return
        if client is None:
            seq = c.pay(c.sign_order(payer, payee, minor, memo)).seq
        else:
            signed = c.sign_order(
                payer, payee, minor, memo, nonce=client.call("next_nonce", handle=payer)
            )
            seq = client.call("pay", order=signed.data.hex(), signature=signed.signature.hex())
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


@main.command()
@click.argument("handle", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def balance(obj: Context, handle: str | None, as_json: bool) -> None:
    """Balances and limits of every account, or of HANDLE."""
    show_balances(obj, handle, as_json)


@main.command()
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


@main.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def export(obj: Context, out: Path) -> None:
    """Write the whole signed log to OUT in the replication format (protocol/SPEC.md)."""
    with obj.community() as c:
        count = export_log(c.store, c.ledger, out)
    click.echo(f"exported {count} entries to {out}")


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--community", "expect_id", help="Fail unless the log's community id is this.")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@click.option(
    "--since-checkpoint",
    is_flag=True,
    help="Data folders only: check the latest signed checkpoint (signature, state digest, "
    "log prefix re-hashed) and verify in full only the entries after it.",
)
@click.option(
    "--write-checkpoint",
    is_flag=True,
    help="Data folders only: after an audit that passes, store a checkpoint signed with "
    "the node key (D/node.key) for later --since-checkpoint audits.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes for signature checks (default: every core; 0: this process).",
)
def audit(
    source: Path,
    expect_id: str | None,
    as_json: bool,
    since_checkpoint: bool,
    write_checkpoint: bool,
    workers: int | None,
) -> None:
    """Verify a data folder or an exported log, trusting nothing stored in it.

    Checks every node and member signature, the hash chain, every balance within its floor
    and ceiling after every entry, nonces, and zero-sum; exit 1 names the first bad entry.
    Signatures are checked on every core. --since-checkpoint trusts a checked checkpoint
    for the entries before it; without it nothing stored is trusted.
    """
    with user_errors():
        report = run_audit(
            source,
            progress=not as_json,
            since_checkpoint=since_checkpoint,
            write_checkpoint=write_checkpoint,
            workers=workers,
        )
    failed = not report.ok
    if expect_id is not None and report.ok and (report.community_id or b"").hex() != expect_id:
        click.echo(
            f"error: {source} is the log of community "
            f"{(report.community_id or b'').hex()}, not {expect_id} [wrong_community]",
            err=True,
        )
        sys.exit(1)
    if as_json:
        info = audit_json(report)
        info["verified_from"] = report.verified_from
        info["checkpoint_seq"] = report.checkpoint_seq
        info["checkpoint_written"] = report.checkpoint_written
        emit_json(info)
    else:
        echo_lines(audit_lines(report))
        if report.checkpoint_seq is not None:
            click.echo(
                f"checkpoint entries 0..{report.checkpoint_seq} covered by a checked checkpoint "
                "(prefix re-hashed, not re-verified)"
            )
        if report.checkpoint_written is not None:
            click.echo(f"checkpoint written at entry {report.checkpoint_written}")
    if failed:
        sys.exit(1)


def run_audit(
    source: Path,
    progress: bool,
    *,
    since_checkpoint: bool = False,
    write_checkpoint: bool = False,
    workers: int | None = None,
) -> AuditReport:
    def run(advance: Callable[[int], None] | None) -> AuditReport:
        return audit_path(
            source,
            advance,
            since_checkpoint=since_checkpoint,
            write_checkpoint=write_checkpoint,
            workers=workers,
        )

    if not progress:
        return run(None)
    with counting_progress("auditing", "entries") as advance:
        return run(advance)


main.add_command(clearing)
federation_cli.register(main, pass_ctx, user_errors)
clearing_rounds.register(clearing, pass_ctx, user_errors)


# -- the node: wallet and API (letsnode/node/facade.py, letsnode/web/) ---------------------------


def _host_port(value: str) -> str:
    try:
        split_host_port(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


@main.command()
@click.option(
    "--http",
    default="127.0.0.1:8080",
    show_default=True,
    callback=lambda ctx, param, value: _host_port(value),
    help="Address the wallet and JSON API listen on (HOST:PORT; port 0 picks a free one).",
)
@click.option(
    "--http-server",
    type=click.Choice(HTTP_SERVERS),
    default="letsnode",
    show_default=True,
    help="Who serves HTTP: the node's own HTTP/1.1 server, or Hypercorn.",
)
@click.option(
    "--listen",
    multiple=True,
    default=["/ip4/127.0.0.1/tcp/0"],
    show_default=True,
    help="libp2p address(es) for partner nodes (repeatable).",
)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    help="A partner's full address .../tcp/PORT/p2p/PEER_ID to dial at start (repeatable); "
    "partners met before are remembered and redialled.",
)
@click.option(
    "--clearing-every",
    type=click.FloatRange(10, 7 * 24 * 3600),
    default=None,
    metavar="SECONDS",
    help="Coordinate a clearing round with the partner communities this often "
    "(default: only when 'letsnode clearing run' asks).",
)
@pass_ctx
def run(
    obj: Context,
    http: str,
    http_server: HttpServerKind,
    listen: tuple[str, ...],
    peers: tuple[str, ...],
    clearing_every: float | None,
) -> None:
    """Run the node: the members' web wallet, the JSON API and the libp2p host, until Ctrl-C.

    While it runs, the other letsnode commands on this data folder act through it.
    """
    import trio

    from letsnode.federation.service import FederationConfig
    from letsnode.node.facade import Node
    from letsnode.node.run import run_node

    def announce(node: Node) -> None:
        assert node.federation is not None
        click.echo(f"letsnode: {node.community.genesis.name} is running")
        click.echo(f"peer id  {peer_id_from_community_id(node.community_id)}")
        for addr in node.federation.transport.listen_addrs():
            click.echo(f"address  {addr}")

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                lambda task_status: run_node(
                    obj.data,
                    http,
                    task_status=task_status,
                    listen=listen,
                    peers=peers,
                    announce=announce,
                    federation_config=FederationConfig(clearing_every_s=clearing_every),
                    http_server=http_server,
                )
            )
            click.echo(f"wallet   {url}/  (API: {url}/api/openapi.json)")
            if not http.startswith(("127.", "localhost", "[::1]")):
                click.echo(
                    "note: browsers give the wallet its keys (WebCrypto) only over https or on "
                    "localhost: serve members through a TLS reverse proxy"
                )

    with user_errors():
        try:
            trio.run(serve)
        except KeyboardInterrupt:
            click.echo("stopped")
        except BaseExceptionGroup as group:
            if group.split(KeyboardInterrupt)[1] is not None:
                raise
            click.echo("stopped")


@main.group()
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


@main.group()
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
