"""The ledger rules: ``Ledger.apply(entry)`` and the state it keeps.

A Ledger holds a community's accounts (balance, limits, status, last order nonce) and the
head of its log. ``apply`` checks everything an entry must satisfy (chain position, node
signature, member signature, ledger rules) before it changes anything, so a refused entry
leaves the state exactly as it was. The invariants kept after every entry:

1. the balances of all accounts sum to zero;
2. every balance lies within its account's floor and ceiling;
3. seq numbers run 0, 1, 2, ... and each entry names the hash of the one before;
4. every payment carries a valid signature of the payer, with a nonce above its last one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from letsnode.core.amounts import INT64_MAX, INT64_MIN, format_amount
from letsnode.core.crypto import (
    DOMAIN_ENTRY,
    DOMAIN_ORDER,
    SigningKey,
    is_valid_signature,
)
from letsnode.core.errors import BadSignature, LedgerRefusal, LocalProtocolError
from letsnode.core.rules import clearing as clearing_rules
from letsnode.core.rules import federation as rules
from letsnode.core.rules.federation import (
    HoldState,
    LineState,
    is_system_account,
    line_prefix_reserved,
)
from letsnode.core.wire.bodies import Clear, Hold, LineAgreement, Reveal, Settle
from letsnode.core.wire.entries import (
    GENESIS_PREV,
    Admit,
    Body,
    Entry,
    Genesis,
    Limits,
    Order,
    Payment,
    Status,
)


@dataclass(slots=True)
class Account:
    handle: str
    key: bytes
    kind: str
    floor: int
    ceiling: int | None
    status: str = "active"
    balance: int = 0
    last_nonce: int = 0
    held_out: int = 0
    held_in: int = 0

    def copy(self) -> Account:
        return replace(self)


def refusal(code: str, message: str) -> LedgerRefusal:
    return LedgerRefusal(message, code=code)


class Ledger:
    """A community's ledger state, advanced one entry at a time by ``apply``."""

    def __init__(self) -> None:
        self.genesis: Genesis | None = None
        self.accounts: dict[str, Account] = {}
        self.keys: dict[bytes, str] = {}
        self.holds: dict[tuple[bytes, str], HoldState] = {}
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
    ) -> Ledger:
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

    # -- reading ---------------------------------------------------------------------

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

    # -- writing ---------------------------------------------------------------------

    def append(self, key: SigningKey, timestamp_ms: int, body: Body) -> Entry:
        """Sign ``body`` as the next entry with the node ``key``, apply it and return it.

        The timestamp is raised to the previous entry's if the clock went backwards.
        Raises LedgerRefusal (nothing changes) if the rules refuse the body.
        """
        if self.genesis is not None and key.public != self.genesis.community_id:
            raise LocalProtocolError("this key is not the community's node key")
        ts = max(timestamp_ms, self.last_timestamp_ms)
        entry = Entry.create(key, self.next_seq, self.head, ts, body)
        self.apply(entry, check_node_signature=False)
        return entry

    def apply(
        self,
        entry: Entry,
        *,
        check_node_signature: bool = True,
        check_member_signature: bool = True,
    ) -> None:
        """Check ``entry`` against the chain, its signatures and the rules, then apply it.

        Raises BadSignature, LedgerRefusal or LocalProtocolError; on any error the state
        is unchanged. The signature flags exist for callers that have already verified
        those signatures (in parallel, or because they just made them).
        """
        self.check_position(entry)
        if check_node_signature:
            community_id = (
                entry.body.community_id
                if isinstance(entry.body, Genesis)
                else self.community.community_id
            )
            if not is_valid_signature(community_id, DOMAIN_ENTRY, entry.data, entry.signature):
                raise BadSignature("the node signature does not verify")
        if check_member_signature and isinstance(entry.body, Payment):
            self.check_order_signature(entry.seq, entry.body)
        self.apply_body(entry.timestamp_ms, entry.body)
        self.next_seq = entry.seq + 1
        self.head = entry.hash
        self.last_timestamp_ms = entry.timestamp_ms

    def check_position(self, entry: Entry) -> None:
        if entry.seq != self.next_seq:
            raise refusal("bad_sequence", f"seq is {entry.seq}, expected {self.next_seq}")
        if entry.prev != self.head:
            raise refusal(
                "broken_chain",
                f"prev hash {entry.prev.hex()} does not match the head {self.head.hex()}",
            )
        if entry.timestamp_ms < self.last_timestamp_ms:
            raise refusal(
                "time_went_back",
                f"timestamp {entry.timestamp_ms} is before the "
                f"previous entry's {self.last_timestamp_ms}",
            )
        if (entry.seq == 0) != isinstance(entry.body, Genesis):
            raise refusal(
                "misplaced_genesis", "the genesis entry must be entry 0, and only entry 0"
            )

    def check_order_signature(self, seq: int, body: Payment) -> None:
        order = body.order
        payer = self.accounts.get(order.payer)
        if payer is None:
            raise refusal("unknown_account", f"there is no account {order.payer!r}")
        if not is_valid_signature(payer.key, DOMAIN_ORDER, body.signed.data, body.signed.signature):
            raise BadSignature(f"the order is not signed by {order.payer}'s key")

    def apply_body(self, ts: int, body: Body) -> None:
        """Apply ``body`` (entry timestamp ``ts``) or raise; on error nothing changed."""
        if isinstance(body, Payment):
            self._pay(body.order)
        elif isinstance(body, Admit):
            self._admit(body)
        elif isinstance(body, Limits):
            self._limits(body)
        elif isinstance(body, Status):
            self._status(body)
        elif isinstance(body, Genesis):
            self.genesis = body
        elif isinstance(body, LineAgreement):
            rules.apply_line(self, ts, body)
        elif isinstance(body, Hold):
            rules.apply_hold(self, ts, body)
        elif isinstance(body, Reveal):
            rules.apply_reveal(self, ts, body)
        elif isinstance(body, Settle):
            rules.apply_settle(self, ts, body)
        elif isinstance(body, Clear):
            clearing_rules.apply_clear(self, ts, body)
        else:
            rules.apply_release(self, ts, body)

    # -- the rules, one per body kind -----------------------------------------------------

    def check_order(self, order: Order) -> tuple[Account, Account]:
        """Refuse ``order`` with a message naming account, limit, balance and amount."""
        if order.community_id != self.community.community_id:
            raise refusal("wrong_community", "the order is for another community")
        payer = self.account(order.payer)
        payee = self.account(order.payee)
        for account in (payer, payee):
            if is_system_account(account):
                raise refusal(
                    "not_a_member_account",
                    f"{account.handle} is a line or system account: it moves only by transfers",
                )
            if account.status != "active":
                raise refusal(
                    f"account_{account.status}",
                    f"account {account.handle} is {account.status}: it can neither pay nor be paid",
                )
        if order.nonce <= payer.last_nonce:
            raise refusal(
                "replayed_order",
                f"order nonce {order.nonce} of {payer.handle} was already used "
                f"(last accepted nonce {payer.last_nonce})",
            )
        new_payer = payer.balance - payer.held_out - order.amount
        if new_payer < payer.floor or new_payer < INT64_MIN:
            raise refusal(
                "below_floor",
                f"{payer.handle} cannot pay {self.fmt(order.amount)}: the balance "
                f"{self.fmt(payer.balance)}{self.holds_text(payer.held_out, 'less')} "
                f"would go below its floor {self.fmt(payer.floor)}",
            )
        new_payee = payee.balance + payee.held_in + order.amount
        if (payee.ceiling is not None and new_payee > payee.ceiling) or new_payee > INT64_MAX:
            limit = self.fmt(payee.ceiling) if payee.ceiling is not None else "(int64 range)"
            raise refusal(
                "above_ceiling",
                f"{payee.handle} cannot receive {self.fmt(order.amount)}: the balance "
                f"{self.fmt(payee.balance)}{self.holds_text(payee.held_in, 'plus')} "
                f"would go above its ceiling {limit}",
            )
        return payer, payee

    def holds_text(self, held: int, word: str) -> str:
        return f" {word} pending {self.fmt(held)}" if held else ""

    def _pay(self, order: Order) -> None:
        payer, payee = self.check_order(order)
        payer.balance -= order.amount
        payee.balance += order.amount
        payer.last_nonce = order.nonce

    def _admit(self, body: Admit) -> None:
        if body.kind == "line" or line_prefix_reserved(body.handle):
            raise refusal(
                "reserved_handle",
                f"{body.handle}: line accounts and 'transit' are made by line agreements",
            )
        self.create_account(body.handle, body.key, body.kind, body.floor, body.ceiling)

    def create_account(
        self, handle: str, key: bytes, kind: str, floor: int, ceiling: int | None
    ) -> None:
        if handle in self.accounts:
            raise refusal("handle_taken", f"the handle {handle} is already taken")
        if key in self.keys:
            raise refusal("key_taken", f"this key already belongs to account {self.keys[key]}")
        self.accounts[handle] = Account(handle, key, kind, floor, ceiling)
        self.keys[key] = handle

    def _limits(self, body: Limits) -> None:
        account = self.account(body.handle)
        if account.status == "closed":
            raise refusal("account_closed", f"account {account.handle} is closed")
        if is_system_account(account):
            raise refusal(
                "not_a_member_account", f"the limits of {account.handle} come from its line"
            )
        if account.balance - account.held_out < body.floor:
            raise refusal(
                "below_floor",
                f"cannot set the floor of {account.handle} to {self.fmt(body.floor)}: "
                f"its balance is {self.fmt(account.balance)}"
                f"{self.holds_text(account.held_out, 'less')}",
            )
        if body.ceiling is not None and account.balance + account.held_in > body.ceiling:
            raise refusal(
                "above_ceiling",
                f"cannot set the ceiling of {account.handle} to "
                f"{self.fmt(body.ceiling)}: its balance is {self.fmt(account.balance)}"
                f"{self.holds_text(account.held_in, 'plus')}",
            )
        account.floor = body.floor
        account.ceiling = body.ceiling

    def _status(self, body: Status) -> None:
        account = self.account(body.handle)
        if account.status == "closed":
            raise refusal("account_closed", f"account {account.handle} is closed for good")
        if account.status == body.status:
            raise refusal("same_status", f"account {account.handle} is already {body.status}")
        if body.status == "closed" and (account.balance or account.held_in or account.held_out):
            raise refusal(
                "balance_not_zero",
                f"account {account.handle} can be closed only at balance zero, "
                f"it is {self.fmt(account.balance)}",
            )
        account.status = body.status
