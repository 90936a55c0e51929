"""Members' payments as their wallets would make them, and what became of each.

``Payments`` signs each order with the member's own key (the wallet's part), hands it to
the member's node (``Node.pay`` for a payment at home, ``TransferDesk.pay`` for one to
another community: the same calls the web API makes) and records the outcome in the day's
counters of the day it ends: ``ok``, or the code of the refusal (``below_floor``,
``no_route``, ``expired``, ``node_down``...). Cross-community latency is measured on trio's
clock: simulated seconds on the memory network, real ones on libp2p.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import trio

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import LetsError
from letsnode.core.wire.entries import Order
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.federation.service import Federation
from letsnode.node.facade import Node
from letsnode.sim.metrics import Day
from letsnode.sim.nodes import SimNode

OK = "ok"


@dataclass(frozen=True, slots=True)
class Record:
    """One payment, as the run log of a test or a validation keeps it."""

    time_s: float  # scenario seconds at the start
    kind: str  # local, cross, benefit
    payer_community: str
    payer: str
    payee_community: str
    payee: str
    amount: int
    outcome: str  # "ok" or a refusal's code


class Payments:
    def __init__(
        self,
        nodes: list[SimNode],
        keys: list[dict[str, SigningKey]],
        day_of: Callable[[int], Day],
        now_s: Callable[[], float],
        record: bool,
    ) -> None:
        self.nodes = nodes
        self.keys = keys
        self.day_of = day_of  # today's counters of community i
        self.now_s = now_s
        self.records: list[Record] | None = [] if record else None
        self.nonces: list[dict[str, int]] = [{} for _ in nodes]
        self.failures: Counter[str] = Counter()  # every refusal of a member's payment, by code
        self.failures_of: list[Counter[str]] = [Counter() for _ in nodes]  # the same, by payer
        self.latencies: list[float] = []
        self.count = 0  # payments ended, of every kind
        self.in_flight = 0

    def _nonce(self, i: int, handle: str, ledger_last: int) -> int:
        """The payer's next nonce, as a wallet keeps it (above the ledger's last one)."""
        nonce = max(self.nonces[i].get(handle, 0), ledger_last) + 1
        self.nonces[i][handle] = nonce
        return nonce

    def _log(
        self, kind: str, i: int, payer: str, j: int, payee: str, amount: int, outcome: str, t: float
    ) -> None:
        self.count += 1
        if outcome != OK and kind != "benefit":
            self.failures[outcome] += 1
            self.failures_of[i][outcome] += 1
        if self.records is not None:
            shorts = self.nodes[i].spec.short, self.nodes[j].spec.short
            self.records.append(
                Record(t, kind, shorts[0], payer, shorts[1], payee, amount, outcome)
            )

    async def local(
        self, i: int, payer: str, payee: str, amount: int, benefit: bool = False
    ) -> str:
        """``payer`` pays ``payee`` in community ``i``; returns ``ok`` or the refusal code."""
        sim, t = self.nodes[i], self.now_s()
        key = self.keys[i][payer]

        async def pay(node: Node, _: Federation) -> None:
            community = node.community
            nonce = self._nonce(i, payer, community.account(payer).last_nonce)
            order = Order(community.genesis.community_id, payer, payee, amount, nonce, "")
            await node.pay(order.sign(key))

        try:
            await sim.call(pay)
            outcome = OK
        except LetsError as err:
            outcome = err.code
        day = self.day_of(i)  # counted on the day it ends
        if benefit:
            if outcome == OK:
                day.benefits += 1
                day.benefits_volume += amount
            else:
                day.benefits_refused += 1
            self._log("benefit", i, payer, i, payee, amount, outcome, t)
            return outcome
        day.payments += 1
        day.local_payments += 1
        if outcome == OK:
            day.succeeded += 1
            day.local_succeeded += 1
            day.volume_local += amount
        else:
            day.failures[outcome] += 1
        self._log("local", i, payer, i, payee, amount, outcome, t)
        return outcome

    async def cross(self, i: int, payer: str, j: int, payee: str, amount: int) -> str:
        """``payer`` of community ``i`` pays ``payee`` of community ``j`` over the lines."""
        sim, t, started = self.nodes[i], self.now_s(), trio.current_time()
        key = self.keys[i][payer]
        payee_id = self.nodes[j].id
        delivered = 0

        async def pay(node: Node, federation: Federation) -> tuple[str, int]:
            community = node.community
            nonce = self._nonce(i, payer, community.account(payer).last_nonce)
            order = RemoteOrder(
                community.genesis.community_id, payer, payee_id, payee, amount, nonce, ""
            )
            data, sig = order.sign(key)
            end = await federation.transfers.pay(data, sig)
            if end.state == "fulfilled":
                return OK, end.delivered
            return (end.code or end.state), 0

        self.in_flight += 1
        try:
            outcome, delivered = await sim.call(pay)
        except LetsError as err:
            outcome = err.code
        finally:
            self.in_flight -= 1
        day = self.day_of(i)  # counted on the day it ends
        day.payments += 1
        day.cross_payments += 1
        if outcome == OK:
            day.succeeded += 1
            day.cross_succeeded += 1
            day.volume_cross_out += amount
            self.day_of(j).volume_cross_in += delivered
            latency = trio.current_time() - started
            day.latencies.append(latency)
            self.latencies.append(latency)
        else:
            day.failures[outcome] += 1
        self._log("cross", i, payer, j, payee, amount, outcome, t)
        return outcome
