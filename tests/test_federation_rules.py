"""Ledger rules for lines and conditional transfers, on pure ledgers of three communities."""

import pytest

from letsnode.core.errors import BadSignature, LedgerRefusal
from letsnode.core.wire.bodies import Hold, LineAgreement, Release, Reveal, Settle
from letsnode.core.wire.lines import LineTerms, SignedLine
from letsnode.core.wire.transfers import (
    Decision,
    Invoice,
    Prepare,
    Reject,
    RemoteOrder,
    condition_of,
    preimage_for,
)
from tests.federation_helpers import KEYS, Net, member_key

TID = bytes([9]) * 16


def order(net, amount=300, nonce=1):
    o = RemoteOrder(KEYS["a"].public, "maria", KEYS["c"].public, "karim", amount, nonce, "tea")
    return o.sign(member_key("maria"))


def invoice():
    preimage = preimage_for(KEYS["c"].seed, TID)
    inv = Invoice(TID, KEYS["c"].public, "karim", condition_of(preimage))
    return inv, preimage


def prepare(sender, hop, line, amount, expiry, route=()):
    inv, _ = invoice()
    inv_data, inv_sig = inv.sign(KEYS["c"])
    p = Prepare(
        TID,
        hop,
        line.line_id,
        amount,
        inv.condition,
        expiry,
        route,
        "maria@a",
        "tea",
        inv_data,
        inv_sig,
    )
    return p.sign(KEYS[sender])


def run_transfer(net, amount=300):
    """A→B→C, fulfilled, every step logged on each side as the protocol prescribes."""
    inv, preimage = invoice()
    expiry = net.now + 60_000
    data, sig = order(net, amount)
    a, b, c = (net.ledgers[x] for x in "abc")
    net.append("a", Hold(TID, "out", "maria", "line-b", amount, inv.condition, expiry, data, sig))
    p1, s1 = prepare("a", 0, net.lines["ab"], amount, expiry, (KEYS["c"].public,))
    net.append("b", Hold(TID, "in", "line-a", "transit", amount, inv.condition, expiry, p1, s1))
    net.append(
        "b", Hold(TID, "out", "transit", "line-c", amount, inv.condition, expiry - 5000, b"", b"")
    )
    p2, s2 = prepare("b", 1, net.lines["bc"], amount, expiry - 5000)
    net.append(
        "c", Hold(TID, "in", "line-b", "karim", amount, inv.condition, expiry - 5000, p2, s2)
    )
    net.append("c", Reveal(TID, preimage))
    net.append("b", Settle(TID, "out", preimage, b"", b""))
    d_bc = Decision(TID, 1, "fulfilled", preimage).sign(KEYS["b"])
    net.append("c", Settle(TID, "in", preimage, *d_bc))
    net.append("b", Reveal(TID, preimage))
    net.append("a", Settle(TID, "out", preimage, b"", b""))
    d_ab = Decision(TID, 0, "fulfilled", preimage).sign(KEYS["a"])
    net.append("b", Settle(TID, "in", preimage, *d_ab))
    return a, b, c


def test_a_fulfilled_transfer_moves_money_and_mirrors_match():
    net = Net()
    a, b, c = run_transfer(net)
    assert a.accounts["maria"].balance == -300 and c.accounts["karim"].balance == 300
    assert a.accounts["line-b"].balance == -b.accounts["line-a"].balance == 300
    assert b.accounts["line-c"].balance == -c.accounts["line-b"].balance == 300
    assert b.accounts["transit"].balance == 0
    for ledger in (a, b, c):
        assert ledger.total() == 0 and not ledger.holds
        assert all(x.held_in == x.held_out == 0 for x in ledger.accounts.values())


def test_holds_count_against_limits_until_released():
    net = Net(limit=500)
    inv, _ = invoice()
    data, sig = order(net, 400)
    net.append(
        "a", Hold(TID, "out", "maria", "line-b", 400, inv.condition, net.now + 9000, data, sig)
    )
    a = net.ledgers["a"]
    assert a.accounts["line-b"].held_in == 400
    data2, sig2 = order(net, 200, nonce=2)
    with pytest.raises(LedgerRefusal) as err:
        net.append(
            "a",
            Hold(
                bytes([8]) * 16,
                "out",
                "maria",
                "line-b",
                200,
                inv.condition,
                net.now + 9000,
                data2,
                sig2,
            ),
        )
    assert err.value.code == "above_ceiling"
    with pytest.raises(LedgerRefusal) as err:
        net.append("a", Release(TID, "out", "expired", b"", b""))
    assert err.value.code == "not_expired"
    net.now += 10_000
    net.append("a", Release(TID, "out", "expired", b"", b""))
    assert a.accounts["line-b"].held_in == 0 and a.accounts["maria"].balance == 0


def test_a_prepare_from_a_non_partner_is_refused():
    net = Net()
    inv, _ = invoice()
    p, s = prepare("c", 0, net.lines["ab"], 100, net.now + 9000)  # C signs about line A–B
    with pytest.raises(BadSignature):
        net.append(
            "b", Hold(TID, "in", "line-a", "transit", 100, inv.condition, net.now + 9000, p, s)
        )
    assert not net.ledgers["b"].holds


def test_a_forged_remote_order_is_refused():
    net = Net()
    inv, _ = invoice()
    o = RemoteOrder(KEYS["a"].public, "maria", KEYS["c"].public, "karim", 100, 1, "")
    data, sig = o.sign(member_key("karim"))
    with pytest.raises(BadSignature):
        net.append(
            "a", Hold(TID, "out", "maria", "line-b", 100, inv.condition, net.now + 9000, data, sig)
        )


def test_a_leg_settles_once_and_a_replayed_fulfil_is_refused():
    net = Net()
    run_transfer(net)
    _, preimage = invoice()
    with pytest.raises(LedgerRefusal) as err:
        net.append("a", Settle(TID, "out", preimage, b"", b""))
    assert err.value.code == "unknown_transfer"
    data, sig = order(net, 300, nonce=5)
    inv, _ = invoice()
    with pytest.raises(LedgerRefusal) as err:
        net.append(
            "a", Hold(TID, "out", "maria", "line-b", 300, inv.condition, net.now + 9000, data, sig)
        )
    assert err.value.code == "duplicate_transfer"


def test_fulfilment_after_expiry_is_refused_on_the_deciding_side():
    net = Net()
    inv, preimage = invoice()
    data, sig = order(net)
    net.append(
        "a", Hold(TID, "out", "maria", "line-b", 300, inv.condition, net.now + 100, data, sig)
    )
    net.now += 1000
    with pytest.raises(LedgerRefusal) as err:
        net.append("a", Settle(TID, "out", preimage, b"", b""))
    assert err.value.code == "expired"


def test_a_revealed_incoming_leg_follows_only_the_upstream_decision():
    net = Net()
    inv, preimage = invoice()
    expiry = net.now + 60_000
    p, s = prepare("b", 1, net.lines["bc"], 100, expiry)
    net.append("c", Hold(TID, "in", "line-b", "karim", 100, inv.condition, expiry, p, s))
    net.append("c", Reveal(TID, preimage))
    net.now = expiry + 1
    with pytest.raises(BadSignature):  # revealed: no expiry without the upstream's word
        net.append("c", Release(TID, "in", "expired", b"", b""))
    forged = Decision(TID, 1, "expired", b"").sign(KEYS["a"])
    with pytest.raises(BadSignature):
        net.append("c", Release(TID, "in", "expired", *forged))
    net.append(
        "c", Release(TID, "in", "expired", *Decision(TID, 1, "expired", b"").sign(KEYS["b"]))
    )
    assert net.ledgers["c"].accounts["karim"].balance == 0


def test_a_downstream_reject_releases_the_upstream_leg():
    net = Net()
    inv, _ = invoice()
    data, sig = order(net)
    net.append(
        "a", Hold(TID, "out", "maria", "line-b", 300, inv.condition, net.now + 9000, data, sig)
    )
    forged = Reject(TID, 0, "no_route", "").sign(KEYS["c"])
    with pytest.raises(BadSignature):
        net.append("a", Release(TID, "out", "rejected", *forged))
    net.append(
        "a", Release(TID, "out", "rejected", *Reject(TID, 0, "no_route", "").sign(KEYS["b"]))
    )
    assert not net.ledgers["a"].holds


def test_members_cannot_pay_line_accounts_directly():
    from letsnode.core.wire.entries import Order, Payment

    net = Net()
    o = Order(KEYS["a"].public, "maria", "line-b", 100, 1, "")
    with pytest.raises(LedgerRefusal) as err:
        net.append("a", Payment(o.sign(member_key("maria"))))
    assert err.value.code == "not_a_member_account"


def test_one_side_may_lower_the_credit_it_extends_but_not_raise_it():
    net = Net(limit=500)
    old = net.lines["ab"]
    lower = LineTerms(old.line_id, 2, old.a_id, "a", old.b_id, "b", 1, 1, -200, 500, -500, 200)
    net.append("a", LineAgreement(SignedLine(lower.encode(), lower.sign(KEYS["a"]), None, lower)))
    assert net.ledgers["a"].accounts["line-b"].floor == -200
    raise_ = LineTerms(old.line_id, 3, old.a_id, "a", old.b_id, "b", 1, 1, -200, 900, -900, 200)
    with pytest.raises(LedgerRefusal) as err:
        net.append(
            "a", LineAgreement(SignedLine(raise_.encode(), raise_.sign(KEYS["a"]), None, raise_))
        )
    assert err.value.code == "line_unsigned"
