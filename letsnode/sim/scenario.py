"""What a scenario is, once read and checked (``parse.py`` reads the TOML).

Every amount here is in integer minor units of the community it belongs to (a line's
limits: of its first community, ``a``); times are in simulated days or seconds as named.
``simulations/README.md`` documents each key of the file these come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["lets", "timebank", "municipal"]
Partners = Literal["modular", "uniform"]
AmountModel = Literal["lognormal", "fixed"]
ValidationKind = Literal["credit-line", "boltzmann-gibbs", "clearing"]
KINDS: tuple[Kind, ...] = ("lets", "timebank", "municipal")
VALIDATION_KINDS: tuple[ValidationKind, ...] = ("credit-line", "boltzmann-gibbs", "clearing")

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class IssuerSpec:
    """A municipality's account that pays benefits: ``benefit`` to each recipient every
    ``period_days`` days, from an account with floor ``floor`` and no ceiling."""

    handle: str
    benefit: int
    recipients: float  # share of the members, chosen once at the start
    period_days: int
    floor: int


@dataclass(frozen=True, slots=True)
class CommunitySpec:
    name: str
    short: str
    kind: Kind
    country: str
    unit: str
    scale: int
    members: int
    floor: int
    ceiling: int | None
    trade_rate: float  # payments a member starts, per day (members at their median activity
    # start fewer: the rate is the community's mean)
    amount_median: int
    amount_sigma: float
    clearing_policy: Literal["accept", "refuse"]
    issuer: IssuerSpec | None = None

    @property
    def one_unit(self) -> int:
        return int(10**self.scale)


@dataclass(frozen=True, slots=True)
class LineSpec:
    """A credit line between communities ``a`` and ``b`` (short names). ``limit_out`` is how
    much ``a`` may come to owe ``b``, ``limit_in`` how much ``b`` may owe ``a``, both in
    ``a``'s minor units; one of ``a``'s units is worth ``rate_num/rate_den`` of ``b``'s."""

    a: str
    b: str
    limit_out: int
    limit_in: int
    rate_num: int = 1
    rate_den: int = 1


@dataclass(frozen=True, slots=True)
class TradeSpec:
    cross_share: float  # share of members' payments to members of other communities
    partner_share: float  # of those, the share to a community with a direct line
    partners: Partners  # "modular": groups and heavy-tailed activity; "uniform"
    group_size: int
    in_group_share: float
    activity_alpha: float  # Pareto exponent of members' activity (smaller: heavier tail)
    amount: AmountModel
    sequential: bool  # one payment at a time in the whole network, each awaited
    stop_day: float  # no new trade from this day on


@dataclass(frozen=True, slots=True)
class ClearingSpec:
    period_days: float  # 0: no periodic rounds
    coordinators: tuple[str, ...]
    timeout_s: float
    final_round: bool  # one round at the end, after trade stopped and payments settled


@dataclass(frozen=True, slots=True)
class ChurnSpec:
    leave_per_year: float  # leaving rate per active member and year (0.1: a tenth leave in a
    # year; their accounts are frozen, balances stay)
    join_per_year: float  # new members per year, as a share of the starting members


@dataclass(frozen=True, slots=True)
class PartitionFault:
    a: str
    b: str
    from_day: float
    to_day: float


@dataclass(frozen=True, slots=True)
class CrashFault:
    community: str
    day: float
    down_hours: float


Fault = PartitionFault | CrashFault


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    latency_ms: float  # one way, every message
    drop_rate: float


@dataclass(frozen=True, slots=True)
class TimingSpec:
    """The nodes' own timers, as ``letsnode run`` takes them (``FederationConfig``)."""

    advert_interval_s: float
    advert_settle_s: float
    tick_s: float
    idle_tick_s: float


@dataclass(frozen=True, slots=True)
class ValidationSpec:
    kind: ValidationKind
    burn_in_share: float  # payments left out at the start, before the chain forgets it


@dataclass(frozen=True, slots=True)
class Libp2pSpec:
    speed: float  # simulated seconds per real second, for trade and days (node timers: real)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    source: str  # the file's name (not its path: the same on every machine)
    days: float
    seed: int
    communities: tuple[CommunitySpec, ...]
    lines: tuple[LineSpec, ...]
    trade: TradeSpec
    clearing: ClearingSpec
    churn: ChurnSpec
    faults: tuple[Fault, ...]
    network: NetworkSpec
    timing: TimingSpec
    libp2p: Libp2pSpec
    validation: ValidationSpec | None = None
    description: str = ""
    overrides: tuple[str, ...] = field(default=())  # KEY=VALUE applied over the file

    def community(self, short: str) -> CommunitySpec:
        for c in self.communities:
            if c.short == short:
                return c
        raise KeyError(short)

    @property
    def seconds(self) -> float:
        return self.days * DAY_S
