"""A community's node as a library: its data folder, keys, ledger and store together.

This is the single writer of a data folder: every change goes through ``Community``, which
builds the entry with the pure core, applies it, and commits it durably before returning.
Layout of a data folder::

    D/ledger.db        SQLite (WAL): the log and the state derived from it
    D/node.key         the node's Ed25519 seed (mode 600): signs entries, names the community
    D/keys/HANDLE.key  seeds of members whose keys this node created (mode 600)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from letsnode.community.keystore import read_key, write_key, write_new_key
from letsnode.core.amounts import format_amount
from letsnode.core.crypto import KEY_BYTES, SigningKey
from letsnode.core.errors import InvalidInput, LetsError
from letsnode.core.names import check_slug
from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import Account
from letsnode.core.wire.entries import (
    AccountKind,
    AccountStatus,
    Admit,
    Body,
    Entry,
    Genesis,
    Limits,
    Order,
    Payment,
    SignedOrder,
    Status,
)
from letsnode.store.db import connect
from letsnode.store.ledger_store import LedgerStore, PaymentRow

DB_NAME = "ledger.db"
NODE_KEY = "node.key"


class NotInitialised(LetsError):
    code = "not_initialised"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Community:
    """An open data folder. Use ``Community.open`` / ``Community.create`` and ``close``."""

    def __init__(self, path: Path, store: LedgerStore, ledger: Ledger, key: SigningKey) -> None:
        self.path = path
        self.store = store
        self.ledger = ledger
        self.key = key
        self.clock: Callable[[], int] = now_ms  # milliseconds; tests may drive it

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        name: str,
        short: str,
        unit: str,
        scale: int,
        floor: int,
        ceiling: int | None,
        key: SigningKey | None = None,
        durable: bool = True,
        clock: Callable[[], int] | None = None,
    ) -> Community:
        """Make a new community in ``path`` (which must not hold one) and log its genesis.

        The node key is fresh unless ``key`` is given (a simulation derives its nodes' keys
        from its seed); ``durable=False`` skips the fsyncs (``store.db.connect``); ``clock``
        dates the genesis and later entries (default: the system's, ``now_ms``)."""
        if (path / DB_NAME).exists() or (path / NODE_KEY).exists():
            raise InvalidInput(f"{path} already holds a community; choose another --data folder")
        Genesis(bytes(KEY_BYTES), name, short, unit, scale, floor, ceiling)  # validate first
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = write_new_key(path / NODE_KEY) if key is None else write_key(path / NODE_KEY, key)
        store = LedgerStore(connect(path / DB_NAME, durable=durable))
        community = cls(path, store, Ledger(), key)
        if clock is not None:
            community.clock = clock
        community.commit(Genesis(key.public, name, short, unit, scale, floor, ceiling))
        return community

    @classmethod
    def open(cls, path: Path, *, durable: bool = True) -> Community:
        if not (path / DB_NAME).exists():
            raise NotInitialised(f"{path} holds no community: run 'letsnode --data {path} init'")
        store = LedgerStore(connect(path / DB_NAME, durable=durable))
        ledger = store.load()
        if ledger is None:
            raise NotInitialised(f"{path} holds an empty ledger: run 'letsnode init' again")
        key = read_key(path / NODE_KEY)
        if key.public != ledger.community.community_id:
            raise InvalidInput(f"{path / NODE_KEY} is not the key of this community's node")
        return cls(path, store, ledger, key)

    def close(self) -> None:
        self.store.conn.close()

    @classmethod
    @contextmanager
    def opened(cls, path: Path) -> Iterator[Community]:
        community = cls.open(path)
        try:
            yield community
        finally:
            community.close()

    # -- reading ---------------------------------------------------------------------

    @property
    def genesis(self) -> Genesis:
        return self.ledger.community

    def fmt(self, minor: int) -> str:
        return format_amount(minor, self.genesis.scale)

    def accounts(self) -> list[Account]:
        return sorted(self.ledger.accounts.values(), key=lambda a: a.handle)

    def account(self, handle: str) -> Account:
        return self.ledger.account(handle)

    def history(self, handle: str | None = None, limit: int | None = None) -> list[PaymentRow]:
        if handle is not None:
            self.ledger.account(handle)
        return self.store.history(handle, limit)

    def member_key_path(self, handle: str) -> Path:
        return self.path / "keys" / f"{check_slug(handle)}.key"

    # -- changes -----------------------------------------------------------------------

    def commit(self, body: Body) -> Entry:
        """Apply ``body`` as the next entry and write it durably; the single write path."""
        entry = self.ledger.append(self.key, self.clock(), body)
        try:
            self.store.commit([entry], self.ledger)
        except BaseException:
            # The write failed: the in-memory state is ahead of the disk, so reload it.
            self.ledger = self.store.load() or Ledger()
            raise
        return entry

    def admit(
        self,
        handle: str,
        *,
        key: bytes | None = None,
        kind: AccountKind = "member",
        floor: int | None = None,
        ceiling: int | None = None,
        default_ceiling: bool = True,
    ) -> Entry:
        """Open an account. Without ``key`` a key pair is created in D/keys (mode 600)."""
        check_slug(handle)
        if handle in self.ledger.accounts:
            raise InvalidInput(f"the handle {handle} is already taken")
        floor = self.genesis.floor if floor is None else floor
        if ceiling is None and default_ceiling:
            ceiling = self.genesis.ceiling
        if key is not None:
            return self.commit(Admit(handle, key, kind, floor, ceiling))
        Admit(handle, bytes(KEY_BYTES), kind, floor, ceiling)  # validate before writing
        path = self.member_key_path(handle)
        created = write_new_key(path)
        try:
            return self.commit(Admit(handle, created.public, kind, floor, ceiling))
        except BaseException:
            path.unlink(missing_ok=True)  # no account, so no key either
            raise

    def set_limits(self, handle: str, floor: int, ceiling: int | None) -> Entry:
        return self.commit(Limits(handle, floor, ceiling))

    def set_status(self, handle: str, status: AccountStatus) -> Entry:
        return self.commit(Status(handle, status))

    def member_key(self, handle: str) -> SigningKey:
        """The key of a member this node created (kept in D/keys)."""
        account = self.ledger.account(handle)
        path = self.member_key_path(handle)
        if not path.exists():
            raise InvalidInput(
                f"this node holds no key for {handle} ({path}): the member signs their own orders"
            )
        key = read_key(path)
        if key.public != account.key:
            raise InvalidInput(f"{path} is not the key of account {handle}")
        return key

    def sign_order(
        self, payer: str, payee: str, amount: int, memo: str = "", nonce: int | None = None
    ) -> SignedOrder:
        """Sign an order with a member key this node holds (members it created)."""
        key = self.member_key(payer)
        if nonce is None:
            nonce = self.ledger.account(payer).last_nonce + 1
        return Order(self.genesis.community_id, payer, payee, amount, nonce, memo).sign(key)

    def reload(self) -> None:
        """Read the state again from the store (after the running node changed it)."""
        ledger = self.store.load()
        assert ledger is not None
        self.ledger = ledger

    def pay(self, signed: SignedOrder) -> Entry:
        """Record a payment from a signed order; returns once it is durable."""
        return self.commit(Payment(signed))
