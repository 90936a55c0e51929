"""The demo behind ``./scripts/run``: a small time bank in a temporary data folder.

It runs the same code paths as the ``letsnode`` command (Community + audit), prints the
balances and the audit summary, and leaves the folder in place so it can be explored with
``letsnode --data <folder> ...``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from letsnode.audit.report import audit_lines
from letsnode.audit.runner import audit_path, export_log
from letsnode.community.folder import Community
from letsnode.core.amounts import parse_amount, parse_decimal
from letsnode.core.errors import LedgerRefusal
from letsnode.views import shapes

MEMBERS = [("maria", None), ("ahmed", "-50"), ("eleni", None), ("joao", None), ("city", "-500")]
PAYMENTS = [
    ("maria", "ahmed", "1.50", "bread"),
    ("ahmed", "eleni", "2.00", "Greek lesson"),
    ("eleni", "joao", "0.75", "bike repair"),
    ("city", "maria", "10.00", "social benefit"),
    ("joao", "maria", "3.25", "childcare"),
]


def build(folder: Path) -> Community:
    c = Community.create(
        folder,
        name="Valencia Time Bank",
        short="valencia",
        unit="HOUR",
        scale=2,
        floor=parse_decimal("-20", 2),
        ceiling=parse_decimal("40", 2),
    )
    for handle, floor in MEMBERS:
        c.admit(
            handle,
            kind="issuer" if handle == "city" else "member",
            floor=None if floor is None else parse_decimal(floor, 2),
        )
    for payer, payee, amount, memo in PAYMENTS:
        c.pay(c.sign_order(payer, payee, parse_amount(amount, 2), memo))
    return c


@click.command()
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the demo community (default: a new temporary folder).",
)
def main(data: Path | None) -> None:
    folder = data or Path(tempfile.mkdtemp(prefix="letsnode-demo-")) / "valencia"
    c = build(folder)
    click.echo(f"Demo community {c.genesis.name} in {folder}")
    click.echo("")
    try:
        c.pay(c.sign_order("ahmed", "eleni", parse_amount("60", 2), "too much"))
    except LedgerRefusal as err:
        click.echo(f"refused as expected: {err} [{err.code}]")
    click.echo("")
    for line in shapes.accounts_table(c.accounts(), c.genesis.scale):
        click.echo(line)
    click.echo("")
    export_log(c.store, c.ledger, folder / "log.bin")
    c.close()
    for line in audit_lines(audit_path(folder)):
        click.echo(line)
    click.echo("")
    click.echo(f"Explore it:  .venv/bin/letsnode --data {folder} history")
    click.echo(f"             .venv/bin/letsnode audit {folder / 'log.bin'}")


if __name__ == "__main__":
    main()
