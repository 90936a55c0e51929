"""The state a community's log builds, entry by entry: accounts, pending holds, credit
lines, ended transfers and applied rounds, and the head of the chain.

``LedgerState`` holds the values and the small helpers every rule module shares (find an
account, format an amount, open an account); ``Ledger`` (``rules/ledger.py``) adds the one
way the state changes, ``apply(entry)``. The rule modules take a ``LedgerState``, so none
of them imports the ledger that dispatches to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Self

from letsnode.core.amounts import INT64_MIN, format_amount
from letsnode.core.errors import LedgerRefusal, LocalProtocolError
from letsnode.core.wire.bodies import Role
from letsnode.core.wire.entries import GENESIS_PREV, AccountKind, AccountStatus, Genesis
from letsnode.core.wire.lines import LINE_PREFIX, TRANSIT, LineTerms

TRANSIT_KEY = bytes(32)
TRANSIT_FLOOR = INT64_MIN // 2


def refusal(code: str, message: str) -> LedgerRefusal:
    return LedgerRefusal(message, code=code)


@dataclass(slots=True)
class Account:
    handle: str
    key: bytes
    kind: AccountKind
    floor: int
    ceiling: int | None
    status: AccountStatus = "active"
    balance: int = 0
    last_nonce: int = 0
    held_out: int = 0
    held_in: int = 0

    def copy(self) -> Account:
        return replace(self)


@dataclass(slots=True)
class HoldState:
    """A pending leg: what is held, on which accounts, until when."""

    transfer_id: bytes
    role: Role
    debit: str
    credit: str
    amount: int
    condition: bytes
    expiry_ms: int
    revealed: bool = False

    @property
    def key(self) -> tuple[bytes, Role]:
        return (self.transfer_id, self.role)


@dataclass(slots=True)
class LineState:
    terms: LineTerms
    handle: str
    partner: bytes


def is_system_account(account: Account) -> bool:
    return account.kind == "line" or account.handle == TRANSIT


def line_prefix_reserved(handle: str) -> bool:
    return handle.startswith(LINE_PREFIX) or handle == TRANSIT


class LedgerState:
    """A community's ledger state; see ``Ledger`` for how it changes."""

    def __init__(self) -> None:
        self.genesis: Genesis | None = None
        self.accounts: dict[str, Account] = {}
        self.keys: dict[bytes, str] = {}
        self.holds: dict[tuple[bytes, Role], HoldState] = {}
        self.lines: dict[bytes, LineState] = {}
        self.finished: set[bytes] = set()
        self.next_seq = 0
        self.head = GENESIS_PREV
        self.last_timestamp_ms = 0

    @classmethod
    def from_snapshot(
        cls,
        genesis: Genesis,
        accounts: Iterable[Account],
        next_seq: int,
        head: bytes,
        last_timestamp_ms: int,
        holds: Iterable[HoldState] = (),
        lines: Iterable[LineState] = (),
        finished: Iterable[bytes] = (),
    ) -> Self:
        """Rebuild state from stored values (the store's audit proves them against the log)."""
        ledger = cls()
        ledger.genesis = genesis
        for account in accounts:
            ledger.accounts[account.handle] = account
            ledger.keys[account.key] = account.handle
        ledger.holds = {hold.key: hold for hold in holds}
        ledger.lines = {line.terms.line_id: line for line in lines}
        ledger.finished = set(finished)
        ledger.next_seq = next_seq
        ledger.head = head
        ledger.last_timestamp_ms = last_timestamp_ms
        return ledger

    @property
    def community(self) -> Genesis:
        if self.genesis is None:
            raise LocalProtocolError("the ledger has no genesis entry yet")
        return self.genesis

    def account(self, handle: str) -> Account:
        account = self.accounts.get(handle)
        if account is None:
            raise refusal("unknown_account", f"there is no account {handle!r} in this community")
        return account

    def total(self) -> int:
        return sum(a.balance for a in self.accounts.values())

    def fmt(self, minor: int) -> str:
        return f"{format_amount(minor, self.community.scale)} {self.community.unit}"

    def holds_text(self, held: int, word: str) -> str:
        return f" {word} pending {self.fmt(held)}" if held else ""

    def create_account(
        self, handle: str, key: bytes, kind: AccountKind, floor: int, ceiling: int | None
    ) -> None:
        if handle in self.accounts:
            raise refusal("handle_taken", f"the handle {handle} is already taken")
        if key in self.keys:
            raise refusal("key_taken", f"this key already belongs to account {self.keys[key]}")
        self.accounts[handle] = Account(handle, key, kind, floor, ceiling)
        self.keys[key] = handle
