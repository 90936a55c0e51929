"""Fidelity: a small scenario on real libp2p hosts (127.0.0.1, real time) makes the same
payments with the same outcomes as on the memory network with its virtual clock, when
nothing times out (one payment at a time, so that timing cannot reorder them)."""

from letsnode.sim.runner import RunOptions, run_scenario
from tests.sim_helpers import scenario


def outcomes(data):
    return [
        (r.kind, r.payer_community, r.payer, r.payee_community, r.payee, r.amount, r.outcome)
        for r in data.payments.records
    ]


def test_a_small_scenario_has_the_same_outcomes_on_libp2p_as_in_memory():
    s = scenario("small.toml", "communities.*.floor=-6", days=0.4)  # ~32 payments, 4 s real
    memory = run_scenario(s, RunOptions(record=True))
    real = run_scenario(s, RunOptions(record=True, transport="libp2p"))
    assert outcomes(memory) == outcomes(real)
    kinds = {(kind, outcome == "ok") for kind, *_, outcome in outcomes(real)}
    assert {("cross", True), ("local", True), ("local", False)} <= kinds
    assert all(
        sim.traffic.requests > 0 and sim.traffic.gossip > 0 for sim in real.nodes
    )  # counted on libp2p too
