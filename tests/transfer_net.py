"""The fake network of tests/transfer_sim.py: prepares in flight and their answers,
decisions told downstream, the status and invoice questions answered at once, cut links.

Nothing travels on its own: ``deliver`` hands a request to its receiver (``copy``: once
more, its answer thrown away), ``reply`` brings an answer back, ``drop`` loses one (its
requester times out at its deadline), ``tell`` delivers (or loses, or duplicates) a
decision. A request over a cut link fails at once, as the transports' PeerUnreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from letsnode.core.errors import LetsError
from letsnode.core.transfers import effects as fx
from letsnode.core.transfers import events as ev
from letsnode.core.transfers.facts import line_of, onward_of

if TYPE_CHECKING:
    from tests.transfer_sim import SimNode, Task


@dataclass
class Request:
    """A prepare in flight: sent, being answered (``delivered``), answered (``reply``)."""

    task: Task | None  # the requester, None once it stopped waiting
    sender: SimNode
    receiver: SimNode
    args: tuple[bytes, bytes]
    deadline: int
    delivered: bool = False
    lost: bool = False  # the request or its answer is lost: the requester times out
    reply: fx.Terminal | LetsError | None = None


@dataclass
class Message:
    """A decision told downstream, in flight."""

    sender: SimNode
    receiver: SimNode
    data: bytes
    sig: bytes


class Network:
    """Mixed into World, which has the nodes, the clock and the flows (``start``, ``feed``,
    ``end``) and lands writes (``flush``)."""

    nodes: list[SimNode]
    requests: list[Request]
    messages: list[Message]
    down: set[frozenset[int]]
    now: int

    def node_of(self, community_id: bytes) -> SimNode:
        return next(n for n in self.nodes if n.id == community_id)

    def linked(self, a: SimNode, b: SimNode) -> bool:
        return frozenset((a.index, b.index)) not in self.down

    def deliver(self, k: int, copy: bool = False) -> None:
        """Deliver request ``k`` to its receiver (``copy``: once more, answer thrown away)."""
        req = self.requests[k % len(self.requests)]
        if not self.linked(req.sender, req.receiver) or (req.delivered and not copy):
            return
        if not copy:
            req.delivered = True

        def answered(terminal: fx.Terminal | None, error: LetsError | None) -> None:
            if not copy and not req.lost:
                req.reply = terminal or error

        node, peer = req.receiver, req.sender.id
        data, sig = req.args
        try:
            prepare = ev.PrepareReceived.decode(peer, data, sig)
        except LetsError as err:
            answered(None, err)
            return
        tid = prepare.transfer_id
        received = ev.PrepareReceived(
            peer,
            prepare,
            data,
            sig,
            line_of(node.ledger, prepare, peer),
            onward_of(node.ledger, prepare),
            node.row(tid, "in"),
            self.now,
        )
        self.start(node, tid, received, answered)

    def reply(self, k: int) -> None:
        """Bring an answer back to its requester (the ``k``-th of those answered)."""
        answered = [r for r in self.requests if r.reply is not None]
        if answered:
            self.answer(answered[k % len(answered)])

    def answer(self, req: Request) -> None:
        if not self.linked(req.sender, req.receiver):
            return  # the answer waits (or its requester times out)
        self.requests.remove(req)
        if req.task is None or not req.task.alive:
            return
        task, req.task = req.task, None
        self.feed(task, self.answer_event(req.reply))

    def answer_event(self, reply: fx.Terminal | LetsError | None, status: bool = False) -> ev.Event:
        if isinstance(reply, LetsError) or reply is None:
            return ev.RequestFailed(getattr(reply, "code", "peer_error"), self.now)
        kind, fields = {
            fx.ReplyFulfil: lambda r: ("fulfil", (r.preimage,)),
            fx.ReplyReject: lambda r: ("reject", (r.data, r.sig)),
            fx.ReplyPending: lambda r: ("pending", ()),
            fx.ReplyDecision: lambda r: ("decision", (r.data, r.sig)),
        }[type(reply)](reply)
        if status:
            return ev.StatusAnswered(kind, fields)
        return ev.Answered(kind, fields, self.now)

    def drop(self, k: int) -> None:
        """Lose request ``k`` (or its answer): the requester times out at its deadline."""
        req = self.requests[k % len(self.requests)]
        req.delivered, req.lost, req.reply = True, True, None
        if req.task is None:
            self.requests.remove(req)

    def tell(self, k: int, copy: bool = False, lose: bool = False) -> None:
        message = self.messages[k % len(self.messages)]
        if not copy:
            self.messages.remove(message)
        if lose or not self.linked(message.sender, message.receiver):
            return
        try:
            decided = ev.DecisionReceived.from_wire(message.sender.id, message.data, message.sig)
        except LetsError:
            return
        self.start(message.receiver, decided.decision.transfer_id, decided, lambda t, e: None)

    def invoice(self, task: Task, effect: fx.AskInvoice) -> None:
        """The payee's node answers at once (nothing is held before the invoice)."""
        payee = self.node_of(effect.peer)
        account = payee.ledger.account(effect.handle)
        asked = ev.InvoiceAsked(effect.handle, account.kind, account.status)
        answer: list[fx.Terminal | None] = []
        self.start(payee, effect.transfer_id, asked, lambda t, e: answer.append(t))
        invoice = answer[0]
        assert isinstance(invoice, fx.ReplyInvoice)
        self.feed(task, ev.InvoiceReceived(invoice.data, invoice.sig, self.now))

    def ask_status(self, task: Task, effect: fx.AskUpstream) -> None:
        upstream = self.node_of(effect.peer)
        if not self.linked(task.node, upstream):
            self.feed(task, ev.RequestFailed("peer_unreachable", self.now))
            return
        tid = effect.transfer_id
        asked = ev.StatusAsked(task.node.id, upstream.row(tid, "out"), upstream.outbox.get(tid))
        answer: list[fx.Terminal | LetsError | None] = []
        self.start(upstream, tid, asked, lambda t, e: answer.append(t or e))
        self.feed(task, self.answer_event(answer[0], status=True))

    def catch_up(self) -> None:
        """The network delivers everything in flight, in order, and every write lands."""
        self.flush()
        for k in range(len(self.requests)):
            self.deliver(k)
        self.flush()
        for req in [r for r in self.requests if r.reply is not None]:
            if req in self.requests:
                self.answer(req)
            self.flush()
        for message in list(self.messages):
            if message in self.messages:
                self.tell(self.messages.index(message))
            self.flush()
