"""``report.html``: one self-contained page an operator can open or send to a council.

The plots are inlined (PNG as data URLs), the style is in the page, nothing is fetched:
it opens offline. It shows the scenario, the headline figures, each community, the lines,
the clearing rounds, the validation (expected beside measured, with the tolerance) and
how long the run took on this machine (the only part that differs between two runs).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from letsnode.sim import plots
from letsnode.sim.runner import RunData

STYLE = " ".join(
    [
        "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:64rem;",
        "padding:0 1rem;color:#1f2328} h1{font-size:1.6rem;margin-bottom:.2rem}",
        "h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}",
        "table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}",
        "td,th{padding:.25rem .6rem;border-bottom:1px solid #eaeef2;text-align:right}",
        "th{background:#f6f8fa} td:first-child,th:first-child{text-align:left}",
        "img{max-width:100%;margin:.4rem 0} .ok{color:#0b6e4f;font-weight:600}",
        ".bad{color:#b35900;font-weight:600} .muted{color:#57606a}",
        ".figures{display:flex;flex-wrap:wrap;gap:.8rem}",
        ".figure{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;min-width:9rem}",
        ".figure b{display:block;font-size:1.3rem}",
    ]
)


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _img(data: bytes | None, alt: str) -> str:
    if data is None:
        return ""
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _table(head: list[str], rows: list[list[object]]) -> str:
    out = ["<table><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def render(data: RunData, summary: dict[str, Any], pngs: dict[str, bytes | None]) -> str:
    s, t = data.scenario, summary["totals"]
    lat = summary["latency_s"]
    rate = data.payments.count / data.wall_s if data.wall_s else 0.0
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>{_e(s.name)}: letsnode simulation</title><style>{STYLE}</style>",
        f"<h1>{_e(s.name)}</h1>",
        f"<p class=muted>{_e(s.source)}, seed {s.seed}, {s.days:g} days, "
        f"{t['communities']} communities, {t['lines']} credit lines, "
        f"{t['members_start']} members; transport {_e(summary['transport'])}"
        f"{'' if summary['signatures'] else ', signatures off'}"
        f"{'; overrides ' + _e(', '.join(s.overrides)) if s.overrides else ''}.</p>",
        f"<p>{_e(s.description)}</p>" if s.description else "",
        "<div class=figures>",
        *(
            f"<div class=figure>{_e(label)}<b>{_e(value)}</b></div>"
            for label, value in (
                ("payments", f"{t['payments']:,}"),
                ("succeeded", _pct(t["success_rate"])),
                ("to other communities", f"{t['cross_payments']:,}"),
                ("of those succeeded", _pct(t["cross_success_rate"])),
                ("latency p50 / p99", f"{1000 * lat['p50']:.0f} / {1000 * lat['p99']:.0f} ms"),
                ("clearing rounds committed", summary["clearing"]["committed"]),
            )
        ),
        "</div>",
    ]
    v = summary.get("validation")
    if v is not None:
        verdict = "<span class=ok>passed</span>" if v["passed"] else "<span class=bad>FAILED</span>"
        parts += [
            f"<h2>Validation: {_e(v['kind'])} — {verdict}</h2>",
            _table(
                ["check", "expected", "measured", "tolerance", "samples", "result"],
                [
                    [
                        c["name"],
                        c["expected"],
                        c["measured"],
                        c["tolerance"],
                        c["samples"],
                        "ok" if c["passed"] else "FAILED",
                    ]
                    for c in v["checks"]
                ],
            ),
            _img(pngs["validation.png"], "validation"),
        ]
    parts += [
        "<h2>Payments</h2>",
        _img(pngs["payments.png"], "payments per day"),
        _img(pngs["failures.png"], "refusals by reason"),
        _img(pngs["latency.png"], "latency"),
        "<h2>Communities</h2>",
        _table(
            [
                "community",
                "kind",
                "members",
                "payments",
                "succeeded",
                "to others",
                "succeeded",
                "Gini",
                "at floor",
                "net position",
                "cleared",
            ],
            [
                [
                    f"{c['name']} ({c['short']})",
                    c["kind"],
                    c["members_end"],
                    c["payments"],
                    _pct(c["success_rate"]),
                    c["cross_payments"],
                    _pct(c["cross_success_rate"]),
                    f"{c['gini_end']:.3f}",
                    _pct(c["at_floor_share_end"]),
                    f"{c['net_position_end']} {c['unit']}",
                    f"{c['cleared']} {c['unit']}",
                ]
                for c in summary["communities"]
            ],
        ),
        _img(pngs["balances.png"], "balances"),
        "<h2>Credit lines</h2>",
        _img(pngs["lines.png"], "lines"),
        _table(
            ["line", "rate", "limit out", "limit in", "balance at the end", "mean use", "highest"],
            [
                [
                    f"{x['a']} – {x['b']}",
                    x["rate"],
                    f"{x['limit_out']} {x['unit']}",
                    f"{x['limit_in']} {x['unit']}",
                    f"{x['balance_end']} {x['unit']}",
                    _pct(x["utilisation_mean"]),
                    _pct(x["utilisation_max"]),
                ]
                for x in summary["lines"]
            ],
        ),
        "<h2>Clearing</h2>",
        f"<p>{summary['clearing']['committed']} rounds committed of "
        f"{len(summary['clearing']['rounds'])}.</p>",
        _img(pngs["clearing.png"], "clearing rounds"),
        "<h2>Traffic</h2>",
        f"<p>{t['messages_sent']:,} messages, {t['bytes_sent'] / 1e6:,.1f} MB sent in all.</p>",
        _img(pngs["traffic.png"], "traffic per node"),
        "<h2>This run</h2>",
        f"<p class=muted>{data.wall_s:.1f} s of wall time ({data.setup_wall_s:.1f} s building the "
        f"communities), {rate:,.0f} payments per second. Files: summary.json, metrics.csv.</p>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p)


def write_report(out: Path, data: RunData, summary: dict[str, Any]) -> list[Path]:
    """``report.html`` and the plots as PNG files beside it; returns the paths written."""
    pngs: dict[str, bytes | None] = {
        "payments.png": plots.payments(data.rows),
        "failures.png": plots.failures(summary),
        "balances.png": plots.balances(data.rows),
        "lines.png": plots.lines(data.rows, summary),
        "traffic.png": plots.traffic(summary),
        "clearing.png": plots.clearing(summary),
        "latency.png": plots.latency(data.payments.latencies),
        "validation.png": plots.validation(
            summary, data.members_end, data.scenario.communities[0].one_unit
        ),
    }
    written = []
    for name, image in pngs.items():
        if image is not None:
            (out / name).write_bytes(image)
            written.append(out / name)
    (out / "report.html").write_text(render(data, summary, pngs), encoding="utf-8")
    written.append(out / "report.html")
    return written
