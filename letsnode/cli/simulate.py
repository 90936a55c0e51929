"""``letsnode simulate`` and ``letsnode sweep``: scenarios of many communities, each a real
node, on a virtual clock (``letsnode.sim``), and grids of them on Dask.

Both write into ``--out``: ``summary.json``, ``metrics.csv``, PNG plots and a
self-contained ``report.html`` (a sweep: one folder per point, and its own summary and
report). A bad scenario or sweep file stops with one line naming the file and the key.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from letsnode.core.errors import LetsError


def _fail(err: LetsError) -> None:
    click.echo(f"error: {err} [{err.code}]", err=True)
    sys.exit(1)


@click.command("simulate")
@click.argument(
    "scenario", metavar="SCENARIO.toml", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for summary.json, metrics.csv, the plots and report.html.",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Instead of the file's seed.")
@click.option(
    "--days", type=click.FloatRange(0, 3650, min_open=True), help="Instead of the file's."
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a key of the file (TOML value), e.g. --set trade.cross_share=0.1.",
)
@click.option(
    "--transport",
    type=click.Choice(["memory", "libp2p"]),
    default="memory",
    show_default=True,
    help="memory: simulated time, as fast as the CPU goes; libp2p: real hosts on 127.0.0.1, "
    "real time (small scenarios).",
)
@click.option(
    "--signatures/--no-signatures",
    default=True,
    show_default=True,
    help="--no-signatures: sign and verify nothing (faster; the same outcomes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of a report.")
def simulate(
    scenario: Path,
    out: Path,
    seed: int | None,
    days: float | None,
    overrides: tuple[str, ...],
    transport: str,
    signatures: bool,
    as_json: bool,
) -> None:
    """Run a scenario of many communities on a virtual clock; write its figures and report.

    Every community of SCENARIO.toml is a real letsnode node, trading for the days the file
    says; summary.json, metrics.csv, the plots and report.html go into --out."""
    from letsnode.sim.parse import load_scenario
    from letsnode.sim.run_files import simulate_to

    try:
        loaded = load_scenario(scenario, overrides=overrides, seed=seed, days=days)
        result = simulate_to(loaded, out, transport, signatures)  # type: ignore[arg-type]
    except LetsError as err:
        _fail(err)
        return
    if as_json:
        click.echo(result.summary_text, nl=False)
    else:
        for line in result.lines:
            click.echo(line)
    if result.validation_failed:
        _fail(
            LetsError(
                f"validation {result.validation_failed} failed: see {out / 'report.html'}",
                code="validation_failed",
            )
        )


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.toml", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for one folder per point, sweep.csv, the plots and report.html.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Dask workers of a local cluster, one process each [default: the cores].",
)
@click.option("--scheduler", metavar="ADDRESS", help="Use the Dask cluster at ADDRESS instead.")
@click.option("--signatures/--no-signatures", default=True, show_default=True)
def sweep(
    sweep_file: Path, out: Path, workers: int | None, scheduler: str | None, signatures: bool
) -> None:
    """Run a scenario over a grid of parameters and seeds on Dask; plot the outcomes.

    SWEEP.toml names the scenario, its grid and seeds; each run is a task on Dask (a local
    cluster of --workers, or --scheduler ADDRESS)."""
    if workers is not None and scheduler is not None:
        raise click.UsageError("give --workers (a local cluster) or --scheduler, not both")
    from letsnode.sim.sweep import load_sweep, run_sweep

    try:
        plan = load_sweep(sweep_file)
        lines = run_sweep(plan, out, workers=workers, scheduler=scheduler, signatures=signatures)
    except LetsError as err:
        _fail(err)
        return
    for line in lines:
        click.echo(line)
