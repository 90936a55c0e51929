"""The transfer machine (letsnode/core/transfers), driven directly: chains of two to four
communities whose machines talk over a fake network (tests/transfer_sim.py), with every
body they log checked by the real ledger rules.

The stateful test lets Hypothesis choose the schedule: which payment starts, which write
lands, which request or decision is delivered, duplicated, answered or lost, when a link
goes down, when a node crashes (and restarts from its log), when the clock moves. After
every step: the upstream decides each leg and the downstream follows; no leg outlives its
expiry by more than the machine's own bound; nobody is credited more than was paid. At
the end the network heals, and every leg ends, every fulfilled payment is settled all the
way, and the two mirrors of every line agree.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from letsnode.core.errors import LocalProtocolError
from letsnode.core.transfers import TABLE, Flow, TransferMachine
from letsnode.core.transfers import effects as fx
from letsnode.core.transfers import events as ev
from letsnode.core.transfers.driving import ANSWER_GRACE_S
from letsnode.core.transfers.facts import View
from letsnode.core.transfers.flow import Step
from letsnode.core.wire.lines import TRANSIT
from tests.transfer_sim import TICK_MS, TIMING, SimNode, World

# A leg a node decides is released within this long of its expiry: the last request of a
# driven leg may run ANSWER_GRACE_S past the expiry and be followed by one back-off; a leg
# nobody drives waits for the next sweep. (Plus the clock's rounding to whole ms.)
EXPIRY_BOUND_MS = max(TICK_MS, round((ANSWER_GRACE_S + TIMING.retry_s) * 1000)) + 2

# Refusals a node's own concurrent tasks can cause: the leg ended, or was revealed, first.
RACES = ("unknown_transfer", "already_revealed")

indices = st.integers(0, 63)


class TransferChain(RuleBasedStateMachine):
    world: World

    @initialize(
        n=st.integers(2, 4),
        limits=st.lists(st.integers(100, 3000), min_size=3, max_size=3),
        ceiling=st.sampled_from([100_000, 300]),  # a payee may refuse above its ceiling
    )
    def chain(self, n: int, limits: list[int], ceiling: int) -> None:
        self.world = World(n, limits, ceiling)

    # -- what happens --------------------------------------------------------------------

    @precondition(lambda self: len(self.world.orders) < 6)
    @rule(payer=indices, payee=indices, amount=st.integers(1, 250))
    def pay(self, payer: int, payee: int, amount: int) -> None:
        n = len(self.world.nodes)
        i, j = payer % n, payee % n
        if i != j:
            self.world.pay(i, j, amount)

    @precondition(lambda self: self.world.writes)
    @rule(k=indices)
    def write(self, k: int) -> None:
        self.world.write(k)

    @precondition(lambda self: self.world.writes)
    @rule(k=indices)
    def crash_after_write(self, k: int) -> None:
        self.world.write(k, then_crash=True)

    @precondition(lambda self: self.world.requests)
    @rule(k=indices)
    def deliver(self, k: int) -> None:
        self.world.deliver(k)

    @precondition(lambda self: self.world.requests)
    @rule(k=indices)
    def duplicate(self, k: int) -> None:
        self.world.deliver(k, copy=True)

    @precondition(lambda self: any(r.reply is not None for r in self.world.requests))
    @rule(k=indices)
    def reply(self, k: int) -> None:
        self.world.reply(k)

    @precondition(lambda self: self.world.requests)
    @rule(k=indices)
    def lose(self, k: int) -> None:
        self.world.drop(k)

    @precondition(lambda self: self.world.messages)
    @rule(k=indices, copy=st.booleans(), lose=st.booleans())
    def tell(self, k: int, copy: bool, lose: bool) -> None:
        self.world.tell(k, copy=copy, lose=lose)

    @rule()
    def catch_up(self) -> None:
        self.world.catch_up()

    @rule(ms=st.sampled_from([1, 40, 250, 500, 1000, 2500, 6000]))
    def advance(self, ms: int) -> None:
        self.world.advance(ms)

    @precondition(lambda self: any(n.ledger.holds for n in self.world.nodes))
    @rule(k=indices, offset=st.sampled_from([-1, 0, 1, 2, 250, 499, 500, 501, 751]))
    def advance_to_an_expiry(self, k: int, offset: int) -> None:
        """Move the clock to just around a pending leg's expiry (where the rules turn)."""
        expiries = sorted({h.expiry_ms for n in self.world.nodes for h in n.ledger.holds.values()})
        target = expiries[k % len(expiries)] + offset
        if target > self.world.now:
            self.world.advance(target - self.world.now)

    @rule(i=indices)
    def crash(self, i: int) -> None:
        self.world.crash(i % len(self.world.nodes))

    @rule(i=indices, down=st.booleans())
    def link(self, i: int, down: bool) -> None:
        n = len(self.world.nodes)
        pair = frozenset((i % (n - 1), i % (n - 1) + 1))
        if down:
            self.world.down.add(pair)
        else:
            self.world.down.discard(pair)

    # -- what must hold after every step -----------------------------------------------------

    @invariant()
    def the_upstream_decides_and_the_downstream_follows(self) -> None:
        for up in self.world.nodes:
            for (tid, role), row in up.rows.items():
                if role != "out":
                    continue
                assert tid in up.outbox, "a leg held before its prepare was kept"
                down = self.world.node_of(up.outbox[tid].peer)
                below = down.row(tid, "in")
                if below is not None and below.state == "settled":
                    assert row.state == "settled", "settled below what the upstream did not"
                if row.state == "settled":
                    assert below is not None and (below.revealed or below.state == "settled"), (
                        "fulfilled before the downstream logged its reveal"
                    )
        for down in self.world.nodes:
            for tid, role in down.rows:
                if role == "in":
                    ups = [u for u in self.world.nodes if tid in u.outbox]
                    assert any(u.outbox[tid].peer == down.id and u.row(tid, "out") for u in ups), (
                        "a downstream holds a leg its upstream has not logged"
                    )
            ends = [(tid, role) for tid, role, _ in down.ended]
            assert len(ends) == len(set(ends)), "a leg ended twice"

    @invariant()
    def the_machine_logs_only_what_the_rules_allow(self) -> None:
        # A hold may be refused (limits, a replayed order); a settle, reveal or release only
        # when another task of the node ended or revealed the leg a moment before.
        for kind, code, _ in self.world.refused:
            assert kind == "Hold" or code in RACES, (kind, code)

    @invariant()
    def a_forwarder_loses_only_what_its_upstream_let_expire(self) -> None:
        for node in self.world.nodes:
            for (tid, role), row in node.rows.items():
                below = node.row(tid, "out") if role == "in" else None
                if below is not None and below.state == "settled":
                    assert row.state in ("pending", "settled", "expired"), (node.name, row)

    @invariant()
    def no_leg_outlives_its_expiry(self) -> None:
        for node in self.world.nodes:
            for hold in node.ledger.holds.values():
                if hold.role == "out" or not hold.revealed:
                    late = self.world.now - hold.expiry_ms
                    assert late <= EXPIRY_BOUND_MS, (node.name, hold, late)

    @invariant()
    def nobody_is_credited_more_than_was_paid(self) -> None:
        nodes = self.world.nodes
        for node in nodes:
            if TRANSIT in node.ledger.accounts:
                assert node.ledger.accounts[TRANSIT].balance <= 0, "a forwarder gained"
        for x, y in itertools.pairwise(nodes):
            assert _mirror(x, y) + _mirror(y, x) >= 0, "a line credits more than it debits"
        for up in nodes:  # every line is at par: a leg credits what its upstream debited
            for (tid, role), row in up.rows.items():
                if role == "out" and row.state == "settled":
                    down = self.world.node_of(up.outbox[tid].peer)
                    assert down.amounts[(tid, "in")] <= up.amounts[(tid, "out")]
        for tid, (_, j, amount) in self.world.orders.items():
            row = nodes[j].row(tid, "in")
            if row is not None and row.state == "settled":
                assert nodes[j].amounts[(tid, "in")] <= amount

    # -- and at the end, once the network heals ------------------------------------------------

    def teardown(self) -> None:
        world = getattr(self, "world", None)
        if world is None:
            return
        world.down.clear()
        for _ in range(400):
            if world.quiet() and not any(n.ledger.holds for n in world.nodes):
                break
            world.catch_up()
            world.advance(TICK_MS)
        stuck = {n.name: list(n.ledger.holds) for n in world.nodes if n.ledger.holds}
        assert not stuck, f"legs still pending after the network healed: {stuck}"
        nodes = world.nodes
        for x, y in itertools.pairwise(nodes):
            assert _mirror(x, y) == -_mirror(y, x), "the two mirrors of a line disagree"
        for node in nodes:
            assert node.ledger.total() == 0
        for tid, (i, j, _) in world.orders.items():
            paid = nodes[i].row(tid, "out")
            outcome = world.outcomes.get(tid)
            if paid is not None and paid.state == "settled":
                step = 1 if j > i else -1
                for k in range(i, j, step):  # every leg of a fulfilled payment settles
                    assert nodes[k].row(tid, "out").state == "settled"  # type: ignore[union-attr]
                    assert nodes[k + step].row(tid, "in").state == "settled"  # type: ignore[union-attr]
            if isinstance(outcome, fx.Concluded):
                assert paid is not None
                assert (outcome.state == "fulfilled") == (paid.state == "settled"), outcome


def _mirror(node: SimNode, partner: SimNode) -> int:
    return node.ledger.accounts[f"line-{partner.name}"].balance


TransferChain.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
test_transfer_chains = TransferChain.TestCase


# -- the table itself --------------------------------------------------------------------------


def test_every_step_but_start_and_done_is_reached_and_left():
    reached = {step for row in TABLE.values() for step in row.next}
    left = {step for step, _ in TABLE}
    steps = set(Step.__args__)  # type: ignore[attr-defined]
    assert reached | {"start"} == steps
    assert left | {"done"} == steps


def test_an_event_out_of_turn_is_our_fault_not_the_peers():
    machine = TransferMachine(_key(), TIMING)
    with pytest.raises(LocalProtocolError, match="not expected in step start"):
        machine.handle(Flow(bytes(16)), ev.Logged(1), View())


def _key():
    from letsnode.core.crypto import SigningKey

    return SigningKey(bytes([9]) * 32)
