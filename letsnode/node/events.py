"""Live events: what the wallet's open pages hear of the ledger, as it changes.

Every accepted entry is announced once, after it is durable. A subscriber listens either
to everything (stewards) or to the events that name one account in their ``handles``: a
payment wakes its payer's and payee's wallets and the stewards', not every open wallet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from letsnode.core.wire.bodies import Hold
from letsnode.core.wire.entries import Entry, Payment
from letsnode.store.ledger_store import touched_handles
from letsnode.web.port import Event

EVENT_BUFFER = 32


class Broadcast:
    """Fan-out of events to subscribers; a subscriber too slow to keep up misses events
    (it re-reads its state on the next one it gets) rather than slowing the writer."""

    def __init__(self) -> None:
        self._everything: set[trio.MemorySendChannel[Event]] = set()
        self._by_handle: dict[str, set[trio.MemorySendChannel[Event]]] = {}

    def publish(self, event: Event) -> None:
        self._deliver(self._everything, event)
        for handle in event.get("handles", ()):
            channels = self._by_handle.get(handle)
            if channels:
                self._deliver(channels, event)

    @staticmethod
    def _deliver(channels: set[trio.MemorySendChannel[Event]], event: Event) -> None:
        for channel in list(channels):
            try:
                channel.send_nowait(event)
            except trio.WouldBlock:
                pass
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                channels.discard(channel)

    @asynccontextmanager
    async def subscribe(
        self, handle: str | None = None
    ) -> AsyncIterator[trio.MemoryReceiveChannel[Event]]:
        """Events naming ``handle``; with None, every event."""
        send, receive = trio.open_memory_channel[Event](EVENT_BUFFER)
        channels = self._everything if handle is None else self._by_handle.setdefault(handle, set())
        channels.add(send)
        try:
            yield receive
        finally:
            channels.discard(send)
            if handle is not None and not channels and self._by_handle.get(handle) is channels:
                del self._by_handle[handle]
            send.close()
            receive.close()

    def __len__(self) -> int:
        return len(self._everything) + sum(map(len, self._by_handle.values()))


def entry_event(entry: Entry, legs: tuple[str, ...] = ()) -> Event:
    """What the wallet's live updates hear of an entry; ``legs`` are the accounts of the
    transfer leg a settle or release ended (the entry itself names only the transfer)."""
    handles = list(touched_handles(entry))
    if isinstance(entry.body, Hold):
        handles += [entry.body.debit, entry.body.credit]
    event: Event = {
        "type": "entry",
        "seq": entry.seq,
        "kind": entry.body.KIND,
        "handles": handles + [h for h in legs if h not in handles],
    }
    if isinstance(entry.body, Payment):
        event["payer"] = entry.body.order.payer
        event["payee"] = entry.body.order.payee
        event["amount_minor"] = entry.body.order.amount
    return event
