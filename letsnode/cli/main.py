"""The ``letsnode`` command: a thin layer over the library; each group of commands lives
in a module of its own (``cli/community.py``, ``members.py``, ``audit.py``, ``run.py``,
``federation.py``, ``clearing_solve.py``, ``clearing_rounds.py``, ``units.py``).

Errors leave as one line on stderr, ``error: <what was wrong> [<code>]``, with exit code 1
(2 for a malformed command line); nothing in the ledger changes when a command fails.
"""

from __future__ import annotations

from pathlib import Path

import click

from letsnode.cli import audit, clearing_rounds, community, federation, members, run, units
from letsnode.cli.clearing_solve import clearing
from letsnode.cli.common import Context


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


for command in (
    community.init,
    community.show_id,
    members.member,
    community.pay,
    community.balance,
    community.history,
    community.export,
    audit.audit,
    clearing,
    federation.line,
    federation.peers,
    run.run,
    members.steward,
    members.invite,
    units.unit,
):
    main.add_command(command)
for command in clearing_rounds.COMMANDS:
    clearing.add_command(command)
