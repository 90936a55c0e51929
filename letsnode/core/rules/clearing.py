"""The ledger rule for a clearing round (``clear`` entries), applied by ``Ledger``.

A clear entry changes only this community's mirror accounts on the lines the round
clears: where this community owes, its mirror of the creditor goes down; where it is
owed, its mirror of the debtor goes up. The rule proves, from the entry alone, that every
affected community signed the very same proposal, that this community's net position is
unchanged, and that every mirror stays within its line's limits, holds included.
"""

from __future__ import annotations

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import BadSignature
from letsnode.core.rules.state import Account, LedgerState, refusal
from letsnode.core.wire.bodies import Clear
from letsnode.core.wire.clearing import (
    MAX_STATEMENT_LINES,
    LineView,
    Proposal,
    SignedStatement,
    Statement,
    round_id,
    round_key,
    vote_is_valid,
)


def plan(
    ledger: LedgerState, proposal: Proposal, proposal_data: bytes
) -> list[tuple[Account, int]]:
    """What the round would change here: ``(mirror account, delta)`` pairs; or refuse."""
    me = ledger.community.community_id
    mine = proposal.items_of(me)
    if not mine:
        raise refusal("not_in_round", "this community takes no part in the clearing round")
    if round_key(round_id(proposal_data)) in ledger.finished:
        raise refusal("duplicate_round", "this clearing round was already applied")
    changes: list[tuple[Account, int]] = []
    for item in mine:
        other = item.creditor if item.debtor == me else item.debtor
        line = ledger.lines.get(item.line_id)
        if line is None or line.partner != other:
            raise refusal(
                "not_a_line", f"line {item.line_id.hex()} is not a line with that community"
            )
        if line.terms.rate_num != line.terms.rate_den:
            raise refusal("not_at_par", f"line {line.handle} is not at rate 1/1")
        account = ledger.accounts[line.handle]
        if account.status == "closed":
            raise refusal("account_closed", f"account {account.handle} is closed")
        changes.append((account, -item.amount if item.debtor == me else item.amount))
    if sum(delta for _, delta in changes) != 0:
        raise refusal("net_changed", "the round would change this community's net position")
    for account, delta in changes:
        balance = account.balance + delta
        if balance - account.held_out < account.floor:
            raise refusal(
                "below_floor",
                f"clearing would take {account.handle} to {ledger.fmt(balance)}"
                f"{ledger.holds_text(account.held_out, 'less')}, below its floor "
                f"{ledger.fmt(account.floor)}",
            )
        if account.ceiling is not None and balance + account.held_in > account.ceiling:
            raise refusal(
                "above_ceiling",
                f"clearing would take {account.handle} to {ledger.fmt(balance)}"
                f"{ledger.holds_text(account.held_in, 'plus')}, above its ceiling "
                f"{ledger.fmt(account.ceiling)}",
            )
    return changes


def check_current(changes: list[tuple[Account, int]], ledger: LedgerState) -> None:
    """Refuse a round that would clear more than is owed now on any of our lines.

    Used before voting: the snapshot may be a moment old, and a node signs only set-off
    that its own ledger still shows as debt.
    """
    for account, delta in changes:
        owed_now = account.balance if delta < 0 else -account.balance
        if owed_now < abs(delta):
            raise refusal(
                "stale_snapshot",
                f"the round clears {ledger.fmt(abs(delta))} on {account.handle}, "
                f"but only {ledger.fmt(max(owed_now, 0))} is owed there now",
            )


def apply_clear(ledger: LedgerState, ts: int, body: Clear) -> None:
    for community, signature in body.votes:
        if not vote_is_valid(community, body.proposal_data, signature):
            raise BadSignature(
                f"clearing round: the vote of community {community.hex()[:16]} does not verify"
            )
    changes = plan(ledger, body.proposal, body.proposal_data)
    for account, delta in changes:
        account.balance += delta
    ledger.finished.add(round_key(body.round_id))


def ledger_statement(
    ledger: LedgerState, key: SigningKey, nonce: bytes, timestamp_ms: int
) -> SignedStatement:
    """The statement a node makes of its own ledger for round ``nonce`` (SPEC §8.1).

    It lists the mirror accounts of its at-par lines that carry a settled balance (not
    closed), with the line's limits for this side and rate 1/1; of more than
    ``MAX_STATEMENT_LINES``, the largest by absolute balance (then by line id); sorted by
    line id.
    """
    me = key.public
    genesis = ledger.community
    views = []
    for line in ledger.lines.values():
        account = ledger.accounts[line.handle]
        terms = line.terms
        if account.balance == 0 or terms.rate_num != terms.rate_den or account.status == "closed":
            continue
        floor, ceiling = terms.limits(me)
        views.append(LineView(terms.line_id, line.partner, account.balance, floor, ceiling, 1, 1))
    views.sort(key=lambda v: (-abs(v.balance), v.line_id))
    chosen = tuple(sorted(views[:MAX_STATEMENT_LINES], key=lambda v: v.line_id))
    statement = Statement(
        nonce, me, genesis.short, genesis.unit, genesis.scale, timestamp_ms, chosen
    )
    return statement.sign(key)
