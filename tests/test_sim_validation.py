"""The validation scenarios of simulations/validation/, at small sizes: the simulated
federation against the published results (and against ``letsnode clearing solve``).

Fixed seeds make each test deterministic; the tolerances are the validations' own (see
``letsnode/sim/validation.py``: batch-means standard errors for the credit lines, a
chi-square p-value above 0.001 for Boltzmann–Gibbs, exact for clearing). Signatures are
off (``test_sim_signatures.py`` shows that outcomes do not change)."""

import json

from click.testing import CliRunner

from letsnode.cli.main import main
from letsnode.sim.run_files import simulate_to
from tests.sim_helpers import scenario


def checks_of(out):
    summary = json.loads((out / "summary.json").read_text())
    return summary, summary["validation"]


def test_credit_lines_succeed_as_2c_over_2c_plus_1_and_paths_as_the_product(tmp_path):
    s = scenario("validation/credit-line.toml", days=100)  # about 2,400 payments
    simulate_to(s, tmp_path, signatures=False, report=False, progress=False)
    summary, v = checks_of(tmp_path)
    assert v["passed"], v
    by_name = {c["name"]: c for c in v["checks"]}
    assert by_name["success over 1 line (c = 2)"]["expected"] == 0.8
    assert by_name["success over 1 line (c = 4)"]["expected"] == 0.888889
    assert by_name["success over 2 lines (c = 2, 4)"]["expected"] == 0.711111
    assert all(c["samples"] > 300 for c in v["checks"])
    # Refused payments failed for want of room on a line, and for nothing else.
    assert set(summary["totals"]["failures"]) <= {"no_route"}


def test_a_closed_community_reaches_the_boltzmann_gibbs_law_with_temperature_l(tmp_path):
    s = scenario(
        "validation/boltzmann-gibbs.toml", "communities.0.members=300", "communities.0.floor=-2",
        days=2,
    )  # 12,000 payments: 80 per member  # fmt: skip
    simulate_to(s, tmp_path, signatures=False, report=False, progress=False)
    summary, v = checks_of(tmp_path)
    assert v["passed"], v
    chi2, mean = v["checks"]
    assert 0 < chi2["measured"] < chi2["expected"] and mean["expected"] == mean["measured"] == 2.0
    assert summary["totals"]["failures"].keys() <= {"below_floor"}


def test_a_round_removes_what_letsnode_clearing_solve_finds_on_the_same_debts(tmp_path):
    s = scenario("validation/clearing.toml", days=4)
    simulate_to(s, tmp_path, signatures=False, report=False, progress=False)
    summary, v = checks_of(tmp_path)
    assert v["passed"], v
    final = summary["clearing"]["final_round"]
    assert final["state"] == "committed" and final["removed_minor"] > 0
    solved = CliRunner().invoke(
        main, ["clearing", "solve", str(tmp_path / "obligations.csv"), "--json"]
    )
    assert solved.exit_code == 0, solved.output
    assert json.loads(solved.output)["cleared_minor"] == final["removed_minor"]
