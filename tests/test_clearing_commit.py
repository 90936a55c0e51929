"""Clearing rounds decided by core/clearing/commit.py alone: three communities (pure
ledgers with lines a-b, b-c, c-a and debts around the cycle) run two-phase commit over a
fake network whose messages Hypothesis delivers, loses or holds back, while nodes crash,
operators refuse, members pay and the clock moves.

After every step: records move only along RECORD_TABLE (check_move raises otherwise);
no ledger applies a round its coordinator has not recorded committed; a participant keeps
its lines held while it is in doubt; a clear entry never moves a community's net position.
Once the network heals and everyone recovers, nobody is left in doubt, every committed
round is applied by each of its participants and no aborted round anywhere.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from letsnode.core.clearing import commit
from letsnode.core.clearing.rounds import propose
from letsnode.core.errors import LetsError
from letsnode.core.rules.clearing import check_current, ledger_statement, plan
from letsnode.core.wire.bodies import Clear
from letsnode.core.wire.clearing import Proposal, round_id, round_key, sign_vote, vote_is_valid
from tests.federation_helpers import KEYS, MEMBERS, Net, ring, transfer

NAMES = ("a", "b", "c")
ROUND_MS = 3000


@dataclass(frozen=True)
class Record:
    """A stored round (the desk's RoundRow, as far as the decisions read it)."""

    nonce: bytes
    round_id: bytes | None
    role: str
    coordinator: bytes
    state: str
    proposal: bytes | None
    votes: bytes | None
    reason: str
    created_ms: int


@dataclass
class Running:
    """A round its coordinator is running: the votes it has, the participants it waits on."""

    nonce: bytes
    proposal: Proposal
    data: bytes
    deadline: int
    votes: dict[bytes, bytes]
    refusals: list[str]


@dataclass
class Message:
    kind: str  # propose, vote, refused, commit, abort, outcome, answer
    sender: str
    receiver: str
    body: tuple


class Rounds(RuleBasedStateMachine):
    net: Net

    @initialize(debts=st.lists(st.integers(1, 400), min_size=3, max_size=3))
    def communities(self, debts: list[int]) -> None:
        self.net = ring(50_000)
        for (x, y), amount in zip(itertools.pairwise("abca"), debts, strict=True):
            transfer(self.net, x, y, amount * 10)
        self.records: dict[str, dict[bytes, Record]] = {x: {} for x in NAMES}
        self.reserved: dict[str, dict[bytes, set[str]]] = {x: {} for x in NAMES}
        self.running: dict[str, Running] = {}
        self.policy = dict.fromkeys(NAMES, "accept")
        self.messages: list[Message] = []
        self.nonces = itertools.count(1)

    # -- helpers -----------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.net.now

    def id(self, x: str) -> bytes:
        return KEYS[x].public

    def name(self, community: bytes) -> str:
        return next(x for x in NAMES if KEYS[x].public == community)

    def save(self, x: str, record: Record, old: Record | None) -> None:
        commit.check_move(record.role, None if old is None else old.state, record.state)
        self.records[x][record.nonce] = record

    def applied(self, x: str, rid: bytes) -> bool:
        return round_key(rid) in self.net.ledgers[x].finished

    def apply(self, x: str, data: bytes, votes: dict[bytes, bytes], nonce: bytes) -> None:
        clear = Clear.of(data, votes)
        if not self.applied(x, clear.round_id):
            before = self.position(x)
            self.net.append(x, clear)
            assert self.position(x) == before, "a clear entry moved a net position"
        self.reserved[x].pop(nonce, None)

    def position(self, x: str) -> int:
        ledger = self.net.ledgers[x]
        return sum(ledger.accounts[line.handle].balance for line in ledger.lines.values())

    # -- a participant (ClearingDesk.vote, _committed, _abort_vote) ----------------------------

    def vote(self, x: str, coordinator: str, snapshot: list, data: bytes) -> bytes:
        proposal, me = Proposal.decode(data), self.id(x)
        existing = self.records[x].get(proposal.nonce)
        if commit.admit(existing, proposal, data, self.id(coordinator), self.now):
            return sign_vote(KEYS[x], data)
        try:
            commit.check_proposal(me, self.id(coordinator), snapshot, proposal, data)
            commit.may_vote(self.policy[x], bool(self.reserved[x]))
            self.reserved[x][proposal.nonce] = commit.held_lines(
                self.net.ledgers[x].lines, proposal, me
            )
            check_current(plan(self.net.ledgers[x], proposal, data), self.net.ledgers[x])
        except LetsError as err:
            self.reserved[x].pop(proposal.nonce, None)
            if coordinator != x:
                self.save(
                    x, self.participant(proposal, data, coordinator, "refused", str(err)), None
                )
            raise
        if coordinator != x:
            self.save(x, self.participant(proposal, data, coordinator, "voted"), None)
        return sign_vote(KEYS[x], data)

    def participant(self, p: Proposal, data: bytes, c: str, state: str, reason: str = "") -> Record:
        return Record(
            p.nonce, round_id(data), "participant", self.id(c), state, data, None, reason, self.now
        )

    def committed(self, x: str, coordinator: str, data: bytes, votes: dict[bytes, bytes]) -> None:
        proposal = Proposal.decode(data)
        commit.check_commit(self.id(coordinator), proposal, data, votes)
        self.apply(x, data, votes, proposal.nonce)
        record = self.records[x].get(proposal.nonce)
        if record is not None and record.state != "committed":
            self.save(x, replace(record, state="committed", votes=commit.pack_votes(votes)), record)

    def abort_vote(self, x: str, nonce: bytes, reason: str) -> None:
        record = self.records[x].get(nonce)
        if record is not None and record.role == "participant" and record.state == "voted":
            self.save(x, replace(record, state="aborted", reason=reason), record)
        self.reserved[x].pop(nonce, None)

    # -- the coordinator (ClearingDesk._run) ---------------------------------------------------

    def decide(self, c: str) -> None:
        run = self.running.pop(c)
        names = dict(zip([self.id(x) for x in NAMES], NAMES, strict=True))
        reason = commit.tally(run.proposal.participants, run.votes, run.refusals, names)
        verdict = commit.verdict(reason, self.now, run.deadline)
        record = self.records[c][run.nonce]
        if verdict.state == "aborted":
            self.save(c, replace(record, state="aborted", reason=verdict.reason), record)
            if self.id(c) in run.votes:
                self.abort_vote(c, run.nonce, commit.ABORTED_BY_COORDINATOR)
            for p in run.votes:
                if p != self.id(c):
                    self.messages.append(Message("abort", c, self.name(p), (run.nonce,)))
            return
        votes = commit.pack_votes(run.votes)
        self.save(c, replace(record, state="committed", votes=votes), record)
        if self.id(c) in run.proposal.participants:
            self.apply(c, run.data, run.votes, run.nonce)
        for p in run.proposal.participants:
            if p != self.id(c):
                self.messages.append(Message("commit", c, self.name(p), (run.data, run.votes)))

    def counted(self, c: str, nonce: bytes, voter: bytes, sig: bytes | None, note: str) -> None:
        run = self.running.get(c)
        if run is None or run.nonce != nonce:
            return  # the answer to a request of a round no longer running goes nowhere
        if sig is None or not vote_is_valid(voter, run.data, sig):
            run.refusals.append(note or "a vote that does not verify")
            self.decide(c)  # the first refusal ends the wait
            return
        run.votes[voter] = sig
        if len(run.votes) == len(run.proposal.participants):
            self.decide(c)

    # -- what happens --------------------------------------------------------------------------

    @precondition(lambda self: len(self.running) < 2)
    @rule(c=st.sampled_from(NAMES))
    def start_round(self, c: str) -> None:
        if c in self.running:
            return
        nonce = next(self.nonces).to_bytes(16, "big")
        me = self.id(c)
        others = commit.others_to_ask([self.id(x) for x in NAMES], me)
        statements = [ledger_statement(self.net.ledgers[c], KEYS[c], nonce, self.now)]
        statements += [
            ledger_statement(self.net.ledgers[self.name(o)], KEYS[self.name(o)], nonce, self.now)
            for o in others
        ]
        snapshot = sorted(statements, key=lambda s: s.statement.community_id)
        deadline = self.now + ROUND_MS
        proposal = propose(snapshot, nonce, me, deadline)
        if proposal is None:
            empty = Record(nonce, None, "coordinator", me, "empty", None, None, "", self.now)
            self.save(c, empty, None)
            return
        data = proposal.encode()
        self.save(
            c,
            Record(nonce, round_id(data), "coordinator", me, "proposing", data, None, "", self.now),
            None,
        )
        self.running[c] = Running(nonce, proposal, data, deadline, {}, [])
        for p in proposal.participants:
            if p == me:
                try:
                    self.counted(c, nonce, me, self.vote(c, c, snapshot, data), "")
                except LetsError as err:
                    self.counted(c, nonce, me, None, commit.refusal_note(c, err.code, str(err)))
            else:
                self.messages.append(Message("propose", c, self.name(p), (snapshot, data)))

    @precondition(lambda self: not self.running)
    @rule(c=st.sampled_from(NAMES), cut=st.sampled_from([None, *NAMES]))
    def run_round(self, c: str, cut: str | None) -> None:
        """A whole round on a quiet network, with ``cut`` losing touch as it is decided."""
        self.start_round(c)
        self.catch_up()  # the proposals
        self.catch_up()  # the votes: the coordinator decides and tells
        if cut is not None:
            self.cut_off(cut)

    @precondition(lambda self: self.messages)
    @rule(k=st.integers(0, 30), lose=st.booleans())
    def deliver(self, k: int, lose: bool) -> None:
        m = self.messages.pop(k % len(self.messages))
        if lose:
            return
        x, sender = m.receiver, m.sender
        if m.kind == "propose":
            snapshot, data = m.body
            try:
                sig, note = self.vote(x, sender, snapshot, data), ""
            except LetsError as err:
                sig, note = None, commit.refusal_note(x, err.code, str(err))
            nonce = Proposal.decode(data).nonce
            self.messages.append(Message("vote", x, sender, (nonce, self.id(x), sig, note)))
        elif m.kind == "vote":
            self.counted(x, *m.body)
        elif m.kind == "commit":
            self.committed(x, sender, *m.body)
        elif m.kind == "abort":
            record = self.records[x].get(m.body[0])
            if record is not None and record.coordinator == self.id(sender):
                self.abort_vote(x, m.body[0], commit.ABORTED_BY_COORDINATOR)
        elif m.kind == "outcome":
            kind, fields = commit.outcome_answer(self.records[x].get(m.body[0]))
            self.messages.append(Message("answer", x, sender, (m.body[0], kind, fields)))
        else:
            nonce, kind, fields = m.body
            learned = commit.outcome_of(kind, fields)
            if isinstance(learned, commit.Committed):
                self.committed(x, sender, learned.proposal, learned.votes)
            elif isinstance(learned, commit.Aborted):
                self.abort_vote(x, nonce, learned.reason)

    @precondition(lambda self: self.messages)
    @rule(x=st.sampled_from(NAMES))
    def cut_off(self, x: str) -> None:
        """Everything in flight to or from ``x`` is lost (it lost touch for a moment)."""
        self.messages = [m for m in self.messages if x not in (m.sender, m.receiver)]

    @rule()
    def catch_up(self) -> None:
        """The network delivers everything in flight, in order (not yet what that sends)."""
        for _ in range(len(self.messages)):
            self.deliver(0, False)

    @rule(ms=st.sampled_from([10, 500, 1500, 4000]))
    def advance(self, ms: int) -> None:
        target = self.now + ms
        for c, run in sorted(self.running.items(), key=lambda item: item[1].deadline):
            if run.deadline <= target:  # the wait for votes ends at the deadline
                self.net.now = max(self.now, run.deadline)
                self.decide(c)
        self.net.now = max(self.now, target)

    @rule(x=st.sampled_from(NAMES))
    def recover(self, x: str) -> None:
        """ClearingDesk.recover: abort what we stopped, apply what we committed, ask."""
        for record in [r for r in self.records[x].values() if r.role == "coordinator"]:
            if record.state == "proposing" and commit.stopped(record, self.running_nonces(x)):
                self.save(x, replace(record, state="aborted", reason=commit.STOPPED), record)
                assert record.proposal is not None
                for p in Proposal.decode(record.proposal).participants:
                    if p != self.id(x):
                        self.messages.append(Message("abort", x, self.name(p), (record.nonce,)))
            elif record.state == "committed":
                todo = commit.to_apply(record, self.id(x), lambda rid: self.applied(x, rid))
                if todo is not None:
                    self.apply(x, *todo, record.nonce)
        for record in list(self.records[x].values()):
            voted = record.role == "participant" and record.state == "voted"
            if voted and commit.in_doubt(record, self.now):
                c = self.name(record.coordinator)
                self.messages.append(Message("outcome", x, c, (record.nonce,)))

    def running_nonces(self, x: str) -> set[bytes]:
        return {self.running[x].nonce} if x in self.running else set()

    @rule(x=st.sampled_from(NAMES))
    def crash(self, x: str) -> None:
        """The node stops and starts again: its running round and held lines are gone; held
        lines come back from its ``voted`` records."""
        self.running.pop(x, None)
        self.reserved[x] = {
            r.nonce: commit.held_lines(
                self.net.ledgers[x].lines, Proposal.decode(r.proposal), self.id(x)
            )
            for r in self.records[x].values()
            if r.role == "participant" and r.state == "voted" and r.proposal is not None
        }

    @rule(x=st.sampled_from(NAMES), policy=st.sampled_from(["accept", "accept", "refuse"]))
    def set_policy(self, x: str, policy: str) -> None:
        self.policy[x] = policy

    @rule(pair=st.sampled_from(["ab", "bc", "ca", "ba", "cb", "ac"]), amount=st.integers(1, 500))
    def pay(self, pair: str, amount: int) -> None:
        """A payment over a line, unless a round holds that line still (clearing_in_progress)."""
        x, y = pair
        held = {h for handles in self.reserved[x].values() for h in handles}
        held_y = {h for handles in self.reserved[y].values() for h in handles}
        if f"line-{y}" in held or f"line-{x}" in held_y:
            return
        payer = self.net.ledgers[x].accounts[MEMBERS[x]]
        payee = self.net.ledgers[y].accounts[MEMBERS[y]]
        if payer.balance - amount >= payer.floor and payee.balance + amount <= (payee.ceiling or 0):
            transfer(self.net, x, y, amount)

    # -- what must hold ----------------------------------------------------------------------

    @invariant()
    def a_round_applies_only_once_its_coordinator_committed_it(self) -> None:
        for c in NAMES:
            for record in self.records[c].values():
                if record.role != "coordinator" or record.round_id is None:
                    continue
                done = [x for x in NAMES if self.applied(x, record.round_id)]
                if record.state != "committed":
                    assert not done, (record.state, done)

    @invariant()
    def a_participant_in_doubt_holds_its_lines(self) -> None:
        for x in NAMES:
            for record in self.records[x].values():
                if record.role == "participant" and record.state == "voted":
                    assert record.proposal is not None
                    lines = self.net.ledgers[x].lines
                    held = commit.held_lines(lines, Proposal.decode(record.proposal), self.id(x))
                    assert held and self.reserved[x].get(record.nonce) == held

    def teardown(self) -> None:
        if not hasattr(self, "net"):
            return
        for _ in range(6):
            self.advance(4000)
            for x in NAMES:
                self.recover(x)
            for _ in range(10):
                self.catch_up()
        for x in NAMES:
            in_doubt = [r for r in self.records[x].values() if r.state in ("voted", "proposing")]
            assert not in_doubt, (x, in_doubt)
        for c in NAMES:
            for record in self.records[c].values():
                if record.role != "coordinator" or record.proposal is None:
                    continue
                participants = Proposal.decode(record.proposal).participants
                done = {
                    self.name(p)
                    for p in participants
                    if self.applied(self.name(p), record.round_id)
                }  # type: ignore[arg-type]
                if record.state == "committed":
                    assert done == {self.name(p) for p in participants}, (record, done)
                else:
                    assert not done
        for x, y in (("a", "b"), ("b", "c"), ("c", "a")):
            mine = self.net.ledgers[x].accounts[f"line-{y}"].balance
            theirs = self.net.ledgers[y].accounts[f"line-{x}"].balance
            assert mine == -theirs


Rounds.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
test_clearing_rounds_commit_atomically = Rounds.TestCase


def test_a_record_moves_only_along_the_table() -> None:
    import pytest

    from letsnode.core.errors import LocalProtocolError

    commit.check_move("participant", "voted", "committed")
    with pytest.raises(LocalProtocolError):
        commit.check_move("participant", "committed", "aborted")
    with pytest.raises(LocalProtocolError):
        commit.check_move("coordinator", "aborted", "committed")
