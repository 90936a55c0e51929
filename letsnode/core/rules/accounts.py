"""The rules of a community's own accounts: payments between members, admitting an
account, its floor and ceiling, and its status (active, frozen, closed).

A payment takes the payer no lower than its floor and the payee no higher than its
ceiling, pending holds included (outgoing holds count against the floor, incoming ones
against the ceiling); a refusal names the account, the limit, the balance and the amount.
"""

from __future__ import annotations

from letsnode.core.amounts import INT64_MAX, INT64_MIN
from letsnode.core.rules.state import (
    Account,
    LedgerState,
    is_system_account,
    line_prefix_reserved,
    refusal,
)
from letsnode.core.wire.entries import Admit, Limits, Order, Payment, Status


def check_order(ledger: LedgerState, order: Order) -> tuple[Account, Account]:
    """Refuse ``order`` with a message naming account, limit, balance and amount."""
    if order.community_id != ledger.community.community_id:
        raise refusal("wrong_community", "the order is for another community")
    payer = ledger.account(order.payer)
    payee = ledger.account(order.payee)
    for account in (payer, payee):
        if is_system_account(account):
            raise refusal(
                "not_a_member_account",
                f"{account.handle} is a line or system account: it moves only by transfers",
            )
        if account.status != "active":
            raise refusal(
                f"account_{account.status}",
                f"account {account.handle} is {account.status}: it can neither pay nor be paid",
            )
    if order.nonce <= payer.last_nonce:
        raise refusal(
            "replayed_order",
            f"order nonce {order.nonce} of {payer.handle} was already used "
            f"(last accepted nonce {payer.last_nonce})",
        )
    new_payer = payer.balance - payer.held_out - order.amount
    if new_payer < payer.floor or new_payer < INT64_MIN:
        raise refusal(
            "below_floor",
            f"{payer.handle} cannot pay {ledger.fmt(order.amount)}: the balance "
            f"{ledger.fmt(payer.balance)}{ledger.holds_text(payer.held_out, 'less')} "
            f"would go below its floor {ledger.fmt(payer.floor)}",
        )
    new_payee = payee.balance + payee.held_in + order.amount
    if (payee.ceiling is not None and new_payee > payee.ceiling) or new_payee > INT64_MAX:
        limit = ledger.fmt(payee.ceiling) if payee.ceiling is not None else "(int64 range)"
        raise refusal(
            "above_ceiling",
            f"{payee.handle} cannot receive {ledger.fmt(order.amount)}: the balance "
            f"{ledger.fmt(payee.balance)}{ledger.holds_text(payee.held_in, 'plus')} "
            f"would go above its ceiling {limit}",
        )
    return payer, payee


def apply_payment(ledger: LedgerState, ts: int, body: Payment) -> None:
    order = body.order
    payer, payee = check_order(ledger, order)
    payer.balance -= order.amount
    payee.balance += order.amount
    payer.last_nonce = order.nonce


def apply_admit(ledger: LedgerState, ts: int, body: Admit) -> None:
    if body.kind == "line" or line_prefix_reserved(body.handle):
        raise refusal(
            "reserved_handle",
            f"{body.handle}: line accounts and 'transit' are made by line agreements",
        )
    ledger.create_account(body.handle, body.key, body.kind, body.floor, body.ceiling)


def apply_limits(ledger: LedgerState, ts: int, body: Limits) -> None:
    account = ledger.account(body.handle)
    if account.status == "closed":
        raise refusal("account_closed", f"account {account.handle} is closed")
    if is_system_account(account):
        raise refusal("not_a_member_account", f"the limits of {account.handle} come from its line")
    if account.balance - account.held_out < body.floor:
        raise refusal(
            "below_floor",
            f"cannot set the floor of {account.handle} to {ledger.fmt(body.floor)}: "
            f"its balance is {ledger.fmt(account.balance)}"
            f"{ledger.holds_text(account.held_out, 'less')}",
        )
    if body.ceiling is not None and account.balance + account.held_in > body.ceiling:
        raise refusal(
            "above_ceiling",
            f"cannot set the ceiling of {account.handle} to "
            f"{ledger.fmt(body.ceiling)}: its balance is {ledger.fmt(account.balance)}"
            f"{ledger.holds_text(account.held_in, 'plus')}",
        )
    account.floor = body.floor
    account.ceiling = body.ceiling


def apply_status(ledger: LedgerState, ts: int, body: Status) -> None:
    account = ledger.account(body.handle)
    if account.status == "closed":
        raise refusal("account_closed", f"account {account.handle} is closed for good")
    if account.status == body.status:
        raise refusal("same_status", f"account {account.handle} is already {body.status}")
    if body.status == "closed" and (account.balance or account.held_in or account.held_out):
        raise refusal(
            "balance_not_zero",
            f"account {account.handle} can be closed only at balance zero, "
            f"it is {ledger.fmt(account.balance)}",
        )
    account.status = body.status
