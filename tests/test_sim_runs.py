"""Whole runs: repeatable to the byte, with every fault at once; every community's log
passes letsnode's own audit afterwards; the figures add up."""

import json

from letsnode.core.audit import audit_records
from letsnode.sim.parse import load_scenario
from letsnode.sim.runner import RunOptions, run_scenario
from letsnode.sim.summary import build_summary
from letsnode.store.db import connect
from letsnode.store.ledger_store import LedgerStore
from tests.sim_helpers import letsnode

BUSY = """
name = "Everything at once"
days = 2
seed = 9

[defaults]
members = 30
trade_rate = 2
floor = -20
ceiling = 40
amount_median = 4

[[communities]]
short = "a"
[[communities]]
short = "b"
[[communities]]
short = "c"
kind = "municipal"
[communities.issuer]
benefit = 6
recipients = 0.5
period_days = 1
[[communities]]
short = "d"
kind = "timebank"
unit = "HOUR"

[topology]
kind = "ring"
limit = 150

[[lines]]
between = ["a", "c"]
limit = 100

[trade]
cross_share = 0.3

[clearing]
period_days = 0.5
coordinators = ["a", "c"]

[churn]
leave_per_year = 20
join_per_year = 20

[[faults]]
kind = "partition"
between = ["a", "b"]
from_day = 0.4
to_day = 0.9

[[faults]]
kind = "crash"
community = "c"
day = 1.2
down_hours = 3

[network]
latency_ms = 30
drop_rate = 0.02
"""


def write_busy(tmp_path):
    path = tmp_path / "busy.toml"
    path.write_text(BUSY.replace('unit = "HOUR"', 'unit = "UNIT"'))
    return path


def test_the_same_scenario_and_seed_give_the_same_files_in_another_process(tmp_path):
    path = write_busy(tmp_path)
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"out{hash_seed}"
        done = letsnode(
            "simulate", str(path), "--out", str(out),
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in ("summary.json", "metrics.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    summary = json.loads((outs[0] / "summary.json").read_text())
    t = summary["totals"]
    assert t["payments"] > 300 and t["cross_payments"] > 50 and t["failures"]
    assert summary["communities"][2]["restarts"] == 1 and summary["communities"][2]["benefits"] > 0
    assert sum(c["joined"] for c in summary["communities"]) > 0
    assert sum(c["left"] for c in summary["communities"]) > 0
    report = (outs[0] / "report.html").read_text()
    assert "<img" in report and "http" not in report.replace("http-equiv", "")  # offline
    another = tmp_path / "seed3"
    assert letsnode("simulate", str(path), "--out", str(another), "--seed", "3").returncode == 0
    assert (another / "metrics.csv").read_bytes() != (outs[0] / "metrics.csv").read_bytes()


def test_every_log_audits_and_the_figures_add_up(tmp_path):
    scenario = load_scenario(write_busy(tmp_path))
    folder = tmp_path / "data"
    data = run_scenario(scenario, RunOptions(folder=folder, record=True))
    for c in scenario.communities:
        db = connect(folder / c.short / "ledger.db")
        replay = audit_records(LedgerStore(db).records())
        assert replay.ok, (c.short, replay.fault)
        assert replay.ledger.total() == 0 and not replay.ledger.holds
        db.conn.close()
    summary = build_summary(data)
    per_day = {}
    for r in data.rows:
        per_day.setdefault(r[1], []).append(r)
    assert all(len(v) == 2 for v in per_day.values())  # one row per day and community
    records = data.payments.records
    trade = [r for r in records if r.kind != "benefit"]
    assert summary["totals"]["payments"] == len(trade)
    assert summary["totals"]["succeeded"] == sum(r.outcome == "ok" for r in trade)
    failures = {}
    for r in trade:
        if r.outcome != "ok":
            failures[r.outcome] = failures.get(r.outcome, 0) + 1
    assert summary["totals"]["failures"] == dict(sorted(failures.items()))
    assert "node_down" in failures  # payments from c's members while its node was down
    net = sum(c["net_position_end_minor"] for c in summary["communities"])
    assert net == 0  # what one community owes on its lines, another is owed (all at par)
