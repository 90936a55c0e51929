"""Clearing rounds between nodes: coordinate one, or take part in one (SPEC §8).

The coordinator collects signed statements (the snapshot), derives the proposal, and asks
each affected community to vote. A participant recomputes the proposal from the snapshot,
checks it against its own ledger, keeps its lines still for the round (no new holds on
them), records its vote durably and signs. With every vote before the deadline the
coordinator records the decision and every participant applies one ``clear`` entry;
otherwise the round aborts and no ledger changes. A participant that voted and then lost
touch asks the coordinator for the decision until it learns it (two-phase commit: the
decision is the coordinator's, and it is durable before anyone hears of it).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace

import trio

from letsnode.core.clearing import commit
from letsnode.core.clearing.commit import (
    Aborted,
    Committed,
    RoundReport,
    check_move,
    outcome_answer,
    pack_votes,
    refuse,
    unpack_snapshot,
)
from letsnode.core.clearing.rounds import propose
from letsnode.core.errors import BadSignature, InvalidInput, LetsError
from letsnode.core.rules.clearing import check_current, ledger_statement, plan
from letsnode.core.wire import codec
from letsnode.core.wire.bodies import Clear
from letsnode.core.wire.clearing import (
    NONCE_BYTES,
    Proposal,
    SignedStatement,
    round_id,
    round_key,
    sign_vote,
    vote_is_valid,
    votes_from_wire,
)
from letsnode.federation import wire
from letsnode.federation.port import LedgerPort, RoundRecords
from letsnode.federation.transfers import TransferDesk
from letsnode.net.transport import MAX_MESSAGE_BYTES, PeerError, PeerTransport
from letsnode.store.clearing_store import RoundRow

log = logging.getLogger(__name__)

SHAPES = {"statement": 1, "propose": 2, "commit": 2, "abort": 1, "outcome": 1}
ANSWERS = {"statement": 2, "vote": 1, "ok": 0, "committed": 2, "aborted": 1, "pending": 0}


def new_round(
    nonce: bytes,
    role: str,
    coordinator: bytes,
    state: str,
    created_ms: int,
    *,
    proposal: bytes | None = None,
    cleared: int = 0,
    snapshot: bytes | None = None,
    reason: str = "",
    decided_ms: int | None = None,
) -> RoundRow:
    """A round's first record; its id is the proposal's, its votes come with the decision."""
    check_move(role, None, state)
    rid = None if proposal is None else round_id(proposal)
    return RoundRow(
        nonce, rid, role, coordinator, state, snapshot, proposal, None, cleared, reason,
        created_ms, decided_ms,
    )  # fmt: skip


class ClearingDesk:
    def __init__(
        self,
        port: LedgerPort,
        transport: PeerTransport,
        store: RoundRecords,
        transfers: TransferDesk,
        known: Callable[[], Sequence[bytes]],
        on_change: Callable[[], None],
    ) -> None:
        self.port = port
        self.transport = transport
        self.store = store
        self.transfers = transfers
        self.known = known
        self.on_change = on_change
        self.request_timeout = 5.0
        # Where round nonces come from (the service may give a seeded source: simulations).
        self.token: Callable[[int], bytes] = secrets.token_bytes
        self._running: set[bytes] = set()
        self._reserved: dict[bytes, set[str]] = {}  # nonce -> line accounts held still
        for row in store.in_state("voted", "participant"):
            assert row.proposal is not None
            self._reserve(row.nonce, Proposal.decode(row.proposal))
        transfers.reserved = self.is_reserved

    @property
    def me(self) -> bytes:
        return self.port.key.public

    def now(self) -> int:
        return self.port.clock()

    def applied(self, rid: bytes) -> bool:
        """True once our log has the clear entry of round ``rid``."""
        return round_key(rid) in self.port.ledger.finished

    def _decide(
        self, row: RoundRow, state: str, reason: str = "", votes: bytes | None = None
    ) -> None:
        """Record the round's next state (only along commit.RECORD_TABLE), durably."""
        check_move(row.role, row.state, state)
        changes = {} if votes is None else {"votes": votes}
        self.store.save(row.decided(state, self.now(), reason, **changes))

    # -- reservations ------------------------------------------------------------------

    def busy(self) -> bool:
        """True while we coordinate a round or hold lines still for one we voted in."""
        return bool(self._running or self._reserved)

    def is_reserved(self, handle: str) -> bool:
        return any(handle in handles for handles in self._reserved.values())

    def _reserve(self, nonce: bytes, proposal: Proposal) -> None:
        """Hold our line accounts in ``proposal`` still (no new holds) until it is decided."""
        self._reserved[nonce] = commit.held_lines(self.port.ledger.lines, proposal, self.me)

    def _unreserve(self, nonce: bytes) -> None:
        self._reserved.pop(nonce, None)

    # -- our statement -----------------------------------------------------------------

    def statement(self, nonce: bytes) -> SignedStatement:
        """Our at-par lines that carry a balance (the largest, if there are many)."""
        return ledger_statement(self.port.ledger, self.port.key, nonce, self.now())

    # -- coordinating a round ------------------------------------------------------------

    async def run_round(self, timeout_s: float = 10.0) -> RoundReport:
        """Run one clearing round with every community we know; return what happened."""
        nonce = self.token(NONCE_BYTES)
        self._running.add(nonce)
        try:
            return await self._run(nonce, timeout_s)
        finally:
            self._running.discard(nonce)

    async def _run(self, nonce: bytes, timeout_s: float) -> RoundReport:
        created = self.now()
        others = commit.others_to_ask(self.known(), self.me)
        statements, unreachable = await self._collect(nonce, others, timeout_s / 3)
        snapshot = sorted(statements, key=lambda s: s.statement.community_id)
        deadline = self.now() + int(timeout_s * 1000)
        proposal = propose(snapshot, nonce, self.me, deadline)
        snap_data = codec.pack([s.to_wire() for s in snapshot])
        if proposal is None:
            reason = "nothing to clear"
            empty = new_round(nonce, "coordinator", self.me, "empty", created, snapshot=snap_data)
            self.store.save(replace(empty, reason=reason, decided_ms=self.now()))
            return RoundReport(nonce, None, "empty", 0, len(snapshot), (), reason, unreachable)
        data = proposal.encode()
        row = new_round(
            nonce, "coordinator", self.me, "proposing", created,
            proposal=data, cleared=proposal.cleared, snapshot=snap_data,
        )  # fmt: skip
        self.store.save(row)  # durable before anyone is asked to vote
        message = wire.encode("propose", [s.to_wire() for s in snapshot], data)
        votes, reason = await self._votes(proposal, data, snapshot, message)
        report = RoundReport(
            nonce, row.round_id, "aborted", proposal.cleared, len(snapshot),
            proposal.participants, reason, unreachable,
        )  # fmt: skip
        decision = commit.verdict(reason, self.now(), deadline)
        if decision.state == "aborted":
            self._decide(row, "aborted", decision.reason)
            await self._tell_abort(nonce, proposal, votes)
            return replace(report, reason=decision.reason)
        self._decide(row, "committed", votes=pack_votes(votes))
        if self.me in proposal.participants:
            await self._apply(nonce, data, votes)
        await self._tell_commit(proposal, data, votes)
        return replace(report, state="committed")

    async def _collect(
        self, nonce: bytes, others: list[bytes], timeout: float
    ) -> tuple[list[SignedStatement], tuple[bytes, ...]]:
        statements = [self.statement(nonce)]
        missing: list[bytes] = []

        async def ask(peer: bytes) -> None:
            with trio.move_on_after(timeout):
                try:
                    await self.transfers.reach(peer)
                    raw = await self.transport.request(
                        peer, wire.CLEARING_PROTOCOL, wire.encode("statement", nonce), timeout
                    )
                    _, f = wire.decode(raw, {"statement": 2}, MAX_MESSAGE_BYTES)
                    signed = SignedStatement.from_wire(f)
                    if signed.statement.community_id != peer or signed.statement.nonce != nonce:
                        raise InvalidInput("the statement is for another community or round")
                    statements.append(signed)
                    return
                except LetsError as err:
                    log.info("no clearing statement from %s: %s", peer.hex()[:12], err)
            missing.append(peer)

        async with trio.open_nursery() as nursery:
            for peer in others:
                nursery.start_soon(ask, peer)
        return statements, tuple(sorted(missing))

    async def _votes(
        self, proposal: Proposal, data: bytes, snapshot: list[SignedStatement], message: bytes
    ) -> tuple[dict[bytes, bytes], str]:
        """Every participant's vote, or the first refusal (which stops the others)."""
        if len(message) > MAX_MESSAGE_BYTES:
            return {}, commit.OVERSIZED
        votes: dict[bytes, bytes] = {}
        refusals: list[str] = []
        names = {s.statement.community_id: s.statement.short for s in snapshot}
        wait_s = max(0.0, (proposal.deadline_ms - self.now()) / 1000)

        async def ask(peer: bytes, scope: trio.CancelScope) -> None:
            try:
                if peer == self.me:
                    sig = await self.vote(self.me, snapshot, data)
                else:
                    raw = await self.transport.request(
                        peer, wire.CLEARING_PROTOCOL, message, wait_s
                    )
                    _, f = wire.decode(raw, {"vote": 1})
                    sig = codec.expect_bytes(f[0], "vote", 64)
                    if not vote_is_valid(peer, data, sig):
                        raise BadSignature("the vote does not verify")
                votes[peer] = sig
            except LetsError as err:
                name = names.get(peer, peer.hex()[:12])
                refusals.append(commit.refusal_note(name, err.code, str(err)))
                scope.cancel()

        with trio.move_on_after(wait_s) as scope:
            async with trio.open_nursery() as nursery:
                for peer in proposal.participants:
                    nursery.start_soon(ask, peer, scope)
        return votes, commit.tally(proposal.participants, votes, refusals, names)

    async def _tell_commit(
        self, proposal: Proposal, data: bytes, votes: dict[bytes, bytes]
    ) -> None:
        message = wire.encode("commit", data, [[c, s] for c, s in sorted(votes.items())])
        await self._tell([p for p in proposal.participants if p != self.me], message)

    async def _tell_abort(
        self, nonce: bytes, proposal: Proposal, votes: dict[bytes, bytes]
    ) -> None:
        if self.me in votes:
            self._abort_vote(nonce, commit.ABORTED_BY_COORDINATOR)
        await self._tell([p for p in votes if p != self.me], wire.encode("abort", nonce))

    async def _tell(self, peers: list[bytes], message: bytes) -> None:
        """Best effort: a participant that misses this asks for the outcome later."""

        async def send(peer: bytes) -> None:
            try:
                await self.transport.request(
                    peer, wire.CLEARING_PROTOCOL, message, self.request_timeout
                )
            except LetsError as err:
                log.info("clearing: %s not told (%s); it will ask", peer.hex()[:12], err)

        async with trio.open_nursery() as nursery:
            for peer in peers:
                nursery.start_soon(send, peer)

    # -- taking part ---------------------------------------------------------------------

    async def vote(self, coordinator: bytes, snapshot: list[SignedStatement], data: bytes) -> bytes:
        """Check a proposal against our ledger, hold our lines still, record and sign it."""
        proposal = Proposal.decode(data)
        nonce = proposal.nonce
        if commit.admit(self.store.get(nonce), proposal, data, coordinator, self.now()):
            return sign_vote(self.port.key, data)  # asked again: the same vote
        try:
            commit.check_proposal(self.me, coordinator, snapshot, proposal, data)
            commit.may_vote(self.store.policy(), bool(self._reserved))
            await self._hold_still(nonce, proposal)
            ledger = self.port.ledger
            check_current(plan(ledger, proposal, data), ledger)
        except LetsError as err:
            self._unreserve(nonce)
            if coordinator != self.me:
                now = self.now()
                refused = new_round(
                    nonce, "participant", coordinator, "refused", now,
                    proposal=data, cleared=proposal.cleared, reason=str(err)[:500], decided_ms=now,
                )  # fmt: skip
                self.store.save(refused)
            raise
        if coordinator != self.me:  # durable before the coordinator has our vote
            voted = new_round(
                nonce, "participant", coordinator, "voted", self.now(), proposal=data,
                cleared=proposal.cleared, snapshot=codec.pack([s.to_wire() for s in snapshot]),
            )  # fmt: skip
            self.store.save(voted)
            self.on_change()  # the service's recovery pass asks for the outcome if it is late
        return sign_vote(self.port.key, data)

    async def _hold_still(self, nonce: bytes, proposal: Proposal) -> None:
        """Refuse new holds on our lines in the round, then let holds being logged land."""
        self._reserve(nonce, proposal)
        with trio.move_on_after(2.0):
            while self.transfers.holds_submitting:
                await trio.sleep(0.005)
        if self.transfers.holds_submitting:
            raise refuse("busy", "payments are being logged on our lines; try again")

    async def _apply(self, nonce: bytes, data: bytes, votes: dict[bytes, bytes]) -> None:
        clear = Clear.of(data, votes)
        if not self.applied(clear.round_id):
            await self.port.submit(clear)
        self._unreserve(nonce)
        self.on_change()

    async def _committed(self, coordinator: bytes, data: bytes, votes: dict[bytes, bytes]) -> None:
        proposal = Proposal.decode(data)
        commit.check_commit(coordinator, proposal, data, votes)
        await self._apply(proposal.nonce, data, votes)
        row = self.store.get(proposal.nonce)
        if row is not None and row.state != "committed":
            self._decide(row, "committed", votes=pack_votes(votes))

    def _abort_vote(self, nonce: bytes, reason: str) -> None:
        row = self.store.get(nonce)
        if row is not None and row.role == "participant" and row.state == "voted":
            self._decide(row, "aborted", reason)
        self._unreserve(nonce)

    # -- requests from peers -----------------------------------------------------------

    async def handle(self, peer: bytes, data: bytes) -> bytes:
        kind, f = wire.decode(data, SHAPES, MAX_MESSAGE_BYTES)
        if kind == "statement":
            nonce = codec.expect_bytes(f[0], "nonce", NONCE_BYTES)
            return wire.encode("statement", *self.statement(nonce).to_wire())
        if kind == "propose":
            snapshot = unpack_snapshot(f[0])
            sig = await self.vote(peer, snapshot, codec.expect_bytes(f[1], "proposal"))
            return wire.encode("vote", sig)
        if kind == "commit":
            votes = dict(votes_from_wire(f[1]))
            await self._committed(peer, codec.expect_bytes(f[0], "proposal"), votes)
            return wire.encode("ok")
        nonce = codec.expect_bytes(f[0], "nonce", NONCE_BYTES)
        if kind == "abort":
            row = self.store.get(nonce)
            if row is not None and row.coordinator == peer:
                self._abort_vote(nonce, commit.ABORTED_BY_COORDINATOR)
            return wire.encode("ok")
        answer, fields = outcome_answer(self.store.get(nonce))
        return wire.encode(answer, *fields)

    # -- after a restart, or a lost message ------------------------------------------------

    async def recover(self) -> None:
        for row in self.store.in_state("proposing", "coordinator"):
            if commit.stopped(row, self._running):  # we were stopped mid-round
                assert row.proposal is not None
                self._decide(row, "aborted", commit.STOPPED)
                proposal = Proposal.decode(row.proposal)
                await self._tell(
                    [p for p in proposal.participants if p != self.me],
                    wire.encode("abort", row.nonce),
                )
        for row in self.store.in_state("committed", "coordinator"):
            todo = commit.to_apply(row, self.me, self.applied)
            if todo is not None:
                await self._apply(row.nonce, *todo)
        for row in self.store.in_state("voted", "participant"):
            if commit.in_doubt(row, self.now()):  # the commit is usually on its way
                await self._ask_outcome(row)

    async def _ask_outcome(self, row: RoundRow) -> None:
        try:
            await self.transfers.reach(row.coordinator)
            raw = await self.transport.request(
                row.coordinator,
                wire.CLEARING_PROTOCOL,
                wire.encode("outcome", row.nonce),
                self.request_timeout,
            )
        except PeerError:
            return  # still in doubt: our lines stay held until the coordinator answers
        kind, f = wire.decode(raw, {"committed": 2, "aborted": 1, "pending": 0}, MAX_MESSAGE_BYTES)
        learned = commit.outcome_of(kind, f)
        if isinstance(learned, Committed):
            await self._committed(row.coordinator, learned.proposal, learned.votes)
        elif isinstance(learned, Aborted):
            self._abort_vote(row.nonce, learned.reason)
