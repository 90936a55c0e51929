"""Federation-wide clearing rounds: the signed snapshot, the proposal and the votes.

A round clears cycles of debt between communities over their credit lines
(protocol/SPEC.md §8):

1. **Snapshot.** The coordinator asks every community it knows for a *statement*: the
   settled balance and limits of each of its mirror accounts, signed with its node key
   and bound to the round's random ``nonce``.
2. **Proposal.** From the signed statements, :func:`propose` derives the debts: a line
   whose two sides agree that A owes B (A's mirror of B is positive, B's mirror of A is
   negative) gives the obligation ``min(A's balance, -B's balance)``. Only lines at rate
   1/1 are cleared (a cycle through lines of other rates would not keep every
   community's position unchanged in its own units). The clearing engine
   (:mod:`letsnode.core.clearing.engine`) finds the maximum set-off; every node recomputes the
   same proposal from the same snapshot, byte for byte.
3. **Votes.** Every community named in the proposal checks it against its own ledger and
   signs the proposal bytes. With all the votes, each applies one ``clear`` entry; the
   votes are the entry's evidence, so every log proves that each affected community
   agreed. Without all of them by the deadline, the round aborts and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from letsnode.core.clearing.engine import Obligation, solve
from letsnode.core.crypto import blake2b256
from letsnode.core.errors import InvalidInput
from letsnode.core.wire import codec
from letsnode.core.wire.clearing import (
    MAX_PROPOSAL_ITEMS,
    MAX_ROUND_COMMUNITIES,
    ClearingItem,
    LineView,
    Proposal,
    SignedStatement,
    Statement,
    _strictly_sorted,
)

# -- statements -----------------------------------------------------------------------


def check_snapshot(snapshot: Sequence[SignedStatement], nonce: bytes) -> None:
    """Refuse a snapshot that mixes rounds, repeats a community or is out of order."""
    if not 1 <= len(snapshot) <= MAX_ROUND_COMMUNITIES:
        raise InvalidInput(f"a snapshot has 1 to {MAX_ROUND_COMMUNITIES} statements")
    if any(s.statement.nonce != nonce for s in snapshot):
        raise InvalidInput("a statement in the snapshot belongs to another round")
    _strictly_sorted([s.statement.community_id for s in snapshot], "a snapshot's statements")


def snapshot_digest(snapshot: Sequence[SignedStatement]) -> bytes:
    return blake2b256(codec.pack([s.to_wire() for s in snapshot]))


# -- debts and the proposal -------------------------------------------------------------


Side = tuple[bytes, LineView]  # a community id and its view of a line


def stated_lines(statements: Iterable[Statement]) -> list[tuple[bytes, Side, Side]]:
    """``(line_id, side x, side y)`` for every line both of whose parties stated it, each
    naming the other as partner, sorted by line id."""
    views: dict[bytes, list[Side]] = {}
    for statement in statements:
        for view in statement.lines:
            views.setdefault(view.line_id, []).append((statement.community_id, view))
    out = []
    for line_id in sorted(views):
        sides = views[line_id]
        if len(sides) != 2:
            continue
        (x, vx), (y, vy) = sides
        if vx.partner == y and vy.partner == x:
            out.append((line_id, sides[0], sides[1]))
    return out


def line_debts(statements: Iterable[Statement]) -> list[ClearingItem]:
    """The debt on every at-par line whose two sides agree on it, sorted by line id.

    Both sides state their settled balance; while a transfer settles on one side before
    the other they differ, so the debt is the smaller of the two (``min(a, -b)``).
    """
    debts = []
    for line_id, (x, vx), (y, vy) in stated_lines(statements):
        if not (vx.at_par and vy.at_par):
            continue
        if vx.balance > 0 > vy.balance:
            debts.append(ClearingItem(line_id, x, y, min(vx.balance, -vy.balance)))
        elif vy.balance > 0 > vx.balance:
            debts.append(ClearingItem(line_id, y, x, min(vy.balance, -vx.balance)))
    return debts


def propose(
    snapshot: Sequence[SignedStatement], nonce: bytes, coordinator: bytes, deadline_ms: int
) -> Proposal | None:
    """The proposal every node derives from ``snapshot``, or None if nothing clears."""
    check_snapshot(snapshot, nonce)
    debts = line_debts(s.statement for s in snapshot)
    if not debts:
        return None
    result = solve([Obligation(d.debtor.hex(), d.creditor.hex(), d.amount) for d in debts])
    items = tuple(
        ClearingItem(d.line_id, d.debtor, d.creditor, cleared)
        for d, cleared in zip(debts, result.setoff, strict=True)
        if cleared > 0
    )
    if not items:
        return None
    if len(items) > MAX_PROPOSAL_ITEMS:
        raise InvalidInput(
            f"{len(items)} lines would clear; one round clears at most {MAX_PROPOSAL_ITEMS}"
        )
    return Proposal(nonce, coordinator, snapshot_digest(snapshot), deadline_ms, items)


# -- votes ------------------------------------------------------------------------------
