"""``--no-signatures`` (``crypto.unsigned()``) changes no outcome: a scenario with lines,
clearing, churn, a partition, a crash and lost messages gives the same payments, the same
refusals and the same figures, to the last byte counted, with and without signatures."""

from letsnode.sim.parse import load_scenario
from letsnode.sim.runner import RunOptions, run_scenario
from tests.test_sim_runs import write_busy


def test_a_scenario_gives_identical_payment_outcomes_with_and_without_signatures(tmp_path):
    scenario = load_scenario(write_busy(tmp_path))
    signed = run_scenario(scenario, RunOptions(record=True))
    unsigned = run_scenario(scenario, RunOptions(record=True, signatures=False))
    assert signed.payments.records and signed.payments.records == unsigned.payments.records
    assert signed.rows == unsigned.rows
    assert signed.payments.failures == unsigned.payments.failures
    assert signed.payments.latencies == unsigned.payments.latencies
