"""``letsnode sweep``: a grid of runs on Dask, each point the same as ``letsnode simulate``
on it alone."""

import pytest

from letsnode.sim.fields import ScenarioError
from letsnode.sim.parse import load_scenario
from letsnode.sim.run_files import simulate_to
from letsnode.sim.sweep import load_sweep, run_sweep
from tests.sim_helpers import SIMULATIONS

SWEEP = f"""
scenario = "{SIMULATIONS / "small.toml"}"
seeds = [1, 2]
[set]
days = 0.5
[grid]
"trade.cross_share" = [0.1, 0.5]
"""


def test_a_point_of_a_sweep_is_the_run_of_simulate_on_it_alone(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    plan = load_sweep(path)
    assert [(p.index, p.seed) for p in plan.points] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    lines = run_sweep(plan, tmp_path / "out", workers=1)
    assert "4 runs (2 points x 2 seeds) on 1 Dask workers" in lines[0]
    point = plan.points[3]
    assert plan.overrides(point) == ["days=0.5", "trade.cross_share=0.5"]
    alone = load_scenario(SIMULATIONS / "small.toml", overrides=plan.overrides(point), seed=2)
    simulate_to(alone, tmp_path / "alone", report=False, progress=False)
    swept = tmp_path / "out" / "points" / point.name
    for name in ("summary.json", "metrics.csv"):
        assert (swept / name).read_bytes() == (tmp_path / "alone" / name).read_bytes(), name
    table = (tmp_path / "out" / "sweep.csv").read_text().splitlines()
    assert table[0].startswith("point,seed,trade.cross_share,success_rate") and len(table) == 5
    assert "<img" in (tmp_path / "out" / "report.html").read_text()


def test_a_sweep_whose_point_would_be_a_bad_scenario_is_refused_before_it_runs(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.replace("[0.1, 0.5]", "[0.1, 5]"))
    with pytest.raises(ScenarioError, match=r"trade\.cross_share: must be at most 1, got 5"):
        load_sweep(path)
    path.write_text(SWEEP.replace('"trade.cross_share" = [0.1, 0.5]', ""))
    with pytest.raises(ScenarioError, match="grid: must give at least one key"):
        load_sweep(path)
