"""The ``letsnode`` command: a thin layer over the library; each group of commands lives
in a module of its own (``cli/community.py``, ``members.py``, ``audit.py``, ``run.py``,
``federation.py``, ``clearing_solve.py``, ``clearing_rounds.py``, ``units.py``, ``simulate.py``).

A command's module is imported only when that command runs (``COMMANDS``), so starting
``letsnode`` costs click and this table: libp2p, the database, numpy, matplotlib and Dask
load only for the commands that use them (``tests/test_cli_imports.py``).

Errors leave as one line on stderr, ``error: <what was wrong> [<code>]``, with exit code 1
(2 for a malformed command line); nothing in the ledger changes when a command fails.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from letsnode.cli.context import Context

# name -> ("module:attribute" of the click command, its short help for ``letsnode --help``,
# which lists the commands without importing them; tests/test_cli_imports.py checks that
# each matches the command's own).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "letsnode.cli.community:init",
        "Create a new community (its node key and genesis entry) in the data folder.",
    ),
    "id": (
        "letsnode.cli.community:show_id",
        "Show the community's name, short name and id (its node's public key).",
    ),
    "member": ("letsnode.cli.members:member", "Admit members and manage their accounts."),
    "pay": (
        "letsnode.cli.community:pay",
        "PAYER pays PAYEE AMOUNT (a decimal in the community's unit), signed with PAYER's key.",
    ),
    "balance": (
        "letsnode.cli.community:balance",
        "Balances and limits of every account, or of HANDLE.",
    ),
    "history": (
        "letsnode.cli.community:history",
        "Payments, newest first: all of them, or those of HANDLE.",
    ),
    "export": (
        "letsnode.cli.community:export",
        "Write the whole signed log to OUT in the replication format (protocol/SPEC.md).",
    ),
    "audit": (
        "letsnode.cli.audit:audit",
        "Verify a data folder or an exported log, trusting nothing stored in it.",
    ),
    "clearing": (
        "letsnode.cli.clearing_rounds:clearing_group",
        "Multilateral set-off (debt clearing) of obligations between participants.",
    ),
    "line": (
        "letsnode.cli.federation:line",
        "Credit lines with partner communities (the node must be running).",
    ),
    "peers": (
        "letsnode.cli.federation:peers",
        "Peers this node knows: partners (a line or a proposal) first, and whether they are "
        "connected.",
    ),
    "run": (
        "letsnode.cli.run:run",
        "Run the node: the members' web wallet, the JSON API and the libp2p host, until Ctrl-C.",
    ),
    "steward": (
        "letsnode.cli.members:steward",
        "Mark members as stewards (they approve joins and manage accounts in the wallet).",
    ),
    "invite": (
        "letsnode.cli.members:invite",
        "Invite codes: whoever has one joins at once, without waiting for a steward.",
    ),
    "unit": (
        "letsnode.cli.units:unit",
        "Name the community's unit in each language of the wallet.",
    ),
    "simulate": (
        "letsnode.cli.simulate:simulate",
        "Run a scenario of many communities on a virtual clock; write its figures and report.",
    ),
    "sweep": (
        "letsnode.cli.simulate:sweep",
        "Run a scenario over a grid of parameters and seeds on Dask; plot the outcomes.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported the first time they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from ``COMMANDS``'s help texts: no command is imported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            text = COMMANDS[name][1] if name in COMMANDS else ""
            if len(text) > limit:  # cut at a word, as click does
                text = text[: limit - 3].rsplit(" ", 1)[0] + "..."
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
