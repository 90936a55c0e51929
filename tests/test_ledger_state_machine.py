"""A hypothesis state machine throws random valid and invalid changes at a ledger.

After every step: balances sum to zero, every balance lies within its limits, replaying the
log from genesis gives the same balances and head, and a refused change changed nothing.
"""

import copy

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from letsnode.core.audit import audit_records
from letsnode.core.errors import LetsError
from letsnode.core.wire.entries import Limits, Order, Payment, Status
from tests.ledger_helpers import CID, NODE, member_key, new_ledger

HANDLES = ["ana", "ben", "cai", "dua"]
handles = st.sampled_from([*HANDLES, "ghost"])
amounts = st.integers(1, 3000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.records = []
        self.ledger, self.clock = new_ledger(HANDLES, -2000, 3000, self.records)
        self.refusals = 0

    def snapshot(self):
        return copy.deepcopy(self.ledger.accounts), self.ledger.next_seq, self.ledger.head

    def submit(self, body):
        before = self.snapshot()
        try:
            entry = self.ledger.append(NODE, self.clock(), body)
        except LetsError:
            self.refusals += 1
            assert self.snapshot() == before, "a refused change changed the ledger"
            return
        self.records.append((entry.data, entry.signature))

    @rule(payer=handles, payee=handles, amount=amounts, nonce_shift=st.integers(-2, 2))
    def pay(self, payer, payee, amount, nonce_shift):
        if payer == payee:
            return
        last = self.ledger.accounts[payer].last_nonce if payer in self.ledger.accounts else 0
        nonce = max(1, last + 1 + nonce_shift)
        order = Order(CID, payer, payee, amount, nonce, "")
        self.submit(Payment(order.sign(member_key(payer))))

    @rule(payer=handles, payee=handles, amount=amounts)
    def pay_with_wrong_key(self, payer, payee, amount):
        if payer == payee:
            return
        order = Order(CID, payer, payee, amount, 10**9, "")
        self.submit(Payment(order.sign(member_key(payee))))

    @rule(handle=handles, floor=st.integers(-4000, 0), ceiling=st.none() | st.integers(0, 4000))
    def change_limits(self, handle, floor, ceiling):
        self.submit(Limits(handle, floor, ceiling))

    @rule(handle=handles, status=st.sampled_from(["active", "frozen", "closed"]))
    def change_status(self, handle, status):
        self.submit(Status(handle, status))

    @invariant()
    def zero_sum(self):
        assert self.ledger.total() == 0

    @invariant()
    def within_limits(self):
        for a in self.ledger.accounts.values():
            assert a.floor <= a.balance
            assert a.ceiling is None or a.balance <= a.ceiling

    @invariant()
    def replay_gives_the_same_state(self):
        result = audit_records(self.records)
        assert result.ok, result.fault
        assert result.ledger.head == self.ledger.head
        assert result.ledger.accounts == self.ledger.accounts


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestLedgerStateMachine = LedgerMachine.TestCase
