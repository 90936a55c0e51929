"""Three communities A, B, C as pure ledgers, with lines A–B and B–C, for rule tests."""

from __future__ import annotations

from letsnode.core.crypto import SigningKey
from letsnode.core.entries import Admit, Genesis
from letsnode.core.federation_bodies import LineAgreement
from letsnode.core.ledger import Ledger
from letsnode.core.lines import LineTerms, SignedLine

KEYS = {name: SigningKey(bytes([i + 20]) * 32) for i, name in enumerate("abc")}
MEMBERS = {"a": "maria", "b": "eleni", "c": "karim"}


class Net:
    def __init__(self, limit: int = 50_000) -> None:
        self.now = 1_800_000_000_000
        self.ledgers: dict[str, Ledger] = {}
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

    def open_line(self, a: str, b: str, limit: int, line_id: bytes) -> LineTerms:
        terms = LineTerms(
            line_id, 1, KEYS[a].public, a, KEYS[b].public, b, 1, 1, -limit, limit, -limit, limit
        )
        signed = SignedLine(terms.encode(), terms.sign(KEYS[a]), terms.sign(KEYS[b]), terms)
        self.append(a, LineAgreement(signed))
        self.append(b, LineAgreement(signed))
        return terms


def member_key(handle: str) -> SigningKey:
    return SigningKey(handle.encode().ljust(32, b"*")[:32])
