#!/usr/bin/env python3
"""Benchmark: the declared wire codec against the hand-written one it replaced.

The hand-written ``Order.decode``, ``Entry.create`` and ``Hold`` (construct, ``to_wire``,
pack, unpack, ``from_wire``) are kept below as they were, frozen; both run in the same
process, in alternating rounds, on the same values and the same ``codec.pack``/``unpack``.
Prints the per-call time of each, old and new, and the ratio new/old (the median of the
rounds); the last line printed is one JSON object with every figure.

    scripts/bench_wire.py [--rounds R] [--calls N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from letsnode.core.amounts import check_int64  # noqa: E402
from letsnode.core.crypto import DOMAIN_ENTRY, KEY_BYTES, SigningKey, blake2b256  # noqa: E402
from letsnode.core.errors import DecodeError, InvalidInput  # noqa: E402
from letsnode.core.names import MEMO_MAX, check_slug, check_text  # noqa: E402
from letsnode.core.wire import codec  # noqa: E402
from letsnode.core.wire.bodies import Hold  # noqa: E402
from letsnode.core.wire.codec import (  # noqa: E402
    Wire,
    expect_bytes,
    expect_int,
    expect_list,
    expect_str,
)
from letsnode.core.wire.entries import Entry, Order, Payment  # noqa: E402

# -- the hand-written codec, frozen -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class OldOrder:
    community_id: bytes
    payer: str
    payee: str
    amount: int
    nonce: int
    memo: str

    def __post_init__(self) -> None:
        if len(self.community_id) != KEY_BYTES:
            raise InvalidInput("order's community id must be 32 bytes")
        check_slug(self.payer, "payer")
        check_slug(self.payee, "payee")
        check_int64(self.amount, "amount")
        if self.amount <= 0:
            raise InvalidInput(f"amount must be greater than zero, got {self.amount}")
        check_int64(self.nonce, "nonce")
        if self.nonce <= 0:
            raise InvalidInput(f"nonce must be greater than zero, got {self.nonce}")
        if self.payer == self.payee:
            raise InvalidInput(f"{self.payer} cannot pay itself")
        check_text(self.memo, "memo", MEMO_MAX, allow_empty=True)

    @classmethod
    def decode(cls, data: bytes) -> OldOrder:
        f = expect_list(codec.unpack(data, 1024, "order"), 8, "order")
        if f[0] != "letsnode/order" or f[1] != 1:
            raise DecodeError(f"not a version 1 order: {f[0]!r} {f[1]!r}")
        order: OldOrder | None = None

        def build() -> None:
            nonlocal order
            order = cls(
                expect_bytes(f[2], "community id", KEY_BYTES),
                expect_str(f[3], "payer"),
                expect_str(f[4], "payee"),
                expect_int(f[5], "amount"),
                expect_int(f[6], "nonce"),
                expect_str(f[7], "memo"),
            )

        try:
            build()
        except InvalidInput as err:
            raise DecodeError(str(err)) from None
        assert order is not None
        return order


@dataclass(frozen=True, slots=True)
class OldHold:
    KIND: ClassVar[str] = "hold"
    transfer_id: bytes
    role: str
    debit: str
    credit: str
    amount: int
    condition: bytes
    expiry_ms: int
    evidence: bytes
    evidence_sig: bytes

    def __post_init__(self) -> None:
        if len(self.transfer_id) != 16:
            raise InvalidInput("a transfer id is 16 bytes")
        if self.role not in ("out", "in"):
            raise InvalidInput(f"role {self.role!r} is not one of ('out', 'in')")
        check_slug(self.debit, "debit account")
        check_slug(self.credit, "credit account")
        if self.debit == self.credit:
            raise InvalidInput("a hold moves money between two different accounts")
        check_int64(self.amount, "amount")
        if self.amount <= 0:
            raise InvalidInput("a hold's amount must be greater than zero")
        if len(self.condition) != 32:
            raise InvalidInput("a condition is 32 bytes")
        check_int64(self.expiry_ms, "expiry")
        if len(self.evidence) > 4096:
            raise InvalidInput("evidence is larger than 4096 bytes")
        if self.evidence and len(self.evidence_sig) != 64:
            raise InvalidInput("evidence needs a 64-byte signature")
        if not self.evidence and self.evidence_sig:
            raise InvalidInput("a signature without evidence")

    def to_wire(self) -> list[Wire]:
        return [
            self.KIND,
            self.transfer_id,
            self.role,
            self.debit,
            self.credit,
            self.amount,
            self.condition,
            self.expiry_ms,
            self.evidence,
            self.evidence_sig,
        ]

    @classmethod
    def from_wire(cls, f: list[Wire]) -> OldHold:
        expect_list(f, 10, "hold body")
        return cls(
            expect_bytes(f[1], "transfer id"),
            expect_str(f[2], "role"),
            expect_str(f[3], "debit"),
            expect_str(f[4], "credit"),
            expect_int(f[5], "amount"),
            expect_bytes(f[6], "condition"),
            expect_int(f[7], "expiry"),
            expect_bytes(f[8], "evidence"),
            expect_bytes(f[9], "evidence signature"),
        )


@dataclass(frozen=True, slots=True)
class OldEntry:
    seq: int
    prev: bytes
    timestamp_ms: int
    body: Payment
    data: bytes
    signature: bytes
    hash: bytes

    @classmethod
    def create(
        cls, key: SigningKey, seq: int, prev: bytes, timestamp_ms: int, body: Payment
    ) -> OldEntry:
        # The payment body's old to_wire: [KIND, signed.data, signed.signature].
        wire = [body.KIND, body.signed.data, body.signed.signature]
        data = codec.pack(["letsnode/entry", 1, seq, prev, timestamp_ms, wire])
        return cls(
            seq, prev, timestamp_ms, body, data, key.sign(DOMAIN_ENTRY, data), blake2b256(data)
        )


# -- the comparison ---------------------------------------------------------------------


def per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    node, maria = SigningKey(bytes([1]) * 32), SigningKey(bytes([2]) * 32)
    order = Order(node.public, "maria", "ahmed", 150, 7, "bread and tea")
    order_data = order.encode()
    payment = Payment(order.sign(maria))
    prev = bytes(range(32))
    hold = ("out", "maria", "line-tunis", 1234, bytes(32), 1_767_225_660_000)
    evidence = (order_data, bytes(64))
    tid = bytes(range(16))
    assert OldOrder.decode(order_data) == OldOrder(*order.to_wire()[2:])  # type: ignore[arg-type]
    assert OldEntry.create(node, 5, prev, 1000, payment).data == (
        Entry.create(node, 5, prev, 1000, payment).data
    )
    assert OldHold(tid, *hold, *evidence).to_wire() == Hold(tid, *hold, *evidence).to_wire()  # type: ignore[arg-type]

    def old_hold() -> object:
        wire = codec.unpack(codec.pack(OldHold(tid, *hold, *evidence).to_wire()))
        assert isinstance(wire, list)
        return OldHold.from_wire(wire)

    def new_hold() -> object:
        return Hold.from_wire(codec.unpack(codec.pack(Hold(tid, *hold, *evidence).to_wire())))  # type: ignore[arg-type]

    cases: dict[str, tuple[Callable[[], object], Callable[[], object], int]] = {
        "Order.decode": (
            lambda: OldOrder.decode(order_data),
            lambda: Order.decode(order_data),
            args.calls,
        ),
        "Entry.create": (
            lambda: OldEntry.create(node, 5, prev, 1000, payment),
            lambda: Entry.create(node, 5, prev, 1000, payment),
            max(1, args.calls // 10),
        ),
        "Hold round trip": (old_hold, new_hold, args.calls),
    }
    figures: dict[str, dict[str, float]] = {}
    for name, (old, new, calls) in cases.items():
        olds, news, ratios = [], [], []
        for _ in range(args.rounds):
            t_old, t_new = per_call(old, calls), per_call(new, calls)
            olds.append(t_old)
            news.append(t_new)
            ratios.append(t_new / t_old)
        figures[name] = {
            "old_us": round(statistics.median(olds) * 1e6, 3),
            "new_us": round(statistics.median(news) * 1e6, 3),
            "ratio": round(statistics.median(ratios), 3),
        }
        f = figures[name]
        print(f"{name:16} old {f['old_us']:8.2f} us  new {f['new_us']:8.2f} us  ratio {f['ratio']}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
