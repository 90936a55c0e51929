"""What the web layer needs from the node: the one interface its routes call.

The running node (``letsnode.node.facade.Node``) implements ``NodePort``; the web never
imports the node, its store or SQL, so the routes can be read (and tested) against this
page alone. Everything that changes the ledger goes through the node's async methods,
which return once the entry is durable; reads are of the node's in-memory state.

``web`` is the web's own tables (sessions, invites, join requests, stewards, the
directory of offers and wants, language preferences, names of the unit): never ledger
state, and never seen by an audit.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import trio

from letsnode.core.rules.state import Account
from letsnode.core.wire.entries import AccountStatus, Entry, Genesis, SignedOrder
from letsnode.store.clearing_store import ClearingStore
from letsnode.store.ledger_store import Leg, PaymentRow
from letsnode.store.web_store import JoinRequest, WebStore

if TYPE_CHECKING:
    from letsnode.federation.service import Federation

SESSION_SECONDS = 12 * 3600
NODE_HANDLE = "@node"  # the session holder name of the node key itself (always a steward)

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a session belongs to: a member account, or the node key (``NODE_HANDLE``)."""

    handle: str
    key: bytes
    steward: bool


@dataclass(frozen=True, slots=True)
class Joined:
    status: Literal["admitted", "pending"]
    handle: str
    request_id: int | None = None


class EventSource(Protocol):
    def subscribe(
        self, handle: str | None = None
    ) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[Event]]:
        """Live events naming ``handle`` (with None, every event) while the context lasts."""
        ...


class SessionsPort(Protocol):
    """Signing in with a key (``letsnode.node.sessions``)."""

    def new_challenge(self, key: bytes) -> bytes: ...

    def open_session(
        self, key: bytes, challenge: bytes, signature: bytes
    ) -> tuple[str, Principal]: ...

    def session(self, token: str) -> Principal: ...

    def close_session(self, token: str) -> None: ...


class JoinsPort(Protocol):
    """Invites, join requests and stewards (``letsnode.node.joins``)."""

    def create_invite(self, uses: int = 1, hours: float = 72, *, steward: bool = False) -> str: ...

    async def join(
        self,
        handle: str,
        key: bytes,
        challenge: bytes,
        signature: bytes,
        invite: str | None = None,
    ) -> Joined: ...

    def join_requests(self) -> list[JoinRequest]: ...

    async def approve(self, request_id: int, by: str) -> Entry: ...

    def reject(self, request_id: int, by: str) -> None: ...


class NodePort(Protocol):
    """The node as the web sees it. Errors are ``LetsError``s with a stable ``code``."""

    clock: Callable[[], int]  # milliseconds since the epoch
    web: WebStore

    @property
    def sessions(self) -> SessionsPort: ...

    @property
    def joins(self) -> JoinsPort: ...

    @property
    def community_id(self) -> bytes: ...

    @property
    def genesis(self) -> Genesis: ...

    @property
    def data(self) -> Path:
        """The data folder (for audits run from the stewards' pages)."""
        ...

    @property
    def events(self) -> EventSource: ...

    @property
    def federation(self) -> Federation | None:
        """The federation when the node runs with one (payments to other communities)."""
        ...

    # -- the ledger ------------------------------------------------------------------------

    def accounts(self) -> list[Account]: ...

    def account(self, handle: str) -> Account: ...

    def next_nonce(self, handle: str) -> int: ...

    def history(self, handle: str | None = None, limit: int | None = None) -> list[PaymentRow]: ...

    def legs(self, handle: str, limit: int) -> list[Leg]:
        """The legs of cross-community transfers that debit or credit ``handle``."""
        ...

    def entry(self, seq: int) -> Entry | None:
        """The log entry at ``seq`` (decoded), if there is one."""
        ...

    def check_payment(self, payer: str, payee: str, amount: int) -> None:
        """Raise the ``LedgerRefusal`` a payment of ``amount`` would meet now, or return."""
        ...

    async def pay(self, signed: SignedOrder) -> Entry: ...

    async def set_limits(self, handle: str, floor: int, ceiling: int | None) -> Entry: ...

    async def set_status(self, handle: str, status: AccountStatus) -> Entry: ...

    # -- clearing rounds ---------------------------------------------------------------------

    def clearing_store(self) -> ClearingStore: ...
