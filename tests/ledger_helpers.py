"""Small builders for ledger tests: a node key, member keys, a fresh community."""

from __future__ import annotations

from letsnode.core.crypto import SigningKey
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.entries import Admit, Genesis, Order, Payment

NODE = SigningKey(bytes([7]) * 32)
CID = NODE.public


def member_key(handle: str) -> SigningKey:
    return SigningKey(handle.encode().ljust(32, b"#")[:32])


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        self.now += 1000
        return self.now


def new_ledger(
    handles=("maria", "ahmed"), floor=-2000, ceiling=4000, records=None
) -> tuple[Ledger, Clock]:
    """A ledger with a genesis and one account per handle; ``records`` collects the log."""
    ledger, clock = Ledger(), Clock()
    bodies = [Genesis(CID, "Test Bank", "test", "HOUR", 2, floor, ceiling)]
    bodies += [Admit(h, member_key(h).public, "member", floor, ceiling) for h in handles]
    for body in bodies:
        entry = ledger.append(NODE, clock(), body)
        if records is not None:
            records.append((entry.data, entry.signature))
    return ledger, clock


def payment(
    ledger: Ledger,
    payer: str,
    payee: str,
    amount: int,
    nonce: int | None = None,
    memo: str = "",
    key: SigningKey | None = None,
) -> Payment:
    if nonce is None:
        nonce = ledger.accounts[payer].last_nonce + 1
    order = Order(CID, payer, payee, amount, nonce, memo)
    return Payment(order.sign(key or member_key(payer)))
