"""``letsnode audit``: verify a data folder or an exported log, trusting nothing in it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from letsnode.audit.report import AuditReport, audit_json, audit_lines
from letsnode.audit.runner import audit_path
from letsnode.cli.common import echo_lines, emit_json, user_errors
from letsnode.views.progress import counting_progress


@click.command()
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
