"""A chain of communities whose transfer machines talk over a fake network (transfer_net.py),
no I/O at all.

Each ``SimNode`` is what a node's TransferDesk would be with a perfect disk: a pure core
``Ledger`` (so every body the machine logs is checked by the real ledger rules), the stored
rows of its legs and its outbox (durable), the transfers its tasks drive, and its tasks.
``World`` is the rest: one clock, requests and decisions in flight, the sleepers. Nothing
happens on its own: the test decides which write lands, which message is delivered,
duplicated or lost, when the clock moves (due sleeps wake, requests time out, sweeps run),
and which node crashes (it loses its tasks and writes in flight, keeps its log, and starts
again at once with a recovery sweep).

Two simplifications, each a schedule the real desk can also take: a decision the upstream
tells, or a status it is asked, is answered at once (its delivery is still the test's
choice), and a pending write lands before the clock moves.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from letsnode.core.crypto import SigningKey
from letsnode.core.errors import LetsError, LocalProtocolError
from letsnode.core.routing import Hop
from letsnode.core.rules.ledger import Ledger
from letsnode.core.transfers import Flow, TransferMachine
from letsnode.core.transfers import effects as fx
from letsnode.core.transfers import events as ev
from letsnode.core.transfers.facts import (
    LegRow,
    Sent,
    Timing,
    held_of,
    view_of,
)
from letsnode.core.wire.bodies import Hold, LineAgreement, Release, Reveal, Settle
from letsnode.core.wire.entries import Admit, Genesis
from letsnode.core.wire.lines import LineTerms, SignedLine
from letsnode.core.wire.transfers import RemoteOrder
from tests.transfer_net import Message, Network, Request

T0 = 1_800_000_000_000
TICK_MS = 500
NAMES = "abcd"
TIMING = Timing()


def member_key(name: str) -> SigningKey:
    return SigningKey(f"member {name}".encode().ljust(32, b"*"))


@dataclass
class Task:
    """One flow at one node, and what it waits for."""

    node: SimNode
    flow: Flow
    on_end: Callable[[fx.Terminal | None, LetsError | None], None]
    claimed: bool = False
    alive: bool = True


@dataclass
class Sweep:
    """A node's sweep in progress: the expiry phase, then the recovery phase."""

    phase: str
    holds: list
    now: int


@dataclass
class SimNode:
    index: int
    name: str
    key: SigningKey
    ledger: Ledger
    machine: TransferMachine
    rows: dict[tuple[bytes, str], LegRow] = field(default_factory=dict)
    outbox: dict[bytes, Sent] = field(default_factory=dict)
    driving: set[bytes] = field(default_factory=set)
    next_tick: int = T0
    sweep: Sweep | None = None
    ended: list[tuple[bytes, str, str]] = field(default_factory=list)  # (tid, role, how)
    amounts: dict[tuple[bytes, str], int] = field(default_factory=dict)  # what each leg held

    @property
    def id(self) -> bytes:
        return self.key.public

    def row(self, tid: bytes, role: str) -> LegRow | None:
        return self.rows.get((tid, role))


class World(Network):
    def __init__(self, n: int, limits: list[int], ceiling: int = 100_000) -> None:
        self.now = T0
        self.nodes: list[SimNode] = []
        self.tasks: list[Task] = []
        self.writes: list[tuple[Task, fx.Log]] = []
        self.requests: list[Request] = []
        self.messages: list[Message] = []
        self.sleepers: list[tuple[Task, int]] = []
        self.waiters: list[tuple[Task, bytes]] = []
        self.down: set[frozenset[int]] = set()
        self.outcomes: dict[bytes, fx.Concluded | LetsError] = {}
        self.refused: list[tuple[str, str, str]] = []  # (body kind, refusal code, on_refusal)
        self.orders: dict[bytes, tuple[int, int, int]] = {}  # tid -> (payer, payee, amount)
        self.tids = itertools.count(1)
        for i in range(n):
            key = SigningKey(bytes([40 + i]) * 32)
            ledger = Ledger()
            name = NAMES[i]
            ledger.append(key, T0, Genesis(key.public, f"Bank {name}", name, "HOUR", 2, -1, 1))
            m = member_key(name)
            ledger.append(key, T0, Admit(f"m-{name}", m.public, "member", -100_000, ceiling))
            self.nodes.append(SimNode(i, name, key, ledger, TransferMachine(key, TIMING)))
        for i, limit in enumerate(limits[: n - 1]):
            a, b = self.nodes[i], self.nodes[i + 1]
            terms = LineTerms(
                bytes([i + 1]) * 16, 1, a.id, a.name, b.id, b.name, 1, 1,
                -limit, limit, -limit, limit,
            )  # fmt: skip
            signed = SignedLine(terms.encode(), terms.sign(a.key), terms.sign(b.key), terms)
            for node in (a, b):
                node.ledger.append(node.key, T0, LineAgreement(signed))

    # -- running flows ---------------------------------------------------------------------

    def start(
        self,
        node: SimNode,
        tid: bytes,
        event: ev.Event,
        on_end: Callable[[fx.Terminal | None, LetsError | None], None],
        claimed: bool = False,
    ) -> Task:
        task = Task(node, Flow(tid), on_end, claimed)
        self.tasks.append(task)
        self.feed(task, event)
        return task

    def feed(self, task: Task, event: ev.Event) -> None:
        node, tid = task.node, task.flow.transfer_id
        try:
            flow, effects = node.machine.handle(
                task.flow, event, view_of(node.ledger, tid, tid in node.driving)
            )
        except LocalProtocolError:
            raise  # the machine's own bug: fail the test
        except LetsError as err:
            self.end(task, None, err)
            return
        task.flow = flow
        for action in effects[:-1]:
            self.act(task, action)
        last = effects[-1]
        if isinstance(last, fx.TERMINALS):
            self.end(task, last, None)
        else:
            self.wait(task, last)

    def end(self, task: Task, terminal: fx.Terminal | None, error: LetsError | None) -> None:
        task.alive = False
        self.tasks.remove(task)
        node, tid = task.node, task.flow.transfer_id
        if task.claimed:
            node.driving.discard(tid)
            for waiter, wtid in list(self.waiters):
                if waiter.node is node and wtid == tid and tid not in node.driving:
                    self.waiters.remove((waiter, wtid))
                    self.feed(waiter, ev.Idle(node.row(tid, "in")))
        task.on_end(terminal, error)

    def act(self, task: Task, action: fx.Effect) -> None:
        node = task.node
        if isinstance(action, fx.Claim):
            assert action.transfer_id not in node.driving, "two tasks drive one transfer"
            node.driving.add(action.transfer_id)
            task.claimed = True
        elif isinstance(action, fx.SaveOutgoing):
            node.outbox[action.transfer_id] = Sent(action.peer, action.data, action.sig)
        elif isinstance(action, fx.Resume):
            assert action.transfer_id not in node.driving, "resumed a transfer being driven"
            node.driving.add(action.transfer_id)
            started = ev.ResumeStarted(action.sent, action.expiry_ms, self.now)
            self.start(node, action.transfer_id, started, lambda t, e: None, claimed=True)
        else:
            assert isinstance(action, fx.Reach)

    def wait(self, task: Task, effect: fx.Effect) -> None:
        node, tid = task.node, task.flow.transfer_id
        if isinstance(effect, fx.Log):
            self.writes.append((task, effect))
        elif isinstance(effect, fx.AskInvoice):
            self.invoice(task, effect)
        elif isinstance(effect, fx.SendPrepare):
            peer = self.node_of(effect.peer)
            if not self.linked(node, peer):
                self.feed(task, ev.RequestFailed("peer_unreachable", self.now))
                return
            deadline = self.now + math.ceil(effect.timeout_s * 1000)
            args = (effect.data, effect.sig)
            self.requests.append(Request(task, node, peer, args, deadline))
        elif isinstance(effect, fx.SendDecision):
            peer = self.node_of(effect.peer)
            if self.linked(node, peer):
                self.messages.append(Message(node, peer, effect.data, effect.sig))
            self.feed(task, ev.Told(self.now))
        elif isinstance(effect, fx.AskUpstream):
            self.ask_status(task, effect)
        elif isinstance(effect, fx.FollowDecision):
            try:
                decided = ev.DecisionReceived.from_wire(effect.peer, effect.data, effect.sig)
            except LetsError as err:
                self.end(task, None, err)
                return

            def followed(_: fx.Terminal | None, error: LetsError | None) -> None:
                if not task.alive:
                    return
                if error is not None:
                    self.end(task, None, error)
                else:
                    self.feed(task, ev.Followed())

            self.start(node, decided.decision.transfer_id, decided, followed)
        elif isinstance(effect, fx.Sleep):
            self.sleepers.append((task, self.now + math.ceil(effect.seconds * 1000)))
        elif isinstance(effect, fx.WaitIdle):
            if tid in node.driving:
                self.waiters.append((task, tid))
            else:
                self.feed(task, ev.Idle(node.row(tid, "in")))
        else:
            assert isinstance(effect, fx.LoadLeg), effect
            self.feed(task, ev.LegLoaded(node.row(tid, effect.role)))

    # -- the disk ----------------------------------------------------------------------------

    def write(self, k: int, then_crash: bool = False) -> None:
        """Land the ``k``-th pending write (and crash its node right after it, if asked)."""
        task, effect = self.writes.pop(k % len(self.writes))
        if then_crash:
            self.land(task, effect)
            self.crash(task.node.index)
            return
        self.land(task, effect, feed=True)

    def land(self, task: Task, effect: fx.Log, feed: bool = False) -> None:
        node, body = task.node, effect.body
        try:
            node.ledger.append(node.key, self.now, body)
        except LocalProtocolError:
            raise
        except LetsError as err:
            self.refused.append((type(body).__name__, err.code, effect.on_refusal))
            if not feed:
                pass
            elif effect.on_refusal == "raise":
                self.end(task, None, err)
            else:
                self.feed(task, ev.LogRefused(err.code, str(err), self.now))
            return
        self.stored(node, body)
        if feed:
            self.feed(task, ev.Logged(self.now))

    def stored(self, node: SimNode, body: Hold | Reveal | Settle | Release) -> None:
        """What the node's SQL ``holds`` table would now say (see ledger_store.py)."""
        key = (body.transfer_id, "in" if isinstance(body, Reveal) else body.role)
        if isinstance(body, Hold):
            node.rows[key] = LegRow("pending", False, None)
            node.amounts[key] = body.amount
        elif isinstance(body, Reveal):
            node.rows[key] = LegRow(node.rows[key].state, True, body.preimage)
        else:
            row = node.rows[key]
            state = "settled" if isinstance(body, Settle) else body.reason
            preimage = body.preimage if isinstance(body, Settle) else row.preimage
            node.rows[key] = LegRow(state, row.revealed, preimage)
            node.ended.append((body.transfer_id, body.role, state))

    def flush(self) -> None:
        while self.writes:
            self.write(0)

    # -- time ------------------------------------------------------------------------------

    def advance(self, ms: int) -> None:
        target = self.now + ms
        while True:
            self.flush()
            if self.due():
                continue
            times = [w for _, w in self.sleepers]
            times += [r.deadline for r in self.requests if r.task is not None]
            times += [n.next_tick for n in self.nodes if n.sweep is None]
            nxt = min(times, default=target)
            if nxt > target:
                break
            self.now = max(self.now, nxt)
        self.now = target

    def due(self) -> bool:
        """Wake what is due now; True if anything happened."""
        for task, when in list(self.sleepers):
            if when <= self.now:
                self.sleepers.remove((task, when))
                self.feed(task, ev.Woke(self.now))
                return True
        for req in self.requests:
            if req.task is not None and req.deadline <= self.now:
                task, req.task = req.task, None
                if req.delivered:  # whatever answer comes now goes nowhere
                    self.requests.remove(req)
                if task.alive:
                    self.feed(task, ev.RequestFailed("peer_timeout", self.now))
                return True
        for node in self.nodes:
            if node.sweep is None and node.next_tick <= self.now:
                self.sweep(node)
                return True
        return False

    # -- sweeps and crashes -------------------------------------------------------------

    def sweep(self, node: SimNode) -> None:
        node.sweep = Sweep("expire", list(node.ledger.holds.values()), self.now)
        self.sweep_next(node)

    def sweep_next(self, node: SimNode) -> None:
        sweep = node.sweep
        assert sweep is not None
        if not sweep.holds:
            if sweep.phase == "recover":
                node.sweep, node.next_tick = None, self.now + TICK_MS
                return
            sweep.phase, sweep.holds = "recover", list(node.ledger.holds.values())
            self.sweep_next(node)
            return
        hold = sweep.holds.pop(0)
        tid = hold.transfer_id
        sent = node.outbox.get(tid) if hold.role == "out" else None
        held = held_of(node.ledger, hold)
        due: ev.Event
        if sweep.phase == "expire":
            due = ev.ExpiryDue(held, sent, sweep.now)
        else:
            due = ev.RecoveryDue(held, sent, self.now)

        def done(_: fx.Terminal | None, error: LetsError | None) -> None:
            if node.sweep is not sweep:
                return  # the node crashed meanwhile
            if error is not None:  # the desk logs it and waits for the next tick
                node.sweep, node.next_tick = None, self.now + TICK_MS
                return
            self.sweep_next(node)

        self.start(node, tid, due, done)

    def crash(self, i: int) -> None:
        """Node ``i`` stops: its tasks, writes in flight and timers are gone; it starts
        again at once from its log (durable rows and outbox), with a recovery sweep."""
        node = self.nodes[i]
        for task in [t for t in self.tasks if t.node is node]:
            task.alive = False
            self.tasks.remove(task)
        self.writes = [(t, e) for t, e in self.writes if t.node is not node]
        self.sleepers = [(t, w) for t, w in self.sleepers if t.node is not node]
        self.waiters = [(t, x) for t, x in self.waiters if t.node is not node]
        for req in list(self.requests):
            if req.sender is node:
                req.task = None
            elif req.receiver is node and req.delivered and req.reply is None:
                # the connection closed under the request: its requester hears at once
                task, req.task = req.task, None
                self.requests.remove(req)
                if task is not None and task.alive:
                    self.feed(task, ev.RequestFailed("peer_unreachable", self.now))
        node.driving.clear()
        node.sweep, node.next_tick = None, self.now

    # -- payments ------------------------------------------------------------------------

    def pay(self, i: int, j: int, amount: int) -> bytes:
        payer, payee = self.nodes[i], self.nodes[j]
        step = 1 if j > i else -1
        route = tuple(
            Hop(self.nodes[k].id, bytes([min(k, k - step) + 1]) * 16, amount)
            for k in range(i + step, j + step, step)
        )
        member = f"m-{payer.name}"
        nonce = payer.ledger.accounts[member].last_nonce + 1 + len(self.orders)
        order = RemoteOrder(payer.id, member, payee.id, f"m-{payee.name}", amount, nonce, "")
        data, sig = order.sign(member_key(payer.name))
        tid = next(self.tids).to_bytes(16, "big")
        self.orders[tid] = (i, j, amount)
        nxt = self.nodes[i + step]
        origin = f"{member}@{payer.name}"
        ordered = ev.PayOrdered(tid, order, data, sig, route, f"line-{nxt.name}", origin)

        def concluded(terminal: fx.Terminal | None, error: LetsError | None) -> None:
            assert error is not None or isinstance(terminal, fx.Concluded), terminal
            self.outcomes[tid] = error if error is not None else terminal  # type: ignore[assignment]

        self.start(payer, tid, ordered, concluded)
        return tid

    def quiet(self) -> bool:
        return not (self.tasks or self.writes or self.requests or self.messages)
