"""Each ledger rule, one behaviour per test, on the pure core."""

import copy

import pytest

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import BadSignature, InvalidInput, LedgerRefusal
from letsnode.core.wire.entries import Admit, Entry, Genesis, Limits, Order, Payment, Status
from tests.ledger_helpers import CID, NODE, member_key, new_ledger, payment


def state(ledger):
    return (copy.deepcopy(ledger.accounts), ledger.next_seq, ledger.head)


def refused(ledger, clock, body, code):
    before = state(ledger)
    with pytest.raises((LedgerRefusal, BadSignature)) as err:
        ledger.append(NODE, clock(), body)
    assert err.value.code == code
    assert state(ledger) == before
    return str(err.value)


def test_a_payment_moves_the_amount_and_keeps_zero_sum():
    ledger, clock = new_ledger()
    ledger.append(NODE, clock(), payment(ledger, "maria", "ahmed", 150))
    assert ledger.accounts["maria"].balance == -150
    assert ledger.accounts["ahmed"].balance == 150
    assert ledger.total() == 0


def test_below_floor_names_account_balance_floor_and_amount():
    ledger, clock = new_ledger()
    message = refused(ledger, clock, payment(ledger, "maria", "ahmed", 2001), "below_floor")
    assert message == (
        "maria cannot pay 20.01 HOUR: the balance 0.00 HOUR would go below its floor -20.00 HOUR"
    )


def test_above_ceiling_names_the_payee_and_its_ceiling():
    ledger, clock = new_ledger(floor=-9000, ceiling=4000)
    message = refused(ledger, clock, payment(ledger, "maria", "ahmed", 4001), "above_ceiling")
    assert "ahmed cannot receive 40.01 HOUR" in message and "ceiling 40.00 HOUR" in message


def test_paying_exactly_to_the_floor_is_allowed():
    ledger, clock = new_ledger()
    ledger.append(NODE, clock(), payment(ledger, "maria", "ahmed", 2000))
    assert ledger.accounts["maria"].balance == -2000


def test_a_replayed_order_is_refused():
    ledger, clock = new_ledger()
    body = payment(ledger, "maria", "ahmed", 100)
    ledger.append(NODE, clock(), body)
    assert "already used" in refused(ledger, clock, body, "replayed_order")


def test_an_older_nonce_is_refused_but_a_gap_is_allowed():
    ledger, clock = new_ledger()
    ledger.append(NODE, clock(), payment(ledger, "maria", "ahmed", 100, nonce=10))
    refused(ledger, clock, payment(ledger, "maria", "ahmed", 100, nonce=9), "replayed_order")
    ledger.append(NODE, clock(), payment(ledger, "maria", "ahmed", 100, nonce=12))


def test_an_order_signed_by_another_key_is_refused():
    ledger, clock = new_ledger()
    forged = payment(ledger, "maria", "ahmed", 100, key=member_key("ahmed"))
    assert "not signed by maria" in refused(ledger, clock, forged, "bad_signature")


def test_an_order_for_another_community_is_refused():
    ledger, clock = new_ledger()
    order = Order(SigningKey(bytes(32)).public, "maria", "ahmed", 100, 1, "")
    refused(ledger, clock, Payment(order.sign(member_key("maria"))), "wrong_community")


@pytest.mark.parametrize("who", ["maria", "ahmed"])
def test_a_frozen_account_can_neither_pay_nor_be_paid(who):
    ledger, clock = new_ledger()
    ledger.append(NODE, clock(), Status(who, "frozen"))
    refused(ledger, clock, payment(ledger, "maria", "ahmed", 100), "account_frozen")
    ledger.append(NODE, clock(), Status(who, "active"))
    ledger.append(NODE, clock(), payment(ledger, "maria", "ahmed", 100))


def test_unknown_accounts_are_refused():
    ledger, clock = new_ledger()
    refused(ledger, clock, payment(ledger, "maria", "nobody", 1), "unknown_account")


def test_limits_cannot_put_the_current_balance_out_of_bounds():
    ledger, clock = new_ledger()
    ledger.append(NODE, clock(), payment(ledger, "maria", "ahmed", 1500))
    refused(ledger, clock, Limits("maria", -1000, 4000), "below_floor")
    refused(ledger, clock, Limits("ahmed", -1000, 1000), "above_ceiling")
    ledger.append(NODE, clock(), Limits("maria", -1500, None))
    assert ledger.accounts["maria"].ceiling is None


def test_closing_needs_a_zero_balance_and_is_final():
    ledger, clock = new_ledger()
    ledger.append(NODE, clock(), payment(ledger, "maria", "ahmed", 100))
    refused(ledger, clock, Status("maria", "closed"), "balance_not_zero")
    ledger.append(NODE, clock(), payment(ledger, "ahmed", "maria", 100))
    ledger.append(NODE, clock(), Status("maria", "closed"))
    refused(ledger, clock, Status("maria", "active"), "account_closed")
    refused(ledger, clock, payment(ledger, "ahmed", "maria", 1), "account_closed")


def test_handles_and_keys_are_unique():
    ledger, clock = new_ledger()
    refused(
        ledger, clock, Admit("maria", member_key("x").public, "member", 0, None), "handle_taken"
    )
    refused(ledger, clock, Admit("x", member_key("maria").public, "member", 0, None), "key_taken")


def test_a_second_genesis_is_refused():
    ledger, clock = new_ledger()
    refused(ledger, clock, Genesis(CID, "Again", "again", "HOUR", 2, 0, None), "misplaced_genesis")


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Order(CID, "maria", "maria", 1, 1, ""), "cannot pay itself"),
        (lambda: Order(CID, "maria", "ahmed", 0, 1, ""), "greater than zero"),
        (lambda: Order(CID, "maria", "ahmed", 2**63, 1, ""), "64-bit"),
        (lambda: Order(CID, "Maria", "ahmed", 1, 1, ""), "lowercase"),
        (lambda: Order(CID, "maria", "ahmed", 1, 1, "x" * 201), "limit is 200"),
        (lambda: Order(CID, "maria", "ahmed", 1, 1, "a\x00b"), "control character"),
        (lambda: Admit("maria", bytes(32), "member", 10, None), "floor must be zero or negative"),
        (lambda: Admit("maria", bytes(32), "member", 0, -1), "ceiling must be zero or positive"),
        (lambda: Admit("maria", bytes(32), "boss", 0, None), "account kind"),
        (lambda: Genesis(CID, "X", "x", "hour", 2, 0, None), "capital letters"),
    ],
)
def test_malformed_structures_are_refused_at_construction(build, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        build()


def test_an_entry_that_does_not_chain_is_refused():
    ledger, clock = new_ledger()
    stray = Entry.create(NODE, ledger.next_seq, bytes(32), clock(), Status("maria", "frozen"))
    before = state(ledger)
    with pytest.raises(LedgerRefusal) as err:
        ledger.apply(stray)
    assert err.value.code == "broken_chain" and state(ledger) == before


def test_an_entry_signed_by_another_node_is_refused():
    ledger, clock = new_ledger()
    other = SigningKey(bytes([9]) * 32)
    entry = Entry.create(other, ledger.next_seq, ledger.head, clock(), Status("maria", "frozen"))
    with pytest.raises(BadSignature, match="node signature"):
        ledger.apply(entry)


def test_time_never_goes_back_in_the_log():
    ledger, _clock = new_ledger()
    late = ledger.last_timestamp_ms
    entry = ledger.append(NODE, late - 5000, Status("maria", "frozen"))
    assert entry.timestamp_ms == late
    early = Entry.create(NODE, ledger.next_seq, ledger.head, late - 1, Status("maria", "active"))
    with pytest.raises(LedgerRefusal) as err:
        ledger.apply(early)
    assert err.value.code == "time_went_back"
