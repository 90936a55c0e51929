"""``letsnode clearing run|rounds|policy|plot``: federation-wide clearing rounds.

``run`` asks the running node to coordinate a round with every community it knows;
``rounds``, ``policy`` and ``plot`` read or change the data folder directly, so they work
whether the node runs or not.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from letsnode.cli.common import Context, pass_ctx, running, user_errors
from letsnode.community.folder import Community
from letsnode.core.amounts import format_amount
from letsnode.core.errors import InvalidInput
from letsnode.store.clearing_store import POLICIES, ClearingStore
from letsnode.views.shapes import table


@click.command("run")
@click.option(
    "--timeout",
    type=click.FloatRange(1, 300),
    default=10.0,
    show_default=True,
    help="Seconds every affected community has to check and sign the proposal.",
)
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@pass_ctx
def run_(obj: Context, timeout: float, as_json: bool) -> None:
    """Coordinate one clearing round now (the node must be running).

    Every known community states its lines; cycles of debt are cancelled only if every
    affected community signs, otherwise nothing changes anywhere.
    """
    with user_errors(), Community.opened(obj.data) as c:
        g = c.genesis
        result = running(obj.data).call("clearing_run", timeout=timeout)
    result["cleared"] = format_amount(result["cleared_minor"], g.scale)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    what = {
        "committed": f"cleared {result['cleared']} {g.unit} of debt around the network",
        "aborted": f"aborted, nothing changed: {result['reason']}",
        "empty": "nothing to clear: no cycle of debt between the communities",
    }[result["state"]]
    click.echo(f"round {result['round'][:12]}: {what}")
    click.echo(
        f"{result['communities']} communities stated their lines, "
        f"{len(result['participants'])} took part"
    )
    if result["unreachable"]:
        click.echo(f"{len(result['unreachable'])} could not be reached")


@click.command("rounds")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@pass_ctx
def rounds(obj: Context, as_json: bool, limit: int) -> None:
    """Clearing rounds this community ran or took part in, newest first."""
    from letsnode.views.clearing_report import round_summary

    with user_errors(), Community.opened(obj.data) as c:
        g = c.genesis
        rows = ClearingStore(c.store.conn).rounds(limit)
        data = [round_summary(r, g.community_id, g.scale, g.unit) for r in rows]
    if as_json:
        click.echo(json.dumps({"rounds": data}, indent=2))
        return
    if not data:
        click.echo("no clearing rounds yet: 'letsnode clearing run' starts one")
        return
    for line in table(
        ["round", "started", "role", "state", "cleared", "lines", "reason"],
        [
            [
                r["round"][:12],
                r["started"],
                r["role"],
                r["state"],
                r["cleared"],
                str(r["lines"]),
                r["reason"][:60],
            ]
            for r in data
        ],
        {4, 5},
    ):
        click.echo(line)


@click.command("policy")
@click.argument("policy", required=False, type=click.Choice(POLICIES))
@pass_ctx
def policy(obj: Context, policy: str | None) -> None:
    """Show, or set to accept or refuse, whether this community signs clearing rounds."""
    with user_errors(), Community.opened(obj.data) as c:
        store = ClearingStore(c.store.conn)
        if policy is not None:
            store.set_policy(policy)
        current = store.policy()
    click.echo(f"clearing policy: {current}")


@click.command("plot")
@click.argument("round_")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PNG file to write.",
)
@pass_ctx
def plot(obj: Context, round_: str, out: Path) -> None:
    """Plot line utilisation before and after ROUND (a prefix of its id)."""
    from letsnode.views.clearing_report import plot_to_file

    with user_errors(), Community.opened(obj.data) as c:
        row = ClearingStore(c.store.conn).find(round_)
        if row is None or row.snapshot is None:
            raise InvalidInput(
                f"no single clearing round with a snapshot matches {round_!r}: "
                "see 'letsnode clearing rounds'"
            )
        plot_to_file(row, out)
    click.echo(f"wrote {out}")


# Joined to ``letsnode clearing`` (the group of ``cli/clearing_solve.py``) below.
COMMANDS = [run_, rounds, policy, plot]


def _joined() -> click.Group:
    from letsnode.cli.clearing_solve import clearing

    for command in COMMANDS:
        clearing.add_command(command)
    return clearing


# ``letsnode clearing``: the group of ``cli/clearing_solve.py`` with these commands joined.
clearing_group = _joined()
