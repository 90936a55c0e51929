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

The writer applies batch k+1 while batch k commits (commits stay one at a time, in
order), and the node's entry signatures of a large batch are made by the pool's workers
(the node seed goes to them over a local pipe), so its own thread does little but apply.
Batches with credit-line or transfer entries are not overlapped.

Reading ``community.ledger`` while the writer runs shows entries that are applied but not
yet durable (at most two batches ahead); if a commit fails, the state is reloaded from the
store and every caller of that batch, and of the one applied behind it, gets WriteFailed.
The commit runs in a worker thread on the community's SQLite connection: other users of
that connection must not open transactions of their own meanwhile.

The module passes 400 lines because the writer is one pipeline (queue, checks, apply,
overlapped commit, failure handling) whose stages share its state; each stage is a method.
"""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from typing import TypeVar

import msgpack
import trio

from letsnode.audit.pool import VerifyPool
from letsnode.community.folder import Community, now_ms
from letsnode.core.crypto import DOMAIN_ENTRY, DOMAIN_ORDER, blake2b256
from letsnode.core.errors import BadSignature, InvalidInput, LetsError
from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import Account
from letsnode.core.wire.entries import (
    ENTRY_TYPE,
    PROTOCOL_VERSION,
    Admit,
    Body,
    Entry,
    Genesis,
    Limits,
    Payment,
    SignedOrder,
    Status,
)

DEFAULT_MAX_BATCH = 1024
MAX_CHECKS = 4096
MIN_CHUNK = 32
SIGN_IN_POOL = 16  # smaller batches are signed at once, on the writer's thread
# Bodies whose commit needs only the accounts they touch: their batches can be applied
# while the batch before them commits.
_MEMBER_BODIES = (Payment, Admit, Limits, Status)

T = TypeVar("T")
_account_fields = operator.attrgetter(*(f.name for f in fields(Account)))


class WriterClosed(LetsError):
    """The ledger writer was closed before this request was written."""

    code = "writer_closed"


class WriteFailed(LetsError):
    """The store could not commit the batch: nothing of it was written."""

    code = "write_failed"


@dataclass(eq=False, slots=True)
class _Request:
    """One entry to write. A payment whose payer is known is checked first: ``check`` is
    the payer's key and ``signature || DOMAIN_ORDER || order``."""

    body: Body
    check: tuple[bytes, bytes] | None = None
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
        self._write_send, self._write_recv = trio.open_memory_channel[_Request](math.inf)
        self._check_send, self._check_recv = trio.open_memory_channel[_Request](math.inf)
        self._checks_in_flight = trio.Semaphore(pool.window)
        self._pending: set[_Request] = set()
        self._closed = False
        self._generation = 0  # bumped when a commit fails and the ledger is reloaded
        self._uncommitted = 0  # entries applied in memory, not yet committed or failed
        self._pack = msgpack.Packer(use_bin_type=True).pack

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
        request = _Request(Payment(signed))
        payer = self.community.ledger.accounts.get(signed.order.payer)
        if payer is not None:  # an unknown payer is refused by the writer, in log order
            request.check = (payer.key, signed.signature + DOMAIN_ORDER + signed.data)
        return await self._submit(request)

    async def submit(self, body: Body) -> Entry:
        """Record any body (Admit, Limits, Status; a Payment goes through ``pay``)."""
        if isinstance(body, Payment):
            return await self.pay(body.signed)
        if isinstance(body, Genesis):
            raise InvalidInput("the genesis entry is written once, when the community is created")
        return await self._submit(_Request(body))

    async def _submit(self, request: _Request) -> Entry:
        if self._closed:
            raise WriterClosed("the ledger writer is closed")
        self._pending.add(request)
        try:
            channel = self._check_send if request.check is not None else self._write_send
            channel.send_nowait(request)
            await request.done.wait()
        except BaseException:
            request.abandoned = True  # if not applied yet, the writer skips it
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
        workers = self._pool.workers
        try:
            while True:
                try:
                    first = await self._check_recv.receive()
                except trio.EndOfChannel:
                    break
                # Wait for room first: meanwhile more checks queue up, so batches grow.
                await self._checks_in_flight.acquire()
                batch = [first, *_drain(self._check_recv, MAX_CHECKS - 1)]
                # A burst is shared among the workers: it is checked on every core at once.
                size = max(MIN_CHUNK, -(-len(batch) // workers))
                for start in range(0, len(batch), size):
                    if start:
                        await self._checks_in_flight.acquire()
                    self._submit_checks(token, batch[start : start + size])
            for _ in range(self._pool.window):  # let the checks in flight come back
                await self._checks_in_flight.acquire()
        finally:
            self._write_send.close()  # nothing more can reach the writer

    def _submit_checks(self, token: trio.lowlevel.TrioToken, chunk: list[_Request]) -> None:
        checks = [r.check for r in chunk if r.check is not None]
        future = self._pool.submit([key for key, _ in checks], [signed for _, signed in checks])
        if future.done():  # an inline pool checked them already: no round trip through trio
            self._checked(future, chunk)
            return

        def done(future: Future[list[int]]) -> None:
            with contextlib.suppress(trio.RunFinishedError):  # the run is over
                token.run_sync_soon(self._checked, future, chunk)

        future.add_done_callback(done)

    def _checked(self, future: Future[list[int]], chunk: list[_Request]) -> None:
        """Runs in the trio thread: pass the good ones on to the writer, in order."""
        self._checks_in_flight.release()
        try:
            bad = set(future.result())
        except BaseException as err:
            bad = set(range(len(chunk)))
            failure: LetsError | None = WriterClosed(f"the signature check could not run: {err!r}")
        else:
            failure = None
        for i, request in enumerate(chunk):
            if i in bad:
                order = request.body.order  # type: ignore[union-attr]
                request.error = failure or BadSignature(
                    f"the order is not signed by {order.payer}'s key"
                )
                request.done.set()
                continue
            try:
                self._write_send.send_nowait(request)
            except trio.ClosedResourceError:
                request.error = WriterClosed("the ledger writer closed before this was written")
                request.done.set()

    # -- the writer ----------------------------------------------------------------------

    async def _write_loop(self) -> None:
        """Apply batch k+1 while batch k commits; commits stay one at a time, in order."""
        committed: trio.Event | None = None
        async with trio.open_nursery() as nursery:
            while True:
                try:
                    first = await self._write_recv.receive()
                except trio.EndOfChannel:
                    break
                batch = [first, *_drain(self._write_recv, self._max_batch - 1)]
                member_only = all(isinstance(r.body, _MEMBER_BODIES) for r in batch)
                if not member_only and committed is not None:
                    await committed.wait()  # lines and transfers: nothing ahead of the disk
                generation = self._generation
                entries, accepted = self._apply_batch(batch)
                view = _as_of_now(self.community.ledger, entries) if member_only else None
                if committed is not None:
                    await committed.wait()
                committed = trio.Event()
                nursery.start_soon(
                    self._commit, batch, entries, accepted, view, generation, committed
                )

    def _apply_batch(self, batch: list[_Request]) -> tuple[list[Entry], list[_Request]]:
        """Apply each request to the in-memory ledger; a refusal touches nothing else."""
        ledger = self.community.ledger
        entries: list[Entry] = []
        accepted: list[_Request] = []
        for request in batch:
            if request.abandoned:
                continue
            try:
                request.entry = self._append(ledger, request)
            except LetsError as err:
                request.error = err
                self.stats.refused += 1
                continue
            entries.append(request.entry)
            accepted.append(request)
        self._uncommitted += len(entries)
        return entries, accepted

    async def _commit(
        self,
        batch: list[_Request],
        entries: list[Entry],
        accepted: list[_Request],
        view: Ledger | None,
        generation: int,
        committed: trio.Event,
    ) -> None:
        community = self.community
        try:
            if generation != self._generation:
                raise WriteFailed("an earlier batch could not be stored")
            if entries:
                state = view if view is not None else community.ledger
                # Shielded: once started, a commit's outcome is known before anyone is told.
                with trio.CancelScope(shield=True):
                    entries = await self._sign(entries)
                    for request, entry in zip(accepted, entries, strict=True):
                        request.entry = entry
                    await trio.to_thread.run_sync(community.store.commit, entries, state)
        except BaseException as err:
            if generation == self._generation:
                # The memory is ahead of the disk: reload, and fail what was built on it.
                self._generation += 1
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
            self._uncommitted -= len(entries)
            for request in batch:
                request.done.set()
            committed.set()

    def _append(self, ledger: Ledger, request: _Request) -> Entry:
        """Make ``request.body`` the next entry and apply it (nothing changes if refused).

        The same entry ``Ledger.append`` would make. Payments are packed directly (their
        parts are bytes, checked when the order was built or decoded) and left unsigned
        here: ``apply`` does not read the node's signature, ``_sign`` adds it before the
        commit, off this thread when the batch is large.
        """
        body = request.body
        key = self.community.key
        seq, prev = ledger.next_seq, ledger.head
        timestamp = max(now_ms(), ledger.last_timestamp_ms)
        check_member = True
        if isinstance(body, Payment) and _plain_bytes(body):
            wire = [ENTRY_TYPE, PROTOCOL_VERSION, seq, prev, timestamp, body.to_wire()]
            data = self._pack(wire)
            entry = Entry(seq, prev, timestamp, body, data, b"", blake2b256(data))
            if request.check is not None:  # checked before; unless admitted meanwhile
                payer = ledger.accounts.get(body.order.payer)
                check_member = payer is None or payer.key != request.check[0]
        else:
            entry = Entry.create(key, seq, prev, timestamp, body)
        ledger.apply(entry, check_node_signature=False, check_member_signature=check_member)
        return entry

    async def _sign(self, entries: list[Entry]) -> list[Entry]:
        """The entries with their node signatures (those made by ``_append`` lack one)."""
        unsigned = [i for i, e in enumerate(entries) if not e.signature]
        if not unsigned:
            return entries
        key = self.community.key
        datas = [entries[i].data for i in unsigned]
        if len(datas) < SIGN_IN_POOL:
            signatures = [key.sign(DOMAIN_ENTRY, data) for data in datas]
        else:  # shared among the workers, like the checks
            seed = key.seed
            size = -(-len(datas) // self._pool.workers)
            futures = [
                self._pool.sign(seed, DOMAIN_ENTRY, datas[i : i + size])
                for i in range(0, len(datas), size)
            ]
            signatures = [sig for future in futures for sig in await _wait(future)]
        signed = list(entries)
        for i, signature in zip(unsigned, signatures, strict=True):
            e = entries[i]
            signed[i] = Entry(e.seq, e.prev, e.timestamp_ms, e.body, e.data, signature, e.hash)
        return signed

    # -- closing -------------------------------------------------------------------------

    def _close(self) -> None:
        """No new requests; the loops finish what is queued, then end."""
        self._closed = True
        self._check_send.close()

    def _fail_pending(self) -> None:
        if self._uncommitted:  # stopped between applying and committing: memory is ahead
            self.community.ledger = self.community.store.load() or Ledger()
            self._uncommitted = 0
        for request in list(self._pending):
            if not request.done.is_set():
                request.error = WriterClosed("the ledger writer closed before this was written")
                request.done.set()


def _as_of_now(ledger: Ledger, entries: list[Entry]) -> Ledger:
    """What ``LedgerStore.commit`` reads for ``entries``, copied now: the accounts they
    touched, as they are after them (the live ledger moves on while they commit)."""
    view = Ledger()
    for entry in entries:
        body = entry.body
        handles: tuple[str, ...] = ()
        if isinstance(body, Payment):
            handles = (body.order.payer, body.order.payee)
        elif isinstance(body, Admit | Limits | Status):
            handles = (body.handle,)
        for handle in handles:
            if handle not in view.accounts:
                view.accounts[handle] = Account(*_account_fields(ledger.accounts[handle]))
    return view


async def _wait(future: Future[T]) -> T:
    """Await a concurrent.futures Future from trio, without a thread per wait."""
    token = trio.lowlevel.current_trio_token()
    event = trio.Event()

    def done(_: Future[T]) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(event.set)

    future.add_done_callback(done)
    try:
        await event.wait()
    except BaseException:
        future.cancel()
        raise
    return future.result()


def _plain_bytes(body: Payment) -> bool:
    return type(body.signed.data) is bytes and type(body.signed.signature) is bytes


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
