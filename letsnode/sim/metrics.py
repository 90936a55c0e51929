"""What a run measures: counters per community and day, and a snapshot of each ledger at
the end of every simulated day.

Counters (``Day``) are filled as payments end; ``snapshot`` reads a community's ledger
(members' balances against their limits, mirror accounts of its lines) and its traffic.
Every figure is an integer (minor units, counts) or a float computed exactly from
integers (``stats``); ``rows`` gives ``metrics.csv``'s rows in a fixed order.

Definitions: a member is *at its floor* when it cannot pay one unit more (balance less
pending holds less floor below one unit), *at its ceiling* likewise; the Gini coefficient
is of active members' balances above their floor; a line's *utilisation* is its debt over
the limit in the direction of the debt; a community's *net position* is the sum of its
mirror accounts (positive: it owes the network); *line debt* is the sum of their absolute
values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.clearing import Proposal
from letsnode.sim import stats
from letsnode.sim.counting import Traffic
from letsnode.sim.scenario import CommunitySpec
from letsnode.store.clearing_store import RoundRow

# metrics.csv: failures by these reasons get a column each; the rest add up in "other".
REASONS = ("below_floor", "above_ceiling", "no_route", "expired", "account_frozen", "node_down")
# Daily counts that add up over days to a run's total (summary.json sums ADDITIVE).
_TRADE = (
    "local_payments",
    "local_succeeded",
    "cross_payments",
    "cross_succeeded",
    "volume_local",
    "volume_cross_out",
    "volume_cross_in",
    "benefits",
    "benefits_volume",
    "benefits_refused",
    "joined",
    "left",
)
_TRAFFIC = ("cleared", "messages_sent", "bytes_sent")
ADDITIVE = ("payments", "succeeded", *_TRADE, *_TRAFFIC)
COLUMNS = (
    "day",
    "community",
    "members",
    "payments",
    "succeeded",
    *(f"failed_{r}" for r in REASONS),
    "failed_other",
    *_TRADE,
    "latency_mean_s",
    "gini",
    "at_floor_share",
    "at_ceiling_share",
    "net_position",
    "line_debt",
    "line_utilisation",
    *_TRAFFIC,
    "node_up",
)


@dataclass(slots=True)
class Day:
    """What happened in one community on one day (payments counted where they start)."""

    payments: int = 0
    succeeded: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    local_payments: int = 0
    local_succeeded: int = 0
    cross_payments: int = 0
    cross_succeeded: int = 0
    volume_local: int = 0
    volume_cross_out: int = 0
    volume_cross_in: int = 0
    benefits: int = 0
    benefits_volume: int = 0
    benefits_refused: int = 0
    joined: int = 0
    left: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Snapshot:
    members: int
    gini: float
    at_floor: float
    at_ceiling: float
    net_position: int
    line_debt: int
    line_utilisation: float
    cleared: int
    messages: int
    bytes: int
    up: bool


def snapshot(
    spec: CommunitySpec,
    ledger: Ledger,
    active: list[str],
    traffic: Traffic,
    sent_before: tuple[int, int],
    cleared: int,
    up: bool,
) -> Snapshot:
    unit = spec.one_unit
    above, at_floor, at_ceiling = [], 0, 0
    for handle in active:
        a = ledger.accounts[handle]
        above.append(a.balance - a.floor)
        if a.balance - a.held_out - a.floor < unit:
            at_floor += 1
        if a.ceiling is not None and a.ceiling - a.balance - a.held_in < unit:
            at_ceiling += 1
    net = debt = 0
    uses = []
    for line in ledger.lines.values():
        a = ledger.accounts[line.handle]
        net += a.balance
        debt += abs(a.balance)
        limit = (a.ceiling or 0) if a.balance > 0 else -a.floor
        uses.append(abs(a.balance) / limit if limit else 0.0)
    n = len(active)
    return Snapshot(
        members=n,
        gini=stats.gini(above),
        at_floor=at_floor / n if n else 0.0,
        at_ceiling=at_ceiling / n if n else 0.0,
        net_position=net,
        line_debt=debt,
        line_utilisation=stats.mean(uses),
        cleared=cleared,
        messages=traffic.messages - sent_before[0],
        bytes=traffic.bytes - sent_before[1],
        up=up,
    )


def cleared_here(rows: list[RoundRow], me: bytes, start_ms: int, end_ms: int) -> int:
    """Our own line debt cleared by committed rounds decided in [start_ms, end_ms)."""
    total = 0
    for row in rows:
        decided = row.decided_ms
        if row.state != "committed" or row.proposal is None or decided is None:
            continue
        if start_ms <= decided < end_ms:
            total += sum(x.amount for x in Proposal.decode(row.proposal).items if x.debtor == me)
    return total


def row(day: int, short: str, d: Day, s: Snapshot) -> list[Any]:
    """One line of metrics.csv, in ``COLUMNS`` order."""
    other = sum(n for reason, n in d.failures.items() if reason not in REASONS)
    return [
        day,
        short,
        s.members,
        d.payments,
        d.succeeded,
        *(d.failures.get(r, 0) for r in REASONS),
        other,
        d.local_payments,
        d.local_succeeded,
        d.cross_payments,
        d.cross_succeeded,
        d.volume_local,
        d.volume_cross_out,
        d.volume_cross_in,
        d.benefits,
        d.benefits_volume,
        d.benefits_refused,
        d.joined,
        d.left,
        stats.r6(stats.mean(d.latencies)),
        stats.r6(s.gini),
        stats.r6(s.at_floor),
        stats.r6(s.at_ceiling),
        s.net_position,
        s.line_debt,
        stats.r6(s.line_utilisation),
        s.cleared,
        s.messages,
        s.bytes,
        int(s.up),
    ]
