"""The ledger: ``Ledger.apply(entry)``, the one way a community's state changes.

``apply`` checks everything an entry must satisfy (chain position, node signature, member
signature, the rule of its body) before it changes anything, so a refused entry leaves the
state exactly as it was. The invariants kept after every entry:

1. the balances of all accounts sum to zero;
2. every balance lies within its account's floor and ceiling (pending holds count);
3. seq numbers run 0, 1, 2, ... and each entry names the hash of the one before;
4. every payment carries a valid signature of the payer, with a nonce above its last one.

Which rule applies to which body is the table in ``apply_body``: one ``case`` per body
kind, checked exhaustive by mypy (``assert_never``), so a new kind of entry cannot be
added to the ``Body`` union without a rule.
"""

from __future__ import annotations

from typing import assert_never

from letsnode.core.crypto import DOMAIN_ENTRY, DOMAIN_ORDER, SigningKey, is_valid_signature
from letsnode.core.errors import BadSignature, LocalProtocolError
from letsnode.core.rules import accounts, clearing, holds, lines
from letsnode.core.rules.state import LedgerState, refusal
from letsnode.core.wire.bodies import Clear, Hold, LineAgreement, Release, Reveal, Settle
from letsnode.core.wire.entries import Admit, Body, Entry, Genesis, Limits, Payment, Status


class Ledger(LedgerState):
    """A community's ledger state, advanced one entry at a time by ``apply``."""

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
        """Apply ``body`` (entry timestamp ``ts``) by its rule, or raise; on error nothing
        changed. Payments come first: they are most entries."""
        match body:
            case Payment():
                accounts.apply_payment(self, ts, body)
            case Admit():
                accounts.apply_admit(self, ts, body)
            case Limits():
                accounts.apply_limits(self, ts, body)
            case Status():
                accounts.apply_status(self, ts, body)
            case Genesis():
                self.genesis = body
            case LineAgreement():
                lines.apply_line(self, ts, body)
            case Hold():
                holds.apply_hold(self, ts, body)
            case Reveal():
                holds.apply_reveal(self, ts, body)
            case Settle():
                holds.apply_settle(self, ts, body)
            case Release():
                holds.apply_release(self, ts, body)
            case Clear():
                clearing.apply_clear(self, ts, body)
            case _:
                assert_never(body)
