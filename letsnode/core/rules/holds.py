"""The rules of conditional transfers between communities: holds, reveals, settles and
releases (protocol/SPEC.md §6).

Holds count against limits while pending: an account's balance minus what it has held
outgoing stays at or above its floor, and its balance plus what it has held incoming stays
at or below its ceiling. A leg settles once, or is released once, never both. Each step
carries the signed message that justifies it (the payer's remote order, the upstream's
prepare or decision, the downstream's reject), checked here, so the log proves what
happened.
"""

from __future__ import annotations

from letsnode.core.crypto import is_valid_signature
from letsnode.core.errors import BadSignature, DecodeError
from letsnode.core.rules.state import (
    Account,
    HoldState,
    LedgerState,
    is_system_account,
    refusal,
)
from letsnode.core.wire.bodies import Hold, Release, Reveal, Role, Settle
from letsnode.core.wire.lines import TRANSIT
from letsnode.core.wire.transfers import (
    DOMAIN_DECISION,
    DOMAIN_PREPARE,
    DOMAIN_REJECT,
    DOMAIN_REMOTE_ORDER,
    Decision,
    Prepare,
    Reject,
    RemoteOrder,
    condition_of,
)


def apply_hold(ledger: LedgerState, ts: int, body: Hold) -> None:
    if (body.transfer_id, body.role) in ledger.holds or body.transfer_id in ledger.finished:
        raise refusal(
            "duplicate_transfer",
            f"transfer {body.transfer_id.hex()} already has an {body.role} leg here",
        )
    debit, credit = ledger.account(body.debit), ledger.account(body.credit)
    if body.expiry_ms <= ts:
        raise refusal("expired", "the hold would expire before it is made")
    payer_order = None
    if body.role == "out":
        if credit.kind != "line":
            raise refusal("not_a_line", f"{credit.handle} is not a line account")
        if debit.handle != TRANSIT:
            payer_order = check_origin(ledger, body, debit)
        elif body.evidence:
            raise refusal("bad_evidence", "a forwarding hold carries no evidence")
    else:
        if debit.kind != "line":
            raise refusal("not_a_line", f"{debit.handle} is not a line account")
        check_prepare(ledger, body, debit)
    for account in (debit, credit):
        if account.status != "active":
            raise refusal(
                f"account_{account.status}",
                f"account {account.handle} is {account.status}: it can neither pay nor be paid",
            )
    if debit.balance - debit.held_out - body.amount < debit.floor:
        raise refusal(
            "below_floor",
            f"{debit.handle} cannot pay {ledger.fmt(body.amount)}: the balance "
            f"{ledger.fmt(debit.balance)}{ledger.holds_text(debit.held_out, 'less')} "
            f"would go below its floor {ledger.fmt(debit.floor)}",
        )
    if credit.ceiling is not None and (
        credit.balance + credit.held_in + body.amount > credit.ceiling
    ):
        raise refusal(
            "above_ceiling",
            f"{credit.handle} cannot receive {ledger.fmt(body.amount)}: the balance "
            f"{ledger.fmt(credit.balance)}{ledger.holds_text(credit.held_in, 'plus')} "
            f"would go above its ceiling {ledger.fmt(credit.ceiling)}",
        )
    if payer_order is not None:
        debit.last_nonce = payer_order.nonce
    debit.held_out += body.amount
    credit.held_in += body.amount
    state = HoldState(
        body.transfer_id,
        body.role,
        body.debit,
        body.credit,
        body.amount,
        body.condition,
        body.expiry_ms,
    )
    ledger.holds[state.key] = state


def check_origin(ledger: LedgerState, body: Hold, payer: Account) -> RemoteOrder:
    if is_system_account(payer):
        raise refusal("not_a_member_account", f"{payer.handle} cannot pay by order")
    if not is_valid_signature(payer.key, DOMAIN_REMOTE_ORDER, body.evidence, body.evidence_sig):
        raise BadSignature(f"the remote order is not signed by {payer.handle}'s key")
    order = RemoteOrder.decode(body.evidence)
    if order.community_id != ledger.community.community_id or order.payer != payer.handle:
        raise refusal("bad_evidence", "the remote order is for another payer or community")
    if order.amount != body.amount:
        raise refusal("bad_evidence", "the hold's amount differs from the order's")
    if order.nonce <= payer.last_nonce:
        raise refusal(
            "replayed_order",
            f"order nonce {order.nonce} of {payer.handle} was "
            f"already used (last accepted nonce {payer.last_nonce})",
        )
    return order


def check_prepare(ledger: LedgerState, body: Hold, upstream: Account) -> None:
    if not is_valid_signature(upstream.key, DOMAIN_PREPARE, body.evidence, body.evidence_sig):
        raise BadSignature(f"the prepare is not signed by the partner of {upstream.handle}")
    try:
        prepare = Prepare.decode(body.evidence)
    except DecodeError as err:
        raise refusal("bad_evidence", f"the prepare does not decode: {err}") from None
    line = ledger.lines.get(prepare.line_id)
    if line is None or line.handle != upstream.handle:
        raise refusal("not_a_line", "the prepare names a line this account is not")
    if (prepare.transfer_id, prepare.amount, prepare.condition, prepare.expiry_ms) != (
        body.transfer_id,
        body.amount,
        body.condition,
        body.expiry_ms,
    ):
        raise refusal("bad_evidence", "the hold differs from the prepare it cites")


def pending(ledger: LedgerState, transfer_id: bytes, role: Role) -> HoldState:
    hold = ledger.holds.get((transfer_id, role))
    if hold is None:
        raise refusal("unknown_transfer", f"no pending {role} leg of transfer {transfer_id.hex()}")
    return hold


def apply_reveal(ledger: LedgerState, ts: int, body: Reveal) -> None:
    hold = pending(ledger, body.transfer_id, "in")
    if condition_of(body.preimage) != hold.condition:
        raise refusal("bad_preimage", "the preimage does not match the condition")
    if hold.revealed:
        raise refusal("already_revealed", "the preimage was already revealed")
    if ts > hold.expiry_ms:
        raise refusal("expired", "the leg expired before the preimage was revealed")
    hold.revealed = True


def upstream_decision(
    ledger: LedgerState, hold: HoldState, evidence: bytes, sig: bytes
) -> Decision:
    upstream = ledger.accounts[hold.debit]
    if not is_valid_signature(upstream.key, DOMAIN_DECISION, evidence, sig):
        raise BadSignature(f"the decision is not signed by the partner of {hold.debit}")
    decision = Decision.decode(evidence)
    if decision.transfer_id != hold.transfer_id:
        raise refusal("bad_evidence", "the decision is about another transfer")
    return decision


def apply_settle(ledger: LedgerState, ts: int, body: Settle) -> None:
    hold = pending(ledger, body.transfer_id, body.role)
    if condition_of(body.preimage) != hold.condition:
        raise refusal("bad_preimage", "the preimage does not match the condition")
    if body.role == "out":
        if ts > hold.expiry_ms:
            raise refusal("expired", "the leg expired before it was fulfilled")
        if body.evidence:
            raise refusal("bad_evidence", "the deciding side settles on its own clock")
    else:
        if not hold.revealed:
            raise refusal("not_revealed", "an incoming leg settles after its reveal")
        decision = upstream_decision(ledger, hold, body.evidence, body.evidence_sig)
        if decision.outcome != "fulfilled":
            raise refusal("bad_evidence", f"the upstream decided {decision.outcome}")
    debit, credit = ledger.accounts[hold.debit], ledger.accounts[hold.credit]
    end_hold(ledger, hold)
    debit.balance -= hold.amount
    credit.balance += hold.amount


def apply_release(ledger: LedgerState, ts: int, body: Release) -> None:
    hold = pending(ledger, body.transfer_id, body.role)
    if body.role == "out":
        if body.reason == "expired":
            if ts <= hold.expiry_ms:
                raise refusal("not_expired", "the leg has not expired yet")
            if body.evidence:
                raise refusal("bad_evidence", "an expiry carries no evidence")
        else:
            downstream = ledger.accounts[hold.credit]
            if not is_valid_signature(
                downstream.key, DOMAIN_REJECT, body.evidence, body.evidence_sig
            ):
                raise BadSignature("the reject is not signed by the downstream partner")
            if Reject.decode(body.evidence).transfer_id != hold.transfer_id:
                raise refusal("bad_evidence", "the reject is about another transfer")
    elif hold.revealed:
        decision = upstream_decision(ledger, hold, body.evidence, body.evidence_sig)
        if decision.outcome == "fulfilled":
            raise refusal("bad_evidence", "the upstream fulfilled this leg")
    elif body.reason == "expired" and ts <= hold.expiry_ms:
        raise refusal("not_expired", "the leg has not expired yet")
    end_hold(ledger, hold)


def end_hold(ledger: LedgerState, hold: HoldState) -> None:
    ledger.accounts[hold.debit].held_out -= hold.amount
    ledger.accounts[hold.credit].held_in -= hold.amount
    del ledger.holds[hold.key]
    ledger.finished.add(hold.transfer_id)
