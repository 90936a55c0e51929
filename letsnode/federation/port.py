"""What the federation needs from the node: the ledger to read, and one way to write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from letsnode.core.crypto import SigningKey
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.entries import Body, Entry
from letsnode.store.ledger_store import LedgerStore


class LedgerPort(Protocol):
    @property
    def ledger(self) -> Ledger: ...

    @property
    def store(self) -> LedgerStore: ...

    @property
    def key(self) -> SigningKey: ...

    clock: Callable[[], int]

    async def submit(self, body: Body) -> Entry:
        """Apply ``body`` as the next entry and return once it is durable (raises LetsError,
        changing nothing, if the rules refuse it)."""
        ...
