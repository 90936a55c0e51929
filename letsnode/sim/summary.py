"""``summary.json``: a run's headline figures, per community and in total, as stable JSON.

Nothing in it depends on the machine or the wall clock (those go to the report): the same
scenario and seed give the same bytes. Amounts appear as decimal strings in the
community's unit and as ``*_minor`` integers, as everywhere in letsnode's JSON; shares
and rates are floats rounded to six decimals.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from letsnode.core.amounts import format_amount
from letsnode.core.wire.clearing import Proposal
from letsnode.sim import stats, validation
from letsnode.sim.metrics import ADDITIVE, COLUMNS
from letsnode.sim.runner import T0_MS, RunData
from letsnode.sim.validation import Check

FORMAT = 1  # bumped when a key changes meaning (keys are only ever added otherwise)


def _money(key: str, minor: int, scale: int) -> dict[str, Any]:
    return {key: format_amount(minor, scale), f"{key}_minor": minor}


def _rate(ok: int, n: int) -> float | None:
    return stats.r6(ok / n) if n else None


def checks(data: RunData) -> list[Check]:
    """The run's validation checks (none unless the scenario asks for a validation)."""
    s = data.scenario
    if s.validation is None:
        return []
    if s.validation.kind == "credit-line":
        records = data.payments.records or []
        kept = [
            (r.payer_community, r.payee_community, r.outcome == "ok")
            for r in records
            if r.kind == "cross"
        ]
        return validation.credit_line_checks(s, kept)
    if s.validation.kind == "boltzmann-gibbs":
        unit = s.communities[0].one_unit
        return validation.boltzmann_gibbs_checks(s, [x // unit for x in data.members_end[0]])
    c = s.communities[0]
    assert data.final_expected is not None and data.final_cleared is not None
    return validation.clearing_checks(data.final_expected, data.final_cleared, c.scale, c.unit)


def build_summary(data: RunData) -> dict[str, Any]:
    s = data.scenario
    col = {name: k for k, name in enumerate(COLUMNS)}
    per: dict[str, list[list[Any]]] = {c.short: [] for c in s.communities}
    for r in data.rows:
        per[r[col["community"]]].append(r)
    failures: Counter[str] = Counter()
    communities: list[dict[str, Any]] = []
    for c, sim in zip(s.communities, data.nodes, strict=True):
        rows = per[c.short]
        total = {name: sum(r[col[name]] for r in rows) for name in ADDITIVE}
        last = rows[-1]
        mine = data.payments.failures_of[len(communities)]
        failures.update(mine)
        communities.append(
            {
                "short": c.short,
                "name": c.name,
                "kind": c.kind,
                "country": c.country,
                "unit": c.unit,
                "members_start": c.members,
                "members_end": last[col["members"]],
                "payments": total["payments"],
                "succeeded": total["succeeded"],
                "success_rate": _rate(total["succeeded"], total["payments"]),
                "local_success_rate": _rate(total["local_succeeded"], total["local_payments"]),
                "cross_payments": total["cross_payments"],
                "cross_success_rate": _rate(total["cross_succeeded"], total["cross_payments"]),
                "failures": dict(sorted(mine.items())),
                **_money("volume_local", total["volume_local"], c.scale),
                **_money("volume_cross_out", total["volume_cross_out"], c.scale),
                **_money("volume_cross_in", total["volume_cross_in"], c.scale),
                "benefits": total["benefits"],
                "benefits_refused": total["benefits_refused"],
                **_money("benefits_volume", total["benefits_volume"], c.scale),
                "joined": total["joined"],
                "left": total["left"],
                "gini_end": last[col["gini"]],
                "at_floor_share_end": last[col["at_floor_share"]],
                "at_ceiling_share_end": last[col["at_ceiling_share"]],
                **_money("net_position_end", last[col["net_position"]], c.scale),
                **_money("cleared", total["cleared"], c.scale),
                "messages_sent": total["messages_sent"],
                "bytes_sent": total["bytes_sent"],
                "restarts": sim.restarts,
            }
        )
    payments = sum(x["payments"] for x in communities)
    succeeded = sum(x["succeeded"] for x in communities)
    cross = sum(x["cross_payments"] for x in communities)
    cross_ok = sum(r[col["cross_succeeded"]] for r in data.rows)
    latencies = sorted(data.payments.latencies)
    checks_ = checks(data)
    out: dict[str, Any] = {
        "format": FORMAT,
        "scenario": s.name,
        "file": s.source,
        "overrides": list(s.overrides),
        "seed": s.seed,
        "days": s.days,
        "transport": data.options.transport,
        "signatures": data.options.signatures,
        "calendar_start": "2026-01-01",  # day 0 (nodes date entries from it)
        "totals": {
            "communities": len(s.communities),
            "lines": len(s.lines),
            "members_start": sum(c.members for c in s.communities),
            "payments": payments,
            "succeeded": succeeded,
            "success_rate": _rate(succeeded, payments),
            "local_payments": payments - cross,
            "cross_payments": cross,
            "cross_success_rate": _rate(cross_ok, cross),
            "failures": dict(sorted(failures.items())),
            "benefits": sum(x["benefits"] for x in communities),
            "messages_sent": sum(x["messages_sent"] for x in communities),
            "bytes_sent": sum(x["bytes_sent"] for x in communities),
        },
        "latency_s": {
            "count": len(latencies),
            "mean": stats.r6(stats.mean(latencies)),
            "p50": stats.r6(stats.percentile(latencies, 50)),
            "p90": stats.r6(stats.percentile(latencies, 90)),
            "p99": stats.r6(stats.percentile(latencies, 99)),
            "max": stats.r6(latencies[-1]) if latencies else 0.0,
        },
        "communities": communities,
        "lines": _lines(data),
        "clearing": _rounds(data),
    }
    if s.validation is not None:
        out["validation"] = {
            "kind": s.validation.kind,
            "passed": all(c.passed for c in checks_) and bool(checks_),
            "checks": [c.to_json() for c in checks_],
        }
    return out


def _lines(data: RunData) -> list[dict[str, Any]]:
    s = data.scenario
    out = []
    for line, use, (balance, util) in zip(s.lines, data.line_use, data.line_end, strict=True):
        a = s.community(line.a)
        out.append(
            {
                "a": line.a,
                "b": line.b,
                "rate": f"{line.rate_num}/{line.rate_den}",
                "unit": a.unit,
                **_money("limit_out", line.limit_out, a.scale),
                **_money("limit_in", line.limit_in, a.scale),
                **_money("balance_end", balance, a.scale),
                "utilisation_end": stats.r6(util),
                "utilisation_mean": stats.r6(stats.mean(use)),
                "utilisation_max": stats.r6(max(use, default=0.0)),
            }
        )
    return out


def _rounds(data: RunData) -> dict[str, Any]:
    rounds = []
    for sim, rows in zip(data.nodes, data.rounds, strict=True):
        for r in sorted(rows, key=lambda r: (r.created_ms, r.nonce)):
            if r.role != "coordinator":
                continue
            items = Proposal.decode(r.proposal).items if r.proposal else ()
            rounds.append(
                {
                    "day": stats.r6((r.created_ms - T0_MS) / 86_400_000)
                    if data.options.transport == "memory"
                    else None,
                    "coordinator": sim.spec.short,
                    "state": r.state,
                    "unit": sim.spec.unit,
                    **_money("cleared", r.cleared, sim.spec.scale),
                    "lines": len(items),
                    "reason": r.reason,
                }
            )
    committed = [x for x in rounds if x["state"] == "committed"]
    by_unit: dict[str, int] = {}
    for x in committed:
        by_unit[x["unit"]] = by_unit.get(x["unit"], 0) + x["cleared_minor"]
    out: dict[str, Any] = {
        "rounds": rounds,
        "committed": len(committed),
        "cleared_minor_by_unit": dict(sorted(by_unit.items())),
    }
    if data.final_cleared is not None:
        out["final_round"] = {
            **data.extra.get("final_round", {}),
            "removed_minor": data.final_cleared,
            "engine_optimum_minor": data.final_expected,
            "obligations": len(data.obligations or []),
        }
    return out
