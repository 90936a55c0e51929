"""Reading a scenario file: TOML in, a checked ``Scenario`` out, or one line saying why not.

``load_scenario(path, overrides=..., seed=..., days=...)`` reads the file, applies the
overrides (``overrides.py``), checks every key and value (``fields.Table``), expands
``count`` entries and generated topologies, and checks what the validation kinds need.
Amounts are decimals in the community's unit (``floor = -20``, ``benefit = "12.50"``).
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from letsnode.core.errors import LetsError
from letsnode.core.names import check_slug, check_text, check_unit
from letsnode.sim import topology
from letsnode.sim.fields import ScenarioError, Table
from letsnode.sim.overrides import apply_overrides, split_override
from letsnode.sim.scenario import (
    KINDS,
    VALIDATION_KINDS,
    ChurnSpec,
    ClearingSpec,
    CommunitySpec,
    CrashFault,
    Fault,
    IssuerSpec,
    Libp2pSpec,
    LineSpec,
    NetworkSpec,
    PartitionFault,
    Scenario,
    TimingSpec,
    TradeSpec,
    ValidationKind,
    ValidationSpec,
)
from letsnode.sim.validation import check_validation

COMMUNITY_KEYS = (
    "kind",
    "country",
    "unit",
    "scale",
    "members",
    "floor",
    "ceiling",
    "trade_rate",
    "amount_median",
    "amount_sigma",
    "clearing_policy",
)


def read_document(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot be read ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not valid TOML: the file is not UTF-8") from None


def load_scenario(
    path: Path,
    *,
    overrides: Sequence[str] = (),
    seed: int | None = None,
    days: float | None = None,
) -> Scenario:
    """The scenario in ``path`` with ``KEY=VALUE`` overrides, and ``seed``/``days`` if given.

    Raises ``ScenarioError`` naming the file, the key and what is wrong."""
    document = read_document(path)
    items = [split_override(item) for item in overrides]
    if seed is not None:
        items.append(("seed", seed))
    if days is not None:
        items.append(("days", days))
    document = apply_overrides(document, items, str(path))
    return parse_scenario(document, str(path), tuple(overrides))


def parse_scenario(
    document: dict[str, Any], file: str, overrides: tuple[str, ...] = ()
) -> Scenario:
    top = Table(document, "", file)
    name = top.get_str("name")
    days = top.get_float("days", above=0, hi=3650)
    seed = top.get_int("seed", 1, lo=0, hi=2**63 - 1)
    description = top.get_str("description", "")
    defaults = top.get_table("defaults")
    communities = _communities(top, defaults)
    shorts = [c.short for c in communities]
    lines = _lines(top, communities, shorts)
    trade = _trade(top.get_table("trade"), days)
    clearing = _clearing(top.get_table("clearing"), shorts)
    churn_t = top.get_table("churn")
    churn = ChurnSpec(
        churn_t.get_float("leave_per_year", 0.0, lo=0, hi=50),
        churn_t.get_float("join_per_year", 0.0, lo=0, hi=50),
    )
    churn_t.done()
    faults = _faults(top, shorts, days)
    net_t = top.get_table("network")
    network = NetworkSpec(
        net_t.get_float("latency_ms", 20.0, lo=0, hi=10_000),
        net_t.get_float("drop_rate", 0.0, lo=0, hi=0.5),
    )
    net_t.done()
    timing_t = top.get_table("timing")
    timing = TimingSpec(
        timing_t.get_float("advert_interval_s", 3600.0, lo=1),
        timing_t.get_float("advert_settle_s", 0.2, lo=0.01, hi=3600),
        timing_t.get_float("tick_s", 0.5, above=0, hi=60),
        timing_t.get_float("idle_tick_s", 3600.0, lo=1),
    )
    timing_t.done()
    libp2p_t = top.get_table("libp2p")
    libp2p = Libp2pSpec(libp2p_t.get_float("speed", 8640.0, above=0))
    libp2p_t.done()
    validation = None
    if top.has("validation"):
        v = top.get_table("validation")
        kind = cast(ValidationKind, v.get_str("kind", choices=VALIDATION_KINDS))
        validation = ValidationSpec(kind, v.get_float("burn_in_share", 0.1, 0, 0.9))
        v.done()
    top.done()
    scenario = Scenario(
        name,
        Path(file).name,
        days,
        seed,
        tuple(communities),
        tuple(lines),
        trade,
        clearing,
        churn,
        tuple(faults),
        network,
        timing,
        libp2p,
        validation,
        description,
        overrides,
    )
    if validation is not None:
        problem = check_validation(scenario)
        if problem is not None:
            raise ScenarioError(f"{file}: validation ({validation.kind}): {problem}")
    return scenario


def _communities(top: Table, defaults: Table) -> list[CommunitySpec]:
    base = {k: defaults.raw(k) for k in COMMUNITY_KEYS if defaults.has(k)}
    defaults.done()
    tables = top.get_tables("communities")
    if not tables:
        raise top.error("communities", "must list at least one community ([[communities]])")
    out: list[CommunitySpec] = []
    for t in tables:
        count = t.get_int("count", 0, lo=0, hi=10_000)
        merged = Table({**base, **t.data}, t.path, t.file)
        merged.raw("count", 0)
        if count:
            for i in range(1, count + 1):
                out.append(_community(merged, f"{merged.get_str('short')}{i}", i))
        else:
            out.append(_community(merged, None, None))
    seen: set[str] = set()
    for c in out:
        if c.short in seen:
            raise top.error("communities", f"the short name {c.short!r} is used twice")
        seen.add(c.short)
    return out


def _community(t: Table, short: str | None, number: int | None) -> CommunitySpec:
    short = short if short is not None else t.get_str("short")
    _checked(t, "short", check_slug, short, "short name")
    name = t.get_str("name", short)
    name = f"{name} {number}" if number is not None else name
    _checked(t, "name", check_text, name, "name", 100)
    kind = t.get_str("kind", "lets", choices=KINDS)
    unit = t.get_str("unit", "HOUR" if kind == "timebank" else "UNIT")
    _checked(t, "unit", check_unit, unit)
    scale = t.get_int("scale", 2, lo=0, hi=6)
    floor = t.get_amount("floor", scale, unit, -50)
    ceiling = None if t.raw("ceiling", 100) == "none" else t.get_amount("ceiling", scale, unit, 100)
    if floor > 0 or (ceiling is not None and ceiling < 0):
        raise t.error("floor", "a floor is zero or below and a ceiling zero or above")
    issuer = None
    if t.has("issuer"):
        it = t.get_table("issuer")
        issuer = IssuerSpec(
            it.get_str("handle", "issuer"),
            it.get_amount("benefit", scale, unit, positive=True),
            it.get_float("recipients", 0.3, above=0, hi=1),
            it.get_int("period_days", 30, lo=1),
            it.get_amount("floor", scale, unit, -1_000_000),
        )
        _checked(it, "handle", check_slug, issuer.handle, "handle")
        it.done()
        if kind != "municipal":
            raise t.error("issuer", "only a municipal currency has an issuer paying benefits")
    spec = CommunitySpec(
        name=name,
        short=short,
        kind=kind,  # type: ignore[arg-type]
        country=t.get_str("country", ""),
        unit=unit,
        scale=scale,
        members=t.get_int("members", 100, lo=2, hi=100_000),
        floor=floor,
        ceiling=ceiling,
        trade_rate=t.get_float("trade_rate", 0.2, lo=0, hi=1000),
        amount_median=t.get_amount("amount_median", scale, unit, 1, positive=True),
        amount_sigma=t.get_float("amount_sigma", 0.8, lo=0, hi=3),
        clearing_policy=t.get_str("clearing_policy", "accept", ("accept", "refuse")),  # type: ignore[arg-type]
        issuer=issuer,
    )
    t.done()
    return spec


def _checked(t: Table, key: str, check: Any, *args: Any) -> None:
    try:
        check(*args)
    except LetsError as err:
        raise t.error(key, str(err)) from None


def _rate(t: Table, key: str) -> tuple[int, int]:
    text = t.get_str(key, "1/1")
    num, sep, den = text.partition("/")
    if not (sep and num.isdigit() and den.isdigit() and int(num) > 0 and int(den) > 0):
        raise t.error(key, f"must be NUM/DEN with whole numbers above zero, got {text!r}")
    return int(num), int(den)


def _lines(top: Table, communities: list[CommunitySpec], shorts: list[str]) -> list[LineSpec]:
    by_short = {c.short: c for c in communities}
    out: list[LineSpec] = []
    pairs: set[frozenset[str]] = set()

    def add(t: Table, key: str, a: str, b: str, limit_t: Table) -> None:
        for s in (a, b):
            if s not in by_short:
                raise t.error(key, f"names {s!r}, which is not a community of this scenario")
        if a == b or frozenset((a, b)) in pairs:
            raise t.error(key, f"a line between {a} and {b} is listed twice (or with itself)")
        pairs.add(frozenset((a, b)))
        ca = by_short[a]
        num, den = _rate(limit_t, "rate")
        if limit_t.has("limit") or not (limit_t.has("limit_out") or limit_t.has("limit_in")):
            out_ = in_ = limit_t.get_amount("limit", ca.scale, ca.unit)
        else:
            out_ = limit_t.get_amount("limit_out", ca.scale, ca.unit)
            in_ = limit_t.get_amount("limit_in", ca.scale, ca.unit)
        if out_ < 0 or in_ < 0:
            raise limit_t.error("limit", f"line limits are zero or more {ca.unit}")
        out.append(LineSpec(a, b, out_, in_, num, den))

    for t in top.get_tables("lines"):
        ends = t.get_strs("between")
        if len(ends) != 2:
            raise t.error("between", "must name exactly two communities")
        add(t, "between", ends[0], ends[1], t)
        t.done()
    topo = top.get_table("topology")
    kind = topo.get_str("kind", "none", ("none", "ring", "star", "small-world"))
    if kind != "none":
        generated = _generated(topo, kind, shorts)
        for a, b in generated:
            if frozenset((a, b)) in pairs:
                continue  # listed lines win over generated ones
            if by_short[a].unit != by_short[b].unit:
                raise topo.error(
                    "kind",
                    f"would join {a} ({by_short[a].unit}) and {b} ({by_short[b].unit}) "
                    "at par: list lines between units in [[lines]] with their rate",
                )
            add(topo, "kind", a, b, Table({"limit": topo.raw("limit")}, topo.path, topo.file))
    topo.done()
    return out


def _generated(topo: Table, kind: str, shorts: list[str]) -> list[tuple[str, str]]:
    topo.raw("limit")
    if kind == "ring":
        return topology.ring(shorts)
    if kind == "star":
        hub = topo.get_str("hub")
        if hub not in shorts:
            raise topo.error("hub", f"{hub!r} is not a community of this scenario")
        return topology.star(shorts, hub)
    k = topo.get_int("k", 4, lo=2)
    if k % 2 or k >= len(shorts):
        raise topo.error("k", f"must be even and below the number of communities, got {k}")
    p = topo.get_float("p", 0.1, lo=0, hi=1)
    rng = random.Random(topo.get_int("seed", 1, lo=0))
    return topology.small_world(shorts, k, p, rng)


def _trade(t: Table, days: float) -> TradeSpec:
    spec = TradeSpec(
        cross_share=t.get_float("cross_share", 0.05, lo=0, hi=1),
        partner_share=t.get_float("partner_share", 0.8, lo=0, hi=1),
        partners=t.get_str("partners", "modular", ("modular", "uniform")),  # type: ignore[arg-type]
        group_size=t.get_int("group_size", 20, lo=2),
        in_group_share=t.get_float("in_group_share", 0.8, lo=0, hi=1),
        activity_alpha=t.get_float("activity_alpha", 1.5, above=1, hi=10),
        amount=t.get_str("amount", "lognormal", ("lognormal", "fixed")),  # type: ignore[arg-type]
        sequential=t.get_bool("sequential", False),
        stop_day=t.get_float("stop_day", days, lo=0),
    )
    t.done()
    return spec


def _clearing(t: Table, shorts: list[str]) -> ClearingSpec:
    coordinators = t.get_strs("coordinators", shorts[:1])
    for s in coordinators:
        if s not in shorts:
            raise t.error("coordinators", f"{s!r} is not a community of this scenario")
    spec = ClearingSpec(
        t.get_float("period_days", 0.0, lo=0),
        tuple(coordinators),
        t.get_float("timeout_s", 10.0, above=0, hi=600),
        t.get_bool("final_round", False),
    )
    t.done()
    return spec


def _faults(top: Table, shorts: list[str], days: float) -> list[Fault]:
    out: list[Fault] = []
    for t in top.get_tables("faults"):
        kind = t.get_str("kind", choices=("partition", "crash"))
        fault: Fault
        if kind == "partition":
            ends = t.get_strs("between")
            if len(ends) != 2 or ends[0] == ends[1] or not set(ends) <= set(shorts):
                raise t.error("between", f"must name two communities of this scenario, got {ends}")
            start = t.get_float("from_day", lo=0, hi=days)
            fault = PartitionFault(ends[0], ends[1], start, t.get_float("to_day", lo=start))
        else:
            who = t.get_str("community")
            if who not in shorts:
                raise t.error("community", f"{who!r} is not a community of this scenario")
            fault = CrashFault(
                who, t.get_float("day", lo=0, hi=days), t.get_float("down_hours", lo=0, hi=24 * 365)
            )
        t.done()
        out.append(fault)
    return out
