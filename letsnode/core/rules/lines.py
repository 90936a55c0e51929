"""The rules of credit lines with partner communities (``line`` entries).

A new line needs version 1 and both communities' signatures; it opens this community's
mirror account of the partner (``line-<short>``, kind ``line``) and the ``transit``
account that forwarded payments pass through. A change is the next version, signed by
both, unless one side only lowers the credit it extends (then its signature is enough).
Limits can only move where the mirror's balance, holds included, still fits.
"""

from __future__ import annotations

from letsnode.core.rules.state import (
    TRANSIT_FLOOR,
    TRANSIT_KEY,
    Account,
    LedgerState,
    LineState,
    refusal,
)
from letsnode.core.wire.bodies import LineAgreement
from letsnode.core.wire.lines import TRANSIT, line_handle


def apply_line(ledger: LedgerState, ts: int, body: LineAgreement) -> None:
    me = ledger.community.community_id
    terms = body.signed.terms
    try:
        partner, partner_short = terms.partner(me)
    except Exception:
        raise refusal("not_my_line", "the line does not involve this community") from None
    signers = body.signed.signers()
    current = ledger.lines.get(terms.line_id)
    floor, ceiling = terms.limits(me)
    if current is None:
        if terms.version != 1 or sorted(signers) != sorted([me, partner]):
            raise refusal("line_unsigned", "a new line needs version 1 and both signatures")
        handle = line_handle(partner_short)
        if handle in ledger.accounts:
            raise refusal("handle_taken", f"the handle {handle} is already taken")
        if partner in ledger.keys:
            raise refusal(
                "key_taken",
                f"this community already has account {ledger.keys[partner]} for that partner",
            )
        ensure_transit(ledger)
        ledger.create_account(handle, partner, "line", floor, ceiling)
        ledger.lines[terms.line_id] = LineState(terms, handle, partner)
        return
    both = sorted(signers) == sorted([me, partner])
    if terms.version != current.terms.version + 1:
        raise refusal(
            "line_version",
            f"line version {terms.version} does not follow {current.terms.version}",
        )
    if not both and not any(terms.lowered_only_by(s, current.terms) for s in signers):
        raise refusal(
            "line_unsigned",
            "changing a line needs both signatures, unless one side only "
            "lowers the credit it extends",
        )
    if terms.a_id != current.terms.a_id or terms.b_id != current.terms.b_id:
        raise refusal("line_parties", "a line's parties never change")
    account = ledger.accounts[current.handle]
    check_room(ledger, account, floor, ceiling)
    account.floor, account.ceiling = floor, ceiling
    current.terms = terms


def ensure_transit(ledger: LedgerState) -> None:
    if TRANSIT not in ledger.accounts:
        ledger.create_account(TRANSIT, TRANSIT_KEY, "fund", TRANSIT_FLOOR, None)


def check_room(ledger: LedgerState, account: Account, floor: int, ceiling: int | None) -> None:
    if account.balance - account.held_out < floor:
        raise refusal(
            "below_floor",
            f"cannot set the floor of {account.handle} to "
            f"{ledger.fmt(floor)}: its balance less holds is "
            f"{ledger.fmt(account.balance - account.held_out)}",
        )
    if ceiling is not None and account.balance + account.held_in > ceiling:
        raise refusal(
            "above_ceiling",
            f"cannot set the ceiling of {account.handle} to "
            f"{ledger.fmt(ceiling)}: its balance plus holds is "
            f"{ledger.fmt(account.balance + account.held_in)}",
        )
