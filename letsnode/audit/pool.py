"""The shell half of the parallel audit: a signature pool on every core, and the pipeline
that streams a log through ``letsnode.core.verify`` in batches.

Why processes: PyNaCl releases the GIL inside each check, but a thread must take the GIL
back after every signature, and while the main thread decodes and replays (pure Python)
that hand-back waits for the interpreter's switch interval. Measured on this 2-core
machine (scripts/bench_verify.py prints the figures of its run): 2 threads ≈ 1.2× one
core, 2 processes ≈ 2×, and threads next to a busy main thread collapse to a few thousand
checks per second. So the default pool runs worker processes (see ``_start_method`` for fork
or spawn); ``thread`` and ``inline`` exist to measure and for tiny logs.

Pipeline: the main process reads a batch of records, scans it (decode, chain, rules on
the speculative ledger; see core/verify.py) and submits its signature jobs; it keeps up
to ``2 × workers + 1`` batches in flight, so decoding and replay overlap verification,
and commits batches in order as their results come back. Memory is bounded by that
window (a few MB), whatever the length of the log.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from types import TracebackType
from typing import Literal

from letsnode.core.audit import AuditResult
from letsnode.core.rules.ledger import Ledger
from letsnode.core.verify import (
    Batch,
    Record,
    Replayer,
    bad_signatures,
    continue_audit,
    finish_clean,
    sign_all,
)

PoolKind = Literal["process", "thread", "inline"]
POOL_KINDS: tuple[PoolKind, ...] = ("process", "thread", "inline")
DEFAULT_BATCH = 2048
# Below this many entries an audit verifies inline: starting worker processes would cost
# more than it saves (forked: ≈ 10 ms; spawned, which re-imports the program: ≈ 1 s).
PARALLEL_THRESHOLD = {"fork": 2_000, "spawn": 20_000}

Progress = Callable[[int], None]


def _start_method() -> str:
    """``fork`` when this process runs one thread, else ``spawn``.

    A forked worker starts at once with nothing to import, and is safe while no other
    thread can hold a lock at the fork. A spawned one re-imports the program's main module
    (for the ``letsnode`` command, the whole CLI with libp2p: over a second), so it is kept
    for processes that already run threads (a trio node with worker threads, a test run).
    """
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class VerifyPool:
    """Checks batches of signature jobs (``core.verify.bad_signatures``) on many cores.

    Use as a context manager, or call ``close``; one pool can serve many audits.
    ``submit`` returns a future of the indexes of the jobs that fail.
    """

    def __init__(self, kind: PoolKind = "process", workers: int | None = None) -> None:
        if kind not in POOL_KINDS:
            raise ValueError(f"pool kind must be one of {POOL_KINDS}, got {kind!r}")
        self.kind = kind
        self.workers = 1 if kind == "inline" else max(1, workers or available_cores())
        self._executor: Executor | None = None
        if kind == "process":
            method = _start_method()
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context(method)
            )
            if method == "fork":
                self.warm_up()  # fork now, while this is still the only thread
        elif kind == "thread":
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="letsnode-verify")

    @property
    def window(self) -> int:
        """How many batches to keep in flight so no worker waits for the next one."""
        return 2 * self.workers + 1 if self._executor is not None else 1

    def submit(self, keys: list[bytes], signed: list[bytes]) -> Future[list[int]]:
        if self._executor is None:
            done: Future[list[int]] = Future()
            done.set_result(bad_signatures(keys, signed))
            return done
        return self._executor.submit(bad_signatures, keys, signed)

    def sign(self, seed: bytes, domain: bytes, messages: list[bytes]) -> Future[list[bytes]]:
        """Sign ``messages`` with the key of ``seed`` in a worker (``core.verify.sign_all``).

        The seed travels to the pool's own worker processes over a local pipe."""
        if self._executor is None:
            done: Future[list[bytes]] = Future()
            done.set_result(sign_all(seed, domain, messages))
            return done
        return self._executor.submit(sign_all, seed, domain, messages)

    def warm_up(self) -> None:
        """Start every worker now (processes take a moment to import), not on first use."""
        futures = [self.submit([], []) for _ in range(self.workers)]
        for future in futures:
            future.result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> VerifyPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def audit_parallel(
    records: Iterable[Record],
    pool: VerifyPool,
    *,
    ledger: Ledger | None = None,
    start: int = 0,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> AuditResult:
    """Audit ``records`` like ``audit_records``, with the signature checks on ``pool``.

    Returns the same result as the reference (same first fault: seq, code and reason; same
    state). ``ledger`` and ``start`` resume from a verified state at that position (an
    incremental audit); by default the log is replayed from its genesis. ``progress`` is
    called with the number of entries verified so far. An exception raised by
    ``records`` itself propagates, unless an earlier entry is at fault: the reference
    would have stopped there without reading further.
    """
    replayer = Replayer(ledger, start)
    source = iter(records)
    source_error: Exception | None = None
    exhausted = False
    stopped = False
    inflight: deque[tuple[Batch, Future[list[int]]]] = deque()
    verified = start
    while True:
        while not exhausted and not stopped and len(inflight) < pool.window:
            chunk: list[Record] = []
            try:
                for _ in range(batch_size):
                    chunk.append(next(source))
            except StopIteration:
                exhausted = True
            except Exception as err:  # the reference would meet it only at this record
                source_error = err
                exhausted = True
            if not chunk:
                break
            batch = replayer.scan(chunk)
            inflight.append((batch, pool.submit(batch.keys, batch.signed)))
            stopped = batch.flagged is not None
        if not inflight:
            break
        batch, future = inflight[0]
        bad = future.result()
        if batch.first_bad(bad) is not None:
            return _replay_from(replayer, inflight, source, source_error)
        inflight.popleft()
        replayer.commit(batch)
        verified = batch.end
        if progress is not None:
            progress(verified)
    if source_error is not None:
        raise source_error
    return finish_clean(replayer.ledger, verified)


def _replay_from(
    replayer: Replayer,
    inflight: deque[tuple[Batch, Future[list[int]]]],
    source: Iterator[Record],
    source_error: Exception | None,
) -> AuditResult:
    """Something in ``inflight[0]`` is at fault: undo the speculation back to its start
    and let the reference loop find, name and report the fault."""
    for batch, future in reversed(inflight):
        future.cancel()
        replayer.rollback(batch)
    first = inflight[0][0]

    def rest() -> Iterator[Record]:
        for batch, _ in inflight:
            yield from batch.records
        if source_error is not None:
            raise source_error
        yield from source

    return continue_audit(replayer.ledger, rest(), first.start)


def pool_for(entries: int, workers: int | None = None) -> VerifyPool:
    """The pool an audit of about ``entries`` entries should use (inline when small)."""
    if workers == 0 or entries < PARALLEL_THRESHOLD[_start_method()]:
        return VerifyPool("inline")
    return VerifyPool("process", workers)
