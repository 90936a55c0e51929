"""``Node``: a community's ledger as the running node serves it to the web and the
federation.

Every ledger change goes through its async methods (``admit``, ``pay``, ``set_limits``,
``set_status``, ``submit``), each returning once its entry is durable, and each accepted
entry is announced on ``events`` (the wallet's live updates). ``run_node``
(``letsnode.node.run``) gives the node a ``LedgerWriter`` (``letsnode.node.ingest``:
signatures checked on a pool, group commit); a Node without one (tests, CLI tools)
writes through ``Community`` one entry at a time.

A Node is the web's ``NodePort`` (``letsnode.web.port``) and the federation's
``LedgerPort`` (``letsnode.federation.port``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from letsnode.community.folder import DB_NAME, Community, now_ms
from letsnode.core.crypto import SigningKey
from letsnode.core.rules.accounts import check_order
from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import Account
from letsnode.core.wire.bodies import Release, Settle
from letsnode.core.wire.entries import (
    AccountStatus,
    Admit,
    Body,
    Entry,
    Genesis,
    Limits,
    Order,
    Payment,
    SignedOrder,
)
from letsnode.core.wire.entries import Status as StatusBody
from letsnode.node.events import Broadcast, entry_event
from letsnode.node.joins import Joins
from letsnode.node.sessions import Sessions
from letsnode.store.clearing_store import ClearingStore
from letsnode.store.db import connect
from letsnode.store.ledger_store import LedgerStore, Leg, PaymentRow
from letsnode.store.web_store import WebStore

if TYPE_CHECKING:
    from letsnode.federation.service import Federation
    from letsnode.node.ingest import LedgerWriter


class Node:
    """A running community node. Build with ``Node.open(data)``; ``close`` when done."""

    def __init__(self, community: Community, web: WebStore) -> None:
        self.community = community
        self.web = web
        self.events = Broadcast()
        self.writer: LedgerWriter | None = None
        self.federation: Federation | None = None
        self._write_lock = trio.Lock()
        self.clock: Callable[[], int] = now_ms
        # Reads of the log for the web, on the web tables' connection: the community's
        # connection belongs to the ledger writer's worker thread.
        self._reads = LedgerStore(web.db)
        self.sessions = Sessions(
            self.community_id, lambda: self.community.ledger, web, lambda: self.clock()
        )
        self.joins = Joins(
            self.sessions,
            lambda: self.community.ledger,
            web,
            self.events,
            lambda handle, key: self.admit(handle, key),
            lambda: self.clock(),
        )

    @classmethod
    def open(cls, data: Path, *, durable: bool = True) -> Node:
        """Open the node of the data folder ``data``; ``durable=False`` for simulations
        (``store.db.connect``)."""
        community = Community.open(data, durable=durable)
        try:
            web = WebStore(connect(data / DB_NAME, durable=durable))
        except BaseException:
            community.close()
            raise
        return cls(community, web)

    def close(self) -> None:
        self.web.close()
        self.community.close()

    @property
    def data(self) -> Path:
        return self.community.path

    @property
    def community_id(self) -> bytes:
        return self.community.genesis.community_id

    @property
    def genesis(self) -> Genesis:
        return self.community.genesis

    # -- ledger writes: the only way the web changes the ledger -------------------------
    #
    # With a LedgerWriter (``run_node`` opens one: group commit, signatures checked on a
    # pool) entries go through it; without one (tests, tools) through Community directly,
    # one at a time behind a lock.

    async def _commit(self, body: Body, direct: Callable[[], Entry]) -> Entry:
        legs: tuple[str, ...] = ()
        if isinstance(body, Settle | Release):
            hold = self.community.ledger.holds.get((body.transfer_id, body.role))
            legs = (hold.debit, hold.credit) if hold is not None else ()
        if self.writer is not None:
            entry = await self.writer.submit(body)
        else:
            async with self._write_lock:
                entry = direct()
        self.events.publish(entry_event(entry, legs))
        return entry

    async def admit(
        self, handle: str, key: bytes, *, floor: int | None = None, ceiling: int | None = None
    ) -> Entry:
        g = self.community.genesis
        body = Admit(
            handle,
            key,
            "member",
            g.floor if floor is None else floor,
            g.ceiling if ceiling is None else ceiling,
        )
        c = self.community
        return await self._commit(
            body, lambda: c.admit(handle, key=key, floor=floor, ceiling=ceiling)
        )

    async def pay(self, signed: SignedOrder) -> Entry:
        return await self._commit(Payment(signed), lambda: self.community.pay(signed))

    async def submit(self, body: Body) -> Entry:
        """Any node-authored body (lines, legs of transfers): the federation's write path."""
        return await self._commit(body, lambda: self.community.commit(body))

    async def set_limits(self, handle: str, floor: int, ceiling: int | None) -> Entry:
        body = Limits(handle, floor, ceiling)
        return await self._commit(body, lambda: self.community.set_limits(handle, floor, ceiling))

    async def set_status(self, handle: str, status: AccountStatus) -> Entry:
        body = StatusBody(handle, status)
        return await self._commit(body, lambda: self.community.set_status(handle, status))

    # -- the LedgerPort the federation reads through ------------------------------------

    @property
    def ledger(self) -> Ledger:
        return self.community.ledger

    @property
    def store(self) -> LedgerStore:
        return self.community.store

    @property
    def key(self) -> SigningKey:
        return self.community.key

    # -- ledger reads --------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        return self.community.accounts()

    def account(self, handle: str) -> Account:
        return self.community.account(handle)

    def next_nonce(self, handle: str) -> int:
        return self.community.account(handle).last_nonce + 1

    def history(self, handle: str | None = None, limit: int | None = None) -> list[PaymentRow]:
        return self.community.history(handle, limit)

    def legs(self, handle: str, limit: int) -> list[Leg]:
        return self._reads.legs(handle, limit)

    def entry(self, seq: int) -> Entry | None:
        return self._reads.entries_at({seq}).get(seq)

    def check_payment(self, payer: str, payee: str, amount: int) -> None:
        """Raise the refusal the ledger would give a payment of ``amount`` from ``payer`` to
        ``payee`` now (its next order), or return: the rules of ``check_order`` itself."""
        nonce = self.community.account(payer).last_nonce + 1
        order = Order(self.community_id, payer, payee, amount, nonce, "")
        check_order(self.community.ledger, order)

    def clearing_store(self) -> ClearingStore:
        """Clearing rounds and policy, read and set on the web tables' connection: it is used
        only on the node's trio thread (the community's belongs to the ledger writer's worker
        thread); the federation's clearing desk has a connection of its own."""
        return ClearingStore(self.web.conn)
