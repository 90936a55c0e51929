"""The ingest path: payments and node-authored entries in, durable entries out.

    pay(signed) ─▶ check payer's signature ─▶ writer queue ─▶ apply one by one ─▶ commit
                   (batched, on a VerifyPool:    (one task)      (a refusal leaves    (one durable
                    every core, GIL-free)                          the others alone)   transaction)

One writer task owns the ledger. It takes *whatever is queued* (at most ``max_batch``),
applies each entry to the in-memory Ledger, collecting refusals, and commits the accepted
ones in one SQLite transaction (WAL, ``synchronous=FULL``): group commit, so throughput
grows with load, and at light load a lone payment is committed at once, never held back to
fill a batch. Every call returns only once its entry is durable.

Member signatures are checked before the writer, in parallel, batched the same way (what
is queued goes to the pool as one job list). The writer then applies with
``check_member_signature=False``, unless the payer's key is not the one the order was
checked with (it was admitted meanwhile by an entry ahead of it): then the writer checks.

Reading ``community.ledger`` while the writer commits shows entries that are applied but
not yet durable (at most one batch ahead); if a commit fails the state is reloaded from the
store and every caller of that batch gets WriteFailed. The commit runs in a worker thread
on the community's SQLite connection: other users of that connection must not open
transactions of their own meanwhile.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import trio

from letsnode.community import Community, now_ms
from letsnode.core.crypto import DOMAIN_ORDER
from letsnode.core.entries import Body, Entry, Genesis, Payment, SignedOrder
from letsnode.core.errors import BadSignature, InvalidInput, LetsError
from letsnode.core.ledger import Ledger
from letsnode.verify_pool import VerifyPool

DEFAULT_MAX_BATCH = 1024
MAX_CHECKS = 4096

T = TypeVar("T")


class WriterClosed(LetsError):
    """The ledger writer was closed before this request was written."""

    code = "writer_closed"


class WriteFailed(LetsError):
    """The store could not commit the batch: nothing of it was written."""

    code = "write_failed"


@dataclass(eq=False, slots=True)
class _Check:
    key: bytes
    signed: bytes
    done: trio.Event = field(default_factory=trio.Event)
    ok: bool = False
    error: BaseException | None = None


@dataclass(eq=False, slots=True)
class _Write:
    body: Body
    checked_key: bytes | None
    done: trio.Event = field(default_factory=trio.Event)
    entry: Entry | None = None
    error: BaseException | None = None
    abandoned: bool = False


@dataclass(slots=True)
class WriterStats:
    """What the writer did: batches committed, entries in them, the largest batch."""

    batches: int = 0
    entries: int = 0
    refused: int = 0
    largest_batch: int = 0


class LedgerWriter:
    """Submit entries to a community's ledger; see ``open_ledger_writer``."""

    def __init__(self, community: Community, pool: VerifyPool, max_batch: int) -> None:
        self.community = community
        self.stats = WriterStats()
        self._pool = pool
        self._max_batch = max_batch
        self._write_send, self._write_recv = trio.open_memory_channel[_Write](math.inf)
        self._check_send, self._check_recv = trio.open_memory_channel[_Check](math.inf)
        self._checks_in_flight = trio.Semaphore(pool.window)
        self._pending: set[_Write | _Check] = set()
        self._closed = False

    # -- the interface -----------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Entries waiting for the writer (signature already checked), not yet applied."""
        return self._write_recv.statistics().current_buffer_used

    async def pay(self, signed: SignedOrder) -> Entry:
        """Record a payment; returns its entry once durable.

        Raises BadSignature if the payer did not sign the order, LedgerRefusal if the rules
        refuse it (nothing changes then), WriterClosed or WriteFailed.
        """
        payer = self.community.ledger.accounts.get(signed.order.payer)
        checked_key = None
        if payer is not None:  # an unknown payer is refused by the writer, in log order
            if not await self._check(payer.key, signed.signature + DOMAIN_ORDER + signed.data):
                raise BadSignature(f"the order is not signed by {signed.order.payer}'s key")
            checked_key = payer.key
        return await self._write(Payment(signed), checked_key)

    async def submit(self, body: Body) -> Entry:
        """Record any body (Admit, Limits, Status; a Payment goes through ``pay``)."""
        if isinstance(body, Payment):
            return await self.pay(body.signed)
        if isinstance(body, Genesis):
            raise InvalidInput("the genesis entry is written once, when the community is created")
        return await self._write(body, None)

    # -- requests ------------------------------------------------------------------------

    async def _check(self, key: bytes, signed: bytes) -> bool:
        if self._closed:
            raise WriterClosed("the ledger writer is closed")
        check = _Check(key, signed)
        self._pending.add(check)
        try:
            self._check_send.send_nowait(check)
            await check.done.wait()
        finally:
            self._pending.discard(check)
        if check.error is not None:
            raise check.error
        return check.ok

    async def _write(self, body: Body, checked_key: bytes | None) -> Entry:
        if self._closed:
            raise WriterClosed("the ledger writer is closed")
        request = _Write(body, checked_key)
        self._pending.add(request)
        try:
            self._write_send.send_nowait(request)
            await request.done.wait()
        except BaseException:
            request.abandoned = True  # not yet applied: the writer will skip it
            raise
        finally:
            self._pending.discard(request)
        if request.error is not None:
            raise request.error
        assert request.entry is not None
        return request.entry

    # -- the signature checks ------------------------------------------------------------

    async def _check_loop(self) -> None:
        token = trio.lowlevel.current_trio_token()
        while True:
            try:
                first = await self._check_recv.receive()
            except trio.EndOfChannel:
                break
            # Wait for room first: meanwhile more checks queue up, so batches grow with load.
            await self._checks_in_flight.acquire()
            batch = [first, *_drain(self._check_recv, MAX_CHECKS - 1)]
            future = self._pool.submit([c.key for c in batch], [c.signed for c in batch])

            def done(future: Future[list[int]], batch: list[_Check] = batch) -> None:
                with contextlib.suppress(trio.RunFinishedError):  # the run is over
                    token.run_sync_soon(self._checked, future, batch)

            future.add_done_callback(done)
        for _ in range(self._pool.window):  # let the checks in flight come back
            await self._checks_in_flight.acquire()

    def _checked(self, future: Future[list[int]], batch: list[_Check]) -> None:
        self._checks_in_flight.release()
        try:
            bad = set(future.result())
        except BaseException as err:
            for check in batch:
                check.error = WriterClosed(f"the signature check could not run: {err!r}")
                check.done.set()
            return
        for i, check in enumerate(batch):
            check.ok = i not in bad
            check.done.set()

    # -- the writer ----------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            try:
                first = await self._write_recv.receive()
            except trio.EndOfChannel:
                return
            batch = [first, *_drain(self._write_recv, self._max_batch - 1)]
            await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[_Write]) -> None:
        community = self.community
        ledger = community.ledger
        entries: list[Entry] = []
        accepted: list[_Write] = []
        for request in batch:
            if request.abandoned:
                continue
            try:
                request.entry = _append(ledger, community, request)
            except LetsError as err:
                request.error = err
                self.stats.refused += 1
                continue
            entries.append(request.entry)
            accepted.append(request)
        try:
            if entries:
                # Shielded: once started, a commit's outcome is known before anyone is told.
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(community.store.commit, entries, ledger)
        except BaseException as err:
            community.ledger = community.store.load() or Ledger()
            failure = WriteFailed(f"the batch of {len(entries)} entries was not stored: {err}")
            for request in accepted:
                request.entry = None
                request.error = failure
            if not isinstance(err, Exception):
                raise
        else:
            self.stats.batches += 1
            self.stats.entries += len(entries)
            self.stats.largest_batch = max(self.stats.largest_batch, len(entries))
        finally:
            for request in batch:
                request.done.set()

    # -- closing -------------------------------------------------------------------------

    def _close(self) -> None:
        """No new requests; the loops finish what is queued, then end."""
        self._closed = True
        self._write_send.close()
        self._check_send.close()

    def _fail_pending(self) -> None:
        for request in list(self._pending):
            if not request.done.is_set():
                request.error = WriterClosed("the ledger writer closed before this was written")
                request.done.set()


def _append(ledger: Ledger, community: Community, request: _Write) -> Entry:
    """Sign ``request.body`` as the next entry and apply it (state unchanged if refused)."""
    body = request.body
    timestamp = max(now_ms(), ledger.last_timestamp_ms)
    entry = Entry.create(community.key, ledger.next_seq, ledger.head, timestamp, body)
    check_member = True
    if isinstance(body, Payment) and request.checked_key is not None:
        payer = ledger.accounts.get(body.order.payer)
        check_member = payer is None or payer.key != request.checked_key
    ledger.apply(entry, check_node_signature=False, check_member_signature=check_member)
    return entry


def _drain(receive: trio.MemoryReceiveChannel[T], limit: int) -> list[T]:
    items: list[T] = []
    while len(items) < limit:
        try:
            items.append(receive.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            break
    return items


@asynccontextmanager
async def open_ledger_writer(
    community: Community,
    *,
    pool: VerifyPool | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> AsyncIterator[LedgerWriter]:
    """Run the writer for ``community`` while the block runs; yield its LedgerWriter.

    ``pool`` checks member signatures (default: worker processes on every core, closed on
    exit; pass one to share it). On a normal exit what is queued is written first; on an
    error or cancellation the tasks stop and every caller still waiting gets WriterClosed.
    The community must not be written by anything else meanwhile.
    """
    own_pool = pool is None
    verify_pool = VerifyPool("process") if pool is None else pool
    writer = LedgerWriter(community, verify_pool, max_batch)
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer._write_loop)
            nursery.start_soon(writer._check_loop)
            try:
                yield writer
            except BaseException as err:
                body_error = err
                nursery.cancel_scope.cancel()
                raise
            finally:
                writer._close()
    except BaseExceptionGroup as group:
        # The block's own error comes back wrapped by the nursery: give it back as raised.
        if body_error is not None and list(group.exceptions) == [body_error]:
            raise body_error from None
        raise
    finally:
        writer._fail_pending()
        if own_pool:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(verify_pool.close)
