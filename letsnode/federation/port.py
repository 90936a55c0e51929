"""What the federation's desks need from the node: the ledger to read and one way to write
it (``LedgerPort``), and the tables each keeps beside the log.

The node's ``FederationStore`` and ``ClearingStore`` are the SQLite implementations; tests
may give a desk anything with these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from letsnode.core.crypto import SigningKey
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.entries import Body, Entry
from letsnode.store.clearing_store import RoundRow
from letsnode.store.federation_store import Proposal


class LedgerPort(Protocol):
    @property
    def ledger(self) -> Ledger:
        """The ledger as applied: it may show an entry a moment before it is durable."""
        ...

    @property
    def key(self) -> SigningKey: ...

    clock: Callable[[], int]

    async def submit(self, body: Body) -> Entry:
        """Apply ``body`` as the next entry and return once it is durable (raises LetsError,
        changing nothing, if the rules refuse it)."""
        ...


class TransferRecords(Protocol):
    """The transfer desk's tables: the prepares it sent (the outbox, written before the hold
    that commits to them) and the stored rows of legs, durable, pending or ended."""

    def save_outgoing(
        self, transfer_id: bytes, peer: bytes, prepare: bytes, sig: bytes, expiry_ms: int
    ) -> None: ...

    def outgoing(self, transfer_id: bytes) -> tuple[bytes, bytes, bytes] | None:
        """``(peer, prepare, signature)`` of the prepare we sent for ``transfer_id``."""
        ...

    def hold_row(self, transfer_id: bytes, role: str) -> Mapping[str, object] | None:
        """The stored leg: at least ``state``, ``revealed`` and ``preimage``."""
        ...


class LineRecords(Protocol):
    """The line desk's table: line proposals, ours and our partners'."""

    def save_proposal(self, p: Proposal) -> None: ...

    def proposals(self) -> list[Proposal]: ...

    def proposal(self, pid: str) -> Proposal | None: ...


class RoundRecords(Protocol):
    """The clearing desk's table: the rounds it coordinated or voted in, and its policy."""

    def save(self, row: RoundRow) -> None: ...

    def get(self, nonce: bytes) -> RoundRow | None: ...

    def in_state(self, state: str, role: str) -> list[RoundRow]: ...

    def policy(self) -> str: ...


class PeerRecords(Protocol):
    """The addresses of peers a node remembers across restarts (``federation/peers.py``)."""

    def remember_peer(self, community_id: bytes, addrs: list[str], now_ms: int) -> None: ...

    def known_peers(
        self, only: Collection[bytes] | None = None
    ) -> list[tuple[bytes, list[str]]]: ...

    def forget_strangers(self, keep: Collection[bytes], limit: int) -> None:
        """Keep the rows of ``keep`` and at most ``limit`` others, the most recently seen."""
        ...

    def proposals(self) -> list[Proposal]: ...
