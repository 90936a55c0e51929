"""The web part of ``./scripts/run``: a demo community node with its wallet.

Seeds a small time bank in a temporary data folder (members with payments, offers and
wants), makes two invite links (one that makes its user a steward, one for members), and
serves the wallet until Ctrl-C (or ``--seconds``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import trio

from letsnode.community.folder import Community
from letsnode.core.amounts import parse_amount, parse_decimal
from letsnode.node.facade import Node
from letsnode.node.run import run_node

MEMBERS = ["maria", "ahmed", "eleni", "joao", "fatima"]
PAYMENTS = [
    ("maria", "ahmed", "1.50", "bread"),
    ("ahmed", "eleni", "2.00", "Greek lesson"),
    ("eleni", "joao", "0.75", "bike repair"),
    ("joao", "maria", "3.25", "childcare"),
    ("fatima", "maria", "1.00", "خبز عربي"),
]
LISTINGS = [
    ("maria", "offer", "food", "Sourdough bread", "Baked every Saturday morning.", ""),
    ("ahmed", "offer", "tech", "Phone repairs", "Screens, batteries, slow phones.", ""),
    ("eleni", "offer", "learning", "Μαθήματα ελληνικών", "Greek lessons for beginners.", ""),
    ("joao", "want", "transport", "Lift to the market", "Thursdays, early.", ""),
    ("fatima", "offer", "care", "Childcare afternoons", "رعاية الأطفال بعد الظهر.", ""),
    ("maria", "want", "home", "Help in the garden", "Two hours of digging.", ""),
]


def seed(folder: Path) -> None:
    c = Community.create(
        folder,
        name="Valencia Time Bank",
        short="valencia",
        unit="HOUR",
        scale=2,
        floor=parse_decimal("-20", 2),
        ceiling=parse_decimal("40", 2),
    )
    try:
        for handle in MEMBERS:
            c.admit(handle)
        for payer, payee, amount, memo in PAYMENTS:
            c.pay(c.sign_order(payer, payee, parse_amount(amount, 2), memo))
    finally:
        c.close()
    node = Node.open(folder)
    try:
        for handle, kind, category, title, text, contact in LISTINGS:
            node.web.add_listing(handle, kind, category, title, text, contact, node.clock())
    finally:
        node.close()


def invites(folder: Path) -> tuple[str, str]:
    node = Node.open(folder)
    try:
        return node.joins.create_invite(1, 24, steward=True), node.joins.create_invite(20, 24)
    finally:
        node.close()


@click.command()
@click.option("--http", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to serve on.")
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: Ctrl-C).")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the demo community (default: a new temporary folder).",
)
def main(http: str, seconds: float | None, data: Path | None) -> None:
    folder = data or Path(tempfile.mkdtemp(prefix="letsnode-web-demo-")) / "valencia"
    seed(folder)
    steward_code, member_code = invites(folder)

    async def serve() -> None:
        with trio.move_on_after(seconds if seconds is not None else float("inf")):
            async with trio.open_nursery() as nursery:
                url = await nursery.start(
                    lambda task_status: run_node(folder, http, task_status=task_status)
                )
                click.echo("")
                click.echo(f"Wallet of the demo community (data in {folder}):")
                click.echo(f"  open          {url}/")
                click.echo(f"  as a steward  {url}/#/join?invite={steward_code}")
                click.echo(f"  as a member   {url}/#/join?invite={member_code}")
                click.echo("  (or join without an invite and approve yourself from the")
                click.echo("   steward's 'Stewards' page in another browser profile)")
                click.echo(f"  API           {url}/api/openapi.json")
                click.echo("Ctrl-C stops the node.")

    try:
        trio.run(serve)
    except KeyboardInterrupt:
        click.echo("stopped")


if __name__ == "__main__":
    main()
