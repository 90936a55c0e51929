"""Clearing rounds as pure rules (SPEC §8): statements, the proposal, votes, ``clear``.

Three ledgers A, B, C with lines A–B, B–C and C–A (``tests.federation_helpers.ring``).
Debts around the cycle come from real transfers: each is a remote order, a hold on both
sides, the reveal and both settles, exactly as the federation logs them, so the mirror
accounts start opposite and every rule on the way is exercised.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsnode.core.amounts import INT64_MAX
from letsnode.core.clearing.engine import Obligation, solve
from letsnode.core.clearing.rounds import check_snapshot, line_debts, propose, snapshot_digest
from letsnode.core.crypto import SigningKey
from letsnode.core.errors import BadSignature, DecodeError, InvalidInput, LedgerRefusal
from letsnode.core.rules.clearing import check_current, ledger_statement, plan
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire import codec
from letsnode.core.wire.bodies import Clear, LineAgreement, Release
from letsnode.core.wire.clearing import (
    DOMAIN_STATEMENT,
    MAX_PROPOSAL_BYTES,
    MAX_PROPOSAL_ITEMS,
    MAX_ROUND_COMMUNITIES,
    MAX_STATEMENT_LINES,
    PROPOSAL_TYPE,
    STATEMENT_TYPE,
    ClearingItem,
    LineView,
    Proposal,
    SignedStatement,
    Statement,
    round_id,
    round_key,
    sign_vote,
    vote_is_valid,
)
from letsnode.core.wire.entries import ENTRY_TYPE, MAX_ENTRY_BYTES, Entry, Genesis
from letsnode.core.wire.lines import LineTerms, SignedLine
from tests.federation_helpers import KEYS, MEMBERS, Net, hold_in, hold_out, ring, transfer

NONCE = bytes([7]) * 16
NAMES = {key.public: name for name, key in KEYS.items()}
# Who owes whom around the ring, by transfers: the cycle clears 20.00 on every line.
DEBTS = {("a", "b"): 3_000, ("b", "c"): 2_000, ("c", "a"): 2_500}


# -- helpers ------------------------------------------------------------------------------


def indebted_ring(limit: int = 50_000) -> Net:
    net = ring(limit)
    for (x, y), amount in DEBTS.items():
        transfer(net, x, y, amount)
    return net


def snapshot_of(net: Net) -> list[SignedStatement]:
    statements = [ledger_statement(net.ledgers[n], KEYS[n], NONCE, net.now) for n in "abc"]
    return sorted(statements, key=lambda s: s.statement.community_id)


def round_of(net: Net, coordinator: str = "a") -> tuple[Proposal, bytes, dict[bytes, bytes]]:
    proposal = propose(snapshot_of(net), NONCE, KEYS[coordinator].public, net.now + 10_000)
    assert proposal is not None
    data = proposal.encode()
    return proposal, data, all_votes(proposal, data)


def all_votes(proposal: Proposal, data: bytes) -> dict[bytes, bytes]:
    return {c: sign_vote(KEYS[NAMES[c]], data) for c in proposal.participants}


def mirrors(net: Net) -> dict[tuple[str, str], int]:
    return {
        (name, line.handle.removeprefix("line-")): ledger.accounts[line.handle].balance
        for name, ledger in net.ledgers.items()
        for line in ledger.lines.values()
    }


def position(ledger: Ledger) -> int:
    """A community's net position towards the others: the sum of its mirror accounts."""
    return sum(ledger.accounts[line.handle].balance for line in ledger.lines.values())


def state(ledger: Ledger):
    return (
        {h: (a.balance, a.held_in, a.held_out) for h, a in ledger.accounts.items()},
        set(ledger.finished),
        ledger.next_seq,
    )


def refused(net: Net, name: str, body) -> LedgerRefusal:
    before = state(net.ledgers[name])
    with pytest.raises(LedgerRefusal) as err:
        net.append(name, body)
    assert state(net.ledgers[name]) == before  # a refused entry changes nothing
    return err.value


def hand_proposal(items, coordinator: str = "a") -> tuple[bytes, dict[bytes, bytes]]:
    """A proposal written by hand (the ledger rule never looks at the snapshot)."""
    proposal = Proposal(
        NONCE,
        KEYS[coordinator].public,
        bytes(32),
        1,
        tuple(
            ClearingItem(line_id, KEYS[x].public, KEYS[y].public, n) for line_id, x, y, n in items
        ),
    )
    data = proposal.encode()
    return data, all_votes(proposal, data)


# -- (a) the clear rule on three ledgers --------------------------------------------------


def test_a_round_signed_by_all_clears_the_cycle_and_keeps_every_position():
    net = indebted_ring()
    before, positions = mirrors(net), {n: position(x) for n, x in net.ledgers.items()}
    members = {n: net.ledgers[n].accounts[MEMBERS[n]].balance for n in "abc"}
    assert before[("a", "b")] == 3_000 and before[("b", "a")] == -3_000
    proposal, data, votes = round_of(net)
    assert [(NAMES[x.debtor], NAMES[x.creditor], x.amount) for x in proposal.items] == [
        ("a", "b", 2_000),
        ("b", "c", 2_000),
        ("c", "a", 2_000),
    ]
    entries = {n: net.append(n, Clear.of(data, votes)) for n in "abc"}
    after = mirrors(net)
    for (x, y), amount in DEBTS.items():
        assert after[(x, y)] == amount - 2_000 == -after[(y, x)]
    for name, ledger in net.ledgers.items():
        assert ledger.total() == 0
        assert position(ledger) == positions[name]
        assert ledger.accounts[MEMBERS[name]].balance == members[name]
        assert round_key(round_id(data)) in ledger.finished
        entry = entries[name]  # the entry decodes to the same body, votes and all
        decoded = Entry.decode(entry.data, entry.signature).body
        assert isinstance(decoded, Clear)
        assert (decoded.proposal_data, decoded.votes) == (data, tuple(sorted(votes.items())))


def test_a_replayed_round_is_refused():
    net = indebted_ring()
    _, data, votes = round_of(net)
    for name in "abc":
        net.append(name, Clear.of(data, votes))
    for name in "abc":
        assert refused(net, name, Clear.of(data, votes)).code == "duplicate_round"


def test_a_clear_entry_needs_one_vote_from_each_participant_in_order():
    net = indebted_ring()
    proposal, data, votes = round_of(net)
    c = KEYS["c"].public
    missing = {k: v for k, v in votes.items() if k != c}
    with pytest.raises(InvalidInput):
        Clear.of(data, missing)
    with pytest.raises(InvalidInput):  # out of order
        Clear(data, tuple(sorted(votes.items(), reverse=True)), proposal)
    outsider = SigningKey(bytes([99]) * 32)
    with pytest.raises(InvalidInput):  # a vote of a community that is not in the round
        Clear.of(data, {**votes, outsider.public: sign_vote(outsider, data)})
    # As log bytes, such an entry does not even decode.
    good = Clear.of(data, votes).to_wire()
    for wire in (
        ["clear", data, [[k, v] for k, v in sorted(missing.items())]],
        ["clear", data, [[k, v] for k, v in sorted(votes.items(), reverse=True)]],
        ["clear", data, [[bytes(32), bytes(64)]] * (MAX_ROUND_COMMUNITIES + 1)],
    ):
        raw = codec.pack([ENTRY_TYPE, 1, 9, bytes(32), net.now, wire])
        with pytest.raises(DecodeError):
            Entry.decode(raw, bytes(64))
    assert Entry.decode(codec.pack([ENTRY_TYPE, 1, 9, bytes(32), net.now, good]), bytes(64))


def test_a_forged_vote_is_refused_and_changes_nothing():
    net = indebted_ring()
    _, data, votes = round_of(net)
    b = KEYS["b"].public
    other_data, _ = hand_proposal([(bytes([1]) * 16, "a", "b", 5), (bytes([2]) * 16, "b", "a", 5)])
    forgeries = {
        "signed by another community": sign_vote(KEYS["c"], data),
        "a vote for another proposal": sign_vote(KEYS["b"], other_data),
        "a signature under the statement domain": KEYS["b"].sign(DOMAIN_STATEMENT, data),
        "zero bytes": bytes(64),
    }
    for forged in forgeries.values():
        body = Clear.of(data, {**votes, b: forged})
        for name in "abc":
            before = state(net.ledgers[name])
            with pytest.raises(BadSignature):
                net.append(name, body)
            assert state(net.ledgers[name]) == before
    for name in "abc":  # the genuine votes still apply
        net.append(name, Clear.of(data, votes))


def test_a_round_that_does_not_involve_this_community_is_refused():
    net = indebted_ring()
    line_bc = net.lines["bc"].line_id
    data, votes = hand_proposal([(line_bc, "b", "c", 100), (bytes([9]) * 16, "c", "b", 100)])
    assert refused(net, "a", Clear.of(data, votes)).code == "not_in_round"


def test_items_must_be_on_a_line_with_that_partner():
    net = indebted_ring()
    ab, ca = net.lines["ab"].line_id, net.lines["ca"].line_id
    # Line A–B named as a line between A and C.
    data, votes = hand_proposal([(ab, "a", "c", 100), (ca, "c", "a", 100)])
    assert refused(net, "a", Clear.of(data, votes)).code == "not_a_line"
    data, votes = hand_proposal([(ab, "a", "b", 100), (bytes([9]) * 16, "b", "a", 100)])
    assert refused(net, "a", Clear.of(data, votes)).code == "not_a_line"


def test_a_line_at_another_rate_is_not_cleared():
    net = ring(ca_rate=(2, 1))  # one minor unit of C is worth two of A on line C–A
    transfer(net, "a", "b", 3_000)
    transfer(net, "b", "c", 2_000)
    transfer(net, "c", "a", 1_000, received=2_000)
    assert mirrors(net)[("a", "c")] == -2_000 and mirrors(net)[("c", "a")] == 1_000
    # Nobody states the line C–A, so there is no cycle to clear ...
    assert all(
        net.lines["ca"].line_id not in {v.line_id for v in s.statement.lines}
        for s in snapshot_of(net)
    )
    assert propose(snapshot_of(net), NONCE, KEYS["a"].public, net.now) is None
    # ... and a proposal that clears it anyway is refused by both of its sides.
    items = [(net.lines[k].line_id, k[0], k[1], 500) for k in ("ab", "bc", "ca")]
    data, votes = hand_proposal(items)
    for name in "ac":
        assert refused(net, name, Clear.of(data, votes)).code == "not_at_par"


def test_a_closed_mirror_account_is_not_cleared():
    from letsnode.core.wire.entries import Status

    net = ring()
    net.append("a", Status("line-b", "closed"))  # balance 0: closing is allowed
    items = [(net.lines[k].line_id, k[0], k[1], 500) for k in ("ab", "bc", "ca")]
    data, votes = hand_proposal(items)
    assert refused(net, "a", Clear.of(data, votes)).code == "account_closed"


def test_a_clear_that_would_cross_the_floor_with_holds_is_refused():
    net = indebted_ring(limit=5_000)
    _, data, votes = round_of(net)
    # B pays A 65.00, not settled yet: A's mirror of B holds it outgoing. Clearing 20.00
    # of A's debt would leave 10.00 - 65.00 < -50.00, below the floor.
    tid = hold_in(net, "b", "a", 6_500)
    assert net.ledgers["a"].accounts["line-b"].held_out == 6_500
    assert refused(net, "a", Clear.of(data, votes)).code == "below_floor"
    net.append("a", Release(tid, "in", "rejected", b"", b""))
    net.append("a", Clear.of(data, votes))


def test_a_clear_that_would_cross_the_ceiling_with_holds_is_refused():
    net = indebted_ring(limit=5_000)
    _, data, votes = round_of(net)
    # A's member pays C 56.00, pending: A's mirror of C (-25.00) holds it incoming. After
    # clearing 20.00 the mirror would be -5.00 + 56.00 > 50.00, above the ceiling.
    tid = hold_out(net, "a", "c", 5_600)
    assert net.ledgers["a"].accounts["line-c"].held_in == 5_600
    assert refused(net, "a", Clear.of(data, votes)).code == "above_ceiling"
    net.now += 120_000
    net.append("a", Release(tid, "out", "expired", b"", b""))
    net.append("a", Clear.of(data, votes))


def test_check_current_refuses_a_snapshot_overtaken_by_payments():
    net = indebted_ring()
    proposal, data, _ = round_of(net)
    for name in "abc":  # current: every node would vote
        ledger = net.ledgers[name]
        check_current(plan(ledger, proposal, data), ledger)
    transfer(net, "b", "a", 1_500)  # A now owes B only 15.00, less than the 20.00 cleared
    for name in "ab":
        ledger = net.ledgers[name]
        changes = plan(ledger, proposal, data)  # the ledger rule alone would still allow it
        with pytest.raises(LedgerRefusal) as err:
            check_current(changes, ledger)
        assert err.value.code == "stale_snapshot"
    ledger = net.ledgers["c"]  # C's lines did not move
    check_current(plan(ledger, proposal, data), ledger)
    transfer(net, "a", "b", 5_000)  # more debt than cleared is fine
    for name in "ab":
        ledger = net.ledgers[name]
        check_current(plan(ledger, proposal, data), ledger)


@settings(max_examples=20, deadline=None)
@given(
    debts=st.tuples(*[st.integers(1, 9_000)] * 3),
    back=st.tuples(*[st.integers(0, 900)] * 3),
)
def test_any_cleared_ring_keeps_positions_totals_and_opposite_mirrors(debts, back):
    net = ring()
    for (x, y), amount, returned in zip(DEBTS, debts, back, strict=True):
        transfer(net, x, y, amount)
        if returned:
            transfer(net, y, x, returned)
    positions = {n: position(x) for n, x in net.ledgers.items()}
    before = mirrors(net)
    proposal = propose(snapshot_of(net), NONCE, KEYS["b"].public, net.now + 1)
    owed = [a - r for a, r in zip(debts, back, strict=True)]  # around a -> b -> c -> a
    if all(x > 0 for x in owed) or all(x < 0 for x in owed):
        expected = 3 * min(abs(x) for x in owed)
    else:  # some line is owed the other way round, or not at all: no cycle
        expected = 0
    if not expected:
        assert proposal is None
        return
    assert proposal is not None and proposal.cleared == expected
    data = proposal.encode()
    for name in "abc":
        net.append(name, Clear.of(data, all_votes(proposal, data)))
    after = mirrors(net)
    for (x, y), value in after.items():
        assert value == -after[(y, x)]
        assert abs(value) <= abs(before[(x, y)])  # clearing only ever reduces a debt
    for name, ledger in net.ledgers.items():
        assert ledger.total() == 0 and position(ledger) == positions[name]


def test_ledger_statement_is_the_statement_a_node_makes():
    """The vectors' ``ledger_statement`` matches the federation desk's own statement."""
    from letsnode.federation.clearing import ClearingDesk

    net = indebted_ring()
    for name in "abc":
        ledger, key = net.ledgers[name], KEYS[name]
        port = SimpleNamespace(ledger=ledger, key=key, clock=lambda: net.now)
        desk = SimpleNamespace(port=port, me=key.public, now=lambda: net.now)
        assert ClearingDesk.statement(desk, NONCE) == ledger_statement(ledger, key, NONCE, net.now)


def test_a_statement_lists_the_largest_at_par_lines_sorted_by_line_id():
    """Balances are set directly here: only the choice of lines is under test."""
    me = SigningKey(bytes([50]) * 32)
    ledger = Ledger()
    ledger.append(me, 1, Genesis(me.public, "Hub", "hub", "HOUR", 2, -10_000, 10_000))
    rng = random.Random(5)
    expected = []
    for i in range(30):
        partner = SigningKey(bytes([60 + i]) * 32)
        line_id = bytes([255 - i]) * 16  # line ids sort opposite to creation order
        rate = (3, 2) if i == 7 else (1, 1)
        terms = LineTerms(
            line_id, 1, me.public, "hub", partner.public, f"p{i}", *rate, -900, 900, -800, 800
        )
        signed = SignedLine(terms.encode(), terms.sign(me), terms.sign(partner), terms)
        ledger.append(me, 2 + i, LineAgreement(signed))
        # 12 lines above 1.00 are kept; of the 16 at exactly 1.00 the 12 with the smallest
        # line ids (the last made) fill the statement up to 24.
        size = 0 if i == 3 else 100 if i >= 14 else 200 + i
        balance = rng.choice([-1, 1]) * size
        ledger.accounts[f"line-p{i}"].balance = balance
        if balance and rate == (1, 1):
            expected.append((line_id, partner.public, balance))
    expected.sort(key=lambda x: (-abs(x[2]), x[0]))
    chosen = sorted(expected[:MAX_STATEMENT_LINES])
    signed = ledger_statement(ledger, me, NONCE, 99)
    views = signed.statement.lines
    assert len(views) == MAX_STATEMENT_LINES
    assert [(v.line_id, v.partner, v.balance) for v in views] == chosen
    assert sum(abs(v.balance) == 100 for v in views) == 12
    assert {v.line_id[0] for v in views if abs(v.balance) == 100} == {
        255 - i for i in range(18, 30)
    }
    assert all((v.floor, v.ceiling, v.rate_num, v.rate_den) == (-900, 900, 1, 1) for v in views)
    assert SignedStatement.verify(signed.data, signed.signature) == signed


# -- (b) deriving the proposal -------------------------------------------------------------


POOL = [SigningKey(bytes([100 + i]) * 32) for i in range(8)]
MANY = [SigningKey(bytes([200 + i]) * 32) for i in range(MAX_ROUND_COMMUNITIES + 1)]


def statement(key: SigningKey, views, nonce: bytes = NONCE) -> SignedStatement:
    views = tuple(sorted(views, key=lambda v: v.line_id))
    return Statement(nonce, key.public, "x", "HOUR", 2, 1, views).sign(key)


def view(line: int, partner: SigningKey, balance: int, rate=(1, 1)) -> LineView:
    return LineView(bytes([line]) * 16, partner.public, balance, -(10**9), 10**9, *rate)


def test_line_debts_need_two_agreeing_at_par_sides():
    x, y, z = POOL[:3]
    cases = {
        "agree: y owes x": ((1, y, -300), (1, x, 300), [(1, y, x, 300)]),
        "settled on one side only: the smaller": ((2, y, 500), (2, x, -450), [(2, x, y, 450)]),
        "both say they owe": ((3, y, 100), (3, x, 100), []),
        "both say they are owed": ((4, y, -100), (4, x, -100), []),
        "one side zero": ((5, y, 100), (5, x, 0), []),
    }
    for name, (vx, vy, expected) in cases.items():
        sx, sy = statement(x, [view(*vx)]), statement(y, [view(*vy)])
        got = [
            (d.line_id[0], d.debtor, d.creditor, d.amount)
            for d in line_debts([sx.statement, sy.statement])
        ]
        assert got == [(n, a.public, b.public, amount) for n, a, b, amount in expected], name
    one_side = statement(x, [view(6, y, 100)])
    assert line_debts([one_side.statement]) == []
    non_par = [statement(x, [view(7, y, 100, (3, 2))]), statement(y, [view(7, x, -150, (3, 2))])]
    assert line_debts([s.statement for s in non_par]) == []
    half_par = [statement(x, [view(7, y, 100)]), statement(y, [view(7, x, -100, (2, 1))])]
    assert line_debts([s.statement for s in half_par]) == []
    two_by_two = [statement(x, [view(7, y, 100, (2, 2))]), statement(y, [view(7, x, -100, (2, 2))])]
    assert [d.amount for d in line_debts([s.statement for s in two_by_two])] == [100]
    # Partners that do not match: x says line 8 is with z, y says it is with x.
    mismatch = [statement(x, [view(8, z, 100)]), statement(y, [view(8, x, -100)])]
    assert line_debts([s.statement for s in mismatch]) == []
    three = [
        statement(x, [view(9, y, 100)]),
        statement(y, [view(9, x, -100)]),
        statement(z, [view(9, x, -100)]),
    ]
    assert line_debts([s.statement for s in three]) == []


KINDS = ["agree"] * 5 + ["lag"] * 2 + ["disagree", "one", "rate", "none"]


@st.composite
def snapshots(draw):
    """Signed statements of 2–6 communities over a random ring or mesh of lines, each line
    stated consistently, with one side lagging, with disagreeing signs, by one side only,
    at another rate, or not at all; returns them with the debts each line should give.

    In a ring, most lines are owed the same way round, so that there is often a cycle.
    """
    n = draw(st.integers(2, 6))
    keys = POOL[:n]
    if n > 2 and draw(st.booleans()):
        chosen = [(i, (i + 1) % n) for i in range(n)]  # i owes i+1 when the balance is > 0
        along = True
    else:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        chosen = draw(st.lists(st.sampled_from(pairs), unique=True, min_size=1))
        along = False
    views = {i: [] for i in range(n)}
    expected = {}
    for number, (i, j) in enumerate(chosen, start=1):
        kind = draw(st.sampled_from(KINDS))
        balance = draw(st.integers(1, 5_000))
        if not (along and draw(st.integers(0, 4))):
            balance *= draw(st.sampled_from([1, -1]))
        line_id = bytes([number]) * 16
        if kind == "none":
            continue
        rate = (3, 2) if kind == "rate" else (1, 1)
        views[i].append(LineView(line_id, keys[j].public, balance, -(10**6), 10**6, *rate))
        if kind == "one":
            continue
        sign = 1 if balance > 0 else -1
        other = {
            "agree": -balance,
            "rate": -sign * max(1, abs(balance) * 3 // 2),
            "lag": -sign * draw(st.integers(1, abs(balance))),
            "disagree": balance,
        }[kind]
        views[j].append(LineView(line_id, keys[i].public, other, -(10**6), 10**6, *rate))
        if kind in ("agree", "lag"):
            debtor, creditor = (i, j) if balance > 0 else (j, i)
            owed = min(abs(balance), abs(other))
            expected[line_id] = (keys[debtor].public, keys[creditor].public, owed)
    statements = [
        Statement(
            NONCE,
            keys[i].public,
            f"c{i}",
            "HOUR",
            2,
            7,
            tuple(sorted(views[i], key=lambda v: v.line_id)),
        ).sign(keys[i])
        for i in range(n)
    ]
    order = draw(st.permutations(range(n)))
    return [statements[i] for i in order], expected


def has_cycle(edges: dict[bytes, set[bytes]]) -> bool:
    indegree = {node: 0 for node in edges}
    for targets in edges.values():
        for t in targets:
            indegree[t] = indegree.get(t, 0) + 1
    ready = [node for node, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for t in edges.get(node, ()):
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    return seen != len(indegree)


@settings(max_examples=80, deadline=None)
@given(snapshots())
def test_the_proposal_is_deterministic_bounded_by_the_debts_and_keeps_every_net(drawn):
    shuffled, expected = drawn
    snapshot = sorted(shuffled, key=lambda s: s.statement.community_id)
    coordinator, deadline = POOL[0].public, 10**12
    debts = line_debts(s.statement for s in snapshot)
    assert {d.line_id: (d.debtor, d.creditor, d.amount) for d in debts} == expected
    assert [d.line_id for d in debts] == sorted(expected)
    proposal = propose(snapshot, NONCE, coordinator, deadline)
    again = propose(list(snapshot), NONCE, coordinator, deadline)
    if proposal is None:
        assert again is None
        cleared = {}
    else:
        assert again is not None and again.encode() == proposal.encode()
        # Same statements made afresh, in another order of making: the same bytes.
        remade = sorted(
            (SignedStatement.verify(s.data, s.signature) for s in reversed(shuffled)),
            key=lambda s: s.statement.community_id,
        )
        assert propose(remade, NONCE, coordinator, deadline).encode() == proposal.encode()
        assert Proposal.decode(proposal.encode()) == proposal
        assert proposal.snapshot_digest == snapshot_digest(snapshot)
        assert round_id(proposal.encode()) == round_id(again.encode())
        cleared = {x.line_id: x for x in proposal.items}
        net: dict[bytes, int] = {}
        for item in proposal.items:
            debtor, creditor, owed = expected[item.line_id]
            assert (item.debtor, item.creditor) == (debtor, creditor)
            assert 0 < item.amount <= owed
            net[item.debtor] = net.get(item.debtor, 0) - item.amount
            net[item.creditor] = net.get(item.creditor, 0) + item.amount
        assert not any(net.values())
        assert [x.line_id for x in proposal.items] == sorted(cleared)
    # Maximal: what remains owed has no cycle left (else it could be cleared further).
    remaining: dict[bytes, set[bytes]] = {}
    for line_id, (debtor, creditor, owed) in expected.items():
        left = owed - (cleared[line_id].amount if line_id in cleared else 0)
        if left:
            remaining.setdefault(debtor, set()).add(creditor)
            remaining.setdefault(creditor, set())
    assert not has_cycle(remaining)
    total = solve([Obligation(d.debtor.hex(), d.creditor.hex(), d.amount) for d in debts]).cleared
    assert (proposal.cleared if proposal else 0) == total


def test_a_snapshot_is_sorted_of_one_round_and_of_distinct_communities():
    x, y = POOL[:2]
    sx, sy = statement(x, [view(1, y, 100)]), statement(y, [view(1, x, -100)])
    ordered = sorted([sx, sy], key=lambda s: s.statement.community_id)
    check_snapshot(ordered, NONCE)
    for bad, nonce in (
        (ordered[::-1], NONCE),
        ([ordered[0], ordered[0]], NONCE),
        (ordered, bytes(16)),
        ([], NONCE),
        (sorted((statement(k, []) for k in MANY), key=lambda s: s.statement.community_id), NONCE),
    ):
        with pytest.raises(InvalidInput):
            check_snapshot(bad, nonce)
        with pytest.raises(InvalidInput):
            propose(bad, nonce, x.public, 1)
    other_round = statement(y, [view(1, x, -100)], nonce=bytes(16))
    with pytest.raises(InvalidInput):
        check_snapshot(sorted([sx, other_round], key=lambda s: s.statement.community_id), NONCE)


# -- (c) decoding refuses malformed statements and proposals ---------------------------------


def statement_wire(lines=None) -> list:
    x, y, z = POOL[:3]
    views = [view(1, y, 100), view(2, z, -50)] if lines is None else lines
    return [STATEMENT_TYPE, 1, NONCE, x.public, "x", "HOUR", 2, 7, [v.to_wire() for v in views]]


def test_statement_decoding_refuses_malformed_bytes():
    x, y, z = POOL[:3]
    good = statement_wire()
    assert Statement.decode(codec.pack(good)).lines[0].balance == 100
    self_line = view(1, x, 100)
    bad = {
        "a proposal's type tag": [PROPOSAL_TYPE, *good[1:]],
        "version 2": [good[0], 2, *good[2:]],
        "lines not sorted": [*good[:8], good[8][::-1]],
        "a line twice": [*good[:8], [good[8][0], good[8][0]]],
        "a line with itself": statement_wire([self_line]),
        "too many lines": statement_wire(
            [view(i, y, 1) for i in range(1, MAX_STATEMENT_LINES + 2)]
        ),
        "a short nonce": [*good[:2], bytes(15), *good[3:]],
        "a floor above zero": [*good[:8], [[bytes(16), y.public, 1, 5, 5, 1, 1]]],
        "a zero rate": [*good[:8], [[bytes(16), y.public, 1, -5, 5, 0, 1]]],
        "a scale of 9": [*good[:6], 9, *good[7:]],
        "lines that are not an array": [*good[:8], b"lines"],
        "eight fields": good[:8],
    }
    for reason, wire in bad.items():
        with pytest.raises(DecodeError):
            Statement.decode(codec.pack(wire))
            pytest.fail(reason)
    with pytest.raises(DecodeError):  # more than 4096 bytes
        Statement.decode(codec.pack([*good[:4], "x" * 4096, *good[5:]]))
    with pytest.raises(DecodeError):
        Statement.decode(codec.pack(good) + b"\x00")
    with pytest.raises(InvalidInput):
        Statement(NONCE, x.public, "x", "HOUR", 2, 7, (view(2, y, 1), view(1, z, 1)))
    with pytest.raises(InvalidInput):  # a statement is signed by its own community
        Statement(NONCE, x.public, "x", "HOUR", 2, 7, ()).sign(y)


def test_a_statement_signature_must_verify():
    x, y = POOL[:2]
    signed = statement(x, [view(1, y, 100)])
    with pytest.raises(BadSignature):
        SignedStatement.verify(signed.data, y.sign(DOMAIN_STATEMENT, signed.data))
    with pytest.raises(BadSignature):  # the vote domain is not the statement domain
        SignedStatement.verify(signed.data, sign_vote(x, signed.data))
    with pytest.raises(DecodeError):
        SignedStatement.from_wire([signed.data, signed.signature[:63]])


def proposal_wire(items) -> list:
    return [PROPOSAL_TYPE, 1, NONCE, POOL[0].public, bytes(32), 5, items]


def test_proposal_decoding_refuses_malformed_bytes():
    x, y, z = (k.public for k in POOL[:3])
    a, b, c = (bytes([i]) * 16 for i in (1, 2, 3))
    good = [[a, x, y, 10], [b, y, z, 10], [c, z, x, 10]]
    assert Proposal.decode(codec.pack(proposal_wire(good))).cleared == 30
    bad = {
        "a statement's type tag": [STATEMENT_TYPE, *proposal_wire(good)[1:]],
        "version 2": [PROPOSAL_TYPE, 2, *proposal_wire(good)[2:]],
        "items not sorted": proposal_wire(good[::-1]),
        "a line twice": proposal_wire([good[0], [a, y, z, 10], [c, z, x, 10]]),
        "changes a net position": proposal_wire([good[0], good[1], [c, z, x, 9]]),
        "a zero amount": proposal_wire([[a, x, y, 0], [b, y, x, 0]]),
        "a negative amount": proposal_wire([[a, x, y, -5], [b, y, x, -5]]),
        "owes itself": proposal_wire([[a, x, x, 10]]),
        "no items": proposal_wire([]),
        "a short line id": proposal_wire([[bytes(15), x, y, 1], [b, y, x, 1]]),
        "items that are not an array": proposal_wire(b"items"),
        "six fields": proposal_wire(good)[:6],
    }
    for reason, wire in bad.items():
        with pytest.raises(DecodeError):
            Proposal.decode(codec.pack(wire))
            pytest.fail(reason)
    with pytest.raises(InvalidInput):
        Proposal(NONCE, x, bytes(32), 5, (ClearingItem(a, x, y, 10), ClearingItem(b, y, z, 10)))


def biggest_proposal() -> Proposal:
    """160 items of int64-max amounts in 8 rings of 20 communities: as large as allowed."""
    ids = [SigningKey(bytes([150 + i]) * 32).public for i in range(MAX_ROUND_COMMUNITIES)]
    items = []
    for r in range(MAX_PROPOSAL_ITEMS // MAX_ROUND_COMMUNITIES):
        for i, debtor in enumerate(ids):
            line_id = bytes([r, i]) + bytes([0xFF]) * 14
            items.append(ClearingItem(line_id, debtor, ids[(i + 1) % len(ids)], INT64_MAX))
    return Proposal(
        NONCE, ids[0], bytes(32), INT64_MAX, tuple(sorted(items, key=lambda x: x.line_id))
    )


def test_the_largest_proposal_fits_and_a_clear_entry_carries_it():
    proposal = biggest_proposal()
    data = proposal.encode()
    assert len(data) <= MAX_PROPOSAL_BYTES
    votes = [[c, bytes(64)] for c in proposal.participants]
    raw = codec.pack([ENTRY_TYPE, 1, INT64_MAX, bytes(32), INT64_MAX, ["clear", data, votes]])
    assert len(raw) <= MAX_ENTRY_BYTES
    body = Entry.decode(raw, bytes(64)).body
    assert isinstance(body, Clear) and body.proposal == proposal
    wire = codec.unpack(data)
    extra = [bytes([0xFF]) * 16, proposal.items[0].creditor, proposal.items[0].debtor, 1]
    with pytest.raises(DecodeError):  # 161 items
        Proposal.decode(codec.pack([*wire[:6], [*wire[6], extra]]))
    oversize = codec.pack([*wire[:6], [*wire[6], *wire[6][:20]]])
    assert len(oversize) > MAX_PROPOSAL_BYTES
    with pytest.raises(DecodeError, match="limit"):
        Proposal.decode(oversize)


def test_a_round_involves_at_most_twenty_communities():
    ids = sorted(SigningKey(bytes([150 + i]) * 32).public for i in range(MAX_ROUND_COMMUNITIES + 1))
    items = tuple(
        ClearingItem(bytes([i]) * 16, ids[i], ids[(i + 1) % len(ids)], 5) for i in range(len(ids))
    )
    with pytest.raises(InvalidInput):
        Proposal(NONCE, ids[0], bytes(32), 1, items)


def test_votes_are_signatures_of_the_proposal_bytes():
    net = indebted_ring()
    _, data, votes = round_of(net)
    for community, sig in votes.items():
        assert vote_is_valid(community, data, sig)
        assert not vote_is_valid(community, data + b"\x00", sig)
        others = [k.public for k in KEYS.values() if k.public != community]
        assert not any(vote_is_valid(other, data, sig) for other in others)


# -- found while writing these tests ---------------------------------------------------------


def test_a_community_at_any_genesis_scale_can_make_a_statement():
    key = POOL[0]
    genesis = Genesis(key.public, "Fine Grain", "fine", "GRAIN", 8, -10, 10)  # a valid genesis
    Statement(NONCE, key.public, genesis.short, genesis.unit, genesis.scale, 1, ()).sign(key)


def test_a_finished_transfer_with_the_round_id_does_not_block_the_round():
    net = indebted_ring()
    _, data, votes = round_of(net)
    for name in "bc":
        net.append(name, Clear.of(data, votes))
    # After voting, A takes an incoming leg whose transfer id is the round id, and the leg
    # ends. (A node holds the lines in a round still, so in a federation the leg comes
    # over another line; A has no other line here, and the rule is the same.)
    rid = round_id(data)
    hold_in(net, "b", "a", 10, tid=rid)
    net.append("a", Release(rid, "in", "rejected", b"", b""))
    net.append("a", Clear.of(data, votes))
    assert mirrors(net)[("a", "b")] == -mirrors(net)[("b", "a")]
