"""Three communities A, B, C as pure ledgers, with lines A–B and B–C, for rule tests.

``ring()`` adds a line C–A, closing the cycle for clearing rounds; ``transfer`` moves money
over one line with every hold, reveal and settle logged on both sides.
"""

from __future__ import annotations

import itertools

from letsnode.core.crypto import SigningKey
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.bodies import Hold, LineAgreement, Reveal, Settle
from letsnode.core.wire.entries import Admit, Genesis
from letsnode.core.wire.lines import LineTerms, SignedLine
from letsnode.core.wire.transfers import (
    Decision,
    Invoice,
    Prepare,
    RemoteOrder,
    condition_of,
    preimage_for,
)

KEYS = {name: SigningKey(bytes([i + 20]) * 32) for i, name in enumerate("abc")}
MEMBERS = {"a": "maria", "b": "eleni", "c": "karim"}


class Net:
    def __init__(self, limit: int = 50_000) -> None:
        self.now = 1_800_000_000_000
        self.ledgers: dict[str, Ledger] = {}
        self.tids = itertools.count(1)
        for name, key in KEYS.items():
            ledger = Ledger()
            self.ledgers[name] = ledger
            self.append(name, Genesis(key.public, f"Bank {name}", name, "HOUR", 2, -10_000, 10_000))
            member = MEMBERS[name]
            self.append(name, Admit(member, member_key(member).public, "member", -10_000, 10_000))
        self.lines = {
            "ab": self.open_line("a", "b", limit, bytes([1]) * 16),
            "bc": self.open_line("b", "c", limit, bytes([2]) * 16),
        }

    def append(self, name: str, body):
        self.now += 10
        return self.ledgers[name].append(KEYS[name], self.now, body)

    def open_line(
        self, a: str, b: str, limit: int, line_id: bytes, rate: tuple[int, int] = (1, 1)
    ) -> LineTerms:
        terms = LineTerms(
            line_id, 1, KEYS[a].public, a, KEYS[b].public, b, *rate, -limit, limit, -limit, limit
        )
        signed = SignedLine(terms.encode(), terms.sign(KEYS[a]), terms.sign(KEYS[b]), terms)
        self.append(a, LineAgreement(signed))
        self.append(b, LineAgreement(signed))
        return terms

    def line(self, x: str, y: str) -> LineTerms:
        """The line between ``x`` and ``y``, whichever side opened it."""
        return self.lines.get(x + y) or self.lines[y + x]


def member_key(handle: str) -> SigningKey:
    return SigningKey(handle.encode().ljust(32, b"*")[:32])


def ring(limit: int = 50_000, ca_rate: tuple[int, int] = (1, 1)) -> Net:
    """A, B and C with lines A–B, B–C and C–A (the last at ``ca_rate``)."""
    net = Net(limit)
    net.lines["ca"] = net.open_line("c", "a", limit, bytes([3]) * 16, ca_rate)
    return net


def next_tid(net: Net) -> bytes:
    return next(net.tids).to_bytes(16, "big")


def hold_out(net: Net, x: str, y: str, amount: int, tid: bytes | None = None) -> bytes:
    """Only ``x``'s side: its member's order to pay ``y``'s member, held on line x–y."""
    tid = tid or next_tid(net)
    payer, payee = MEMBERS[x], MEMBERS[y]
    nonce = net.ledgers[x].accounts[payer].last_nonce + 1
    order = RemoteOrder(KEYS[x].public, payer, KEYS[y].public, payee, amount, nonce, "")
    condition = condition_of(preimage_for(KEYS[y].seed, tid))
    evidence = order.sign(member_key(payer))
    expiry = net.now + 60_000
    net.append(x, Hold(tid, "out", payer, f"line-{y}", amount, condition, expiry, *evidence))
    return tid


def hold_in(net: Net, x: str, y: str, amount: int, tid: bytes | None = None) -> bytes:
    """Only ``y``'s side: the incoming leg of ``x``'s prepare, held on line x–y."""
    tid = tid or next_tid(net)
    preimage = preimage_for(KEYS[y].seed, tid)
    invoice = Invoice(tid, KEYS[y].public, MEMBERS[y], condition_of(preimage))
    expiry = net.now + 60_000
    prepare = Prepare(
        tid,
        0,
        net.line(x, y).line_id,
        amount,
        invoice.condition,
        expiry,
        (),
        f"{MEMBERS[x]}@{x}",
        "",
        *invoice.sign(KEYS[y]),
    )
    evidence = prepare.sign(KEYS[x])
    net.append(
        y, Hold(tid, "in", f"line-{x}", MEMBERS[y], amount, invoice.condition, expiry, *evidence)
    )
    return tid


def transfer(net: Net, x: str, y: str, amount: int, received: int | None = None) -> None:
    """``x``'s member pays ``y``'s member over the line x–y: both legs logged and settled.

    Afterwards ``x``'s mirror of ``y`` is ``amount`` higher (x owes y more) and ``y``'s
    mirror of ``x`` is ``received`` (in y's units; ``amount`` at par) lower, as after any
    fulfilled payment.
    """
    tid = hold_out(net, x, y, amount)
    hold_in(net, x, y, amount if received is None else received, tid)
    preimage = preimage_for(KEYS[y].seed, tid)
    net.append(y, Reveal(tid, preimage))
    net.append(x, Settle(tid, "out", preimage, b"", b""))
    decision = Decision(tid, 0, "fulfilled", preimage).sign(KEYS[x])
    net.append(y, Settle(tid, "in", preimage, *decision))
