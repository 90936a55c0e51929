"""One run from a scenario to its files, as ``letsnode simulate`` does it (and a sweep's
point: the same function, so that a point's files are the ones a lone run writes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from letsnode.sim.outputs import summary_text, write_run
from letsnode.sim.report import write_report
from letsnode.sim.runner import Progress, RunOptions, Transport, run_scenario
from letsnode.sim.scenario import Scenario
from letsnode.sim.summary import build_summary
from letsnode.views.progress import simulation_progress


@dataclass(frozen=True, slots=True)
class Written:
    summary_text: str
    metrics_path: Path
    lines: list[str]  # what the command prints
    validation_failed: str | None  # the validation kind, if its checks failed
    payments: int
    wall_s: float


def simulate_to(
    scenario: Scenario,
    out: Path,
    transport: Transport = "memory",
    signatures: bool = True,
    report: bool = True,
    progress: bool = True,
) -> Written:
    """Run ``scenario`` and write its files into ``out`` (report and plots if ``report``);
    a progress bar on a terminal if ``progress``."""
    with simulation_progress(scenario.days) as update:

        def shown(p: Progress) -> None:
            update(p.day, p.payments, p.wall_s)

        options = RunOptions(transport, signatures, progress=shown if progress else None)
        data = run_scenario(scenario, options)
    summary = build_summary(data)
    write_run(out, data, summary)
    if report:
        write_report(out, data, summary)
    t = summary["totals"]
    rate = data.payments.count / data.wall_s if data.wall_s else 0.0
    lines = [
        f"{scenario.name}: {scenario.days:g} days, {t['communities']} communities, "
        f"{t['members_start']:,} members, seed {scenario.seed}",
        f"payments   {t['payments']:,} ({_pct(t['success_rate'])} succeeded); "
        f"to other communities {t['cross_payments']:,} ({_pct(t['cross_success_rate'])})",
        f"clearing   {summary['clearing']['committed']} rounds committed",
        f"run        {data.wall_s:,.1f} s, {rate:,.0f} payments/s",
    ]
    failed = None
    v = summary.get("validation")
    if v is not None:
        for c in v["checks"]:
            lines.append(
                f"validation {c['name']}: expected {c['expected']}, measured {c['measured']}, "
                f"{c['tolerance']}: {'ok' if c['passed'] else 'FAILED'}"
            )
        if not v["passed"]:
            failed = v["kind"]
    lines.append(f"wrote {out / 'summary.json'}, metrics.csv" + (", report.html" if report else ""))
    return Written(
        summary_text(summary), out / "metrics.csv", lines, failed, data.payments.count, data.wall_s
    )


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"
