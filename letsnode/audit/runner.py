"""``letsnode audit`` and ``letsnode export``: a log's replication file, and checking one.

An audit trusts nothing it reads: it replays the log from genesis with the core's rules and
then, for a data folder, compares the stored balances and head with the replayed ones.
Signatures are checked on every core (``letsnode.audit.pool``); the report is exactly the
sequential reference's (``core.audit.audit_records``).

Incremental audits are explicit: ``since_checkpoint=True`` starts from the folder's latest
signed checkpoint after checking it (its signature against the log's genesis, its state
against its digest, and the log prefix re-hashed up to its head; core/checkpoint.py) and
verifies in full only the entries after it. ``write_checkpoint=True`` stores a checkpoint
signed by the node key (D/node.key) after an audit that passed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from letsnode.audit.pool import VerifyPool, audit_parallel, pool_for
from letsnode.audit.report import AuditReport
from letsnode.community.folder import DB_NAME, NODE_KEY, now_ms
from letsnode.community.keystore import read_key
from letsnode.core import crypto
from letsnode.core.audit import AuditFault, AuditResult
from letsnode.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    PrefixCheck,
    State,
    open_checkpoint,
    resume_ledger,
    take_checkpoint,
)
from letsnode.core.errors import DecodeError, InvalidInput
from letsnode.core.rules.ledger import Ledger
from letsnode.core.rules.state import Account
from letsnode.core.wire.logformat import LogHeader, LogReader, encode_record
from letsnode.store.checkpoints import latest_checkpoint, save_checkpoint
from letsnode.store.db import connect
from letsnode.store.ledger_store import LedgerStore

CHUNK = 1 << 20
Progress = Callable[[int], None]


def export_log(store: LedgerStore, ledger: Ledger, path: Path) -> int:
    """Write the whole log to ``path`` atomically (temp file, fsync, rename)."""
    count = ledger.next_seq
    header = LogHeader(ledger.community.community_id, count, ledger.head)
    tmp = path.with_name(path.name + ".tmp")
    written = 0
    with open(tmp, "wb") as f:
        f.write(header.encode())
        for data, signature in store.records():
            if written == count:
                break
            f.write(encode_record(data, signature))
            written += 1
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return written


def _report(
    source: str,
    result: AuditResult,
    started: float,
    extra: AuditFault | None,
    verified_from: int = 0,
    checkpoint_seq: int | None = None,
) -> AuditReport:
    ledger = result.ledger
    genesis = ledger.genesis
    return AuditReport(
        source,
        result.entries,
        len(ledger.accounts),
        genesis.community_id if genesis else None,
        genesis.name if genesis else None,
        ledger.head,
        time.perf_counter() - started,
        result.fault or extra,
        verified_from,
        checkpoint_seq,
    )


def _run(
    records: Iterator[tuple[bytes, bytes]],
    pool: VerifyPool | None,
    entries_hint: int,
    workers: int | None,
    progress: Progress | None,
    ledger: Ledger | None = None,
    start: int = 0,
) -> AuditResult:
    """Audit ``records`` with ``pool``, or with a pool sized for ``entries_hint``."""
    if pool is not None:
        return audit_parallel(records, pool, ledger=ledger, start=start, progress=progress)
    with pool_for(entries_hint - start, workers) as own:
        return audit_parallel(records, own, ledger=ledger, start=start, progress=progress)


def _compare_stored(
    ledger: Ledger, stored: list[Account], stored_head: bytes | None, entries: int
) -> AuditFault | None:
    """The derived tables must equal what the replay computed."""
    last = max(entries - 1, 0)
    if stored_head != ledger.head:
        return AuditFault(
            last, "stored_head_mismatch", "the stored head does not match the replayed log"
        )
    replayed = {a.handle: a for a in ledger.accounts.values()}
    for account in stored:
        mine = replayed.pop(account.handle, None)
        if mine is None:
            return AuditFault(
                last, "stored_account_unknown", f"stored account {account.handle} is not in the log"
            )
        if mine != account:
            return AuditFault(
                last,
                "stored_state_mismatch",
                f"stored state of {account.handle} (balance {account.balance}) "
                f"differs from the replayed log (balance {mine.balance})",
            )
    if replayed:
        name = sorted(replayed)[0]
        return AuditFault(last, "stored_account_missing", f"account {name} is not stored")
    return None


def audit_folder(
    path: Path,
    progress: Progress | None = None,
    *,
    since_checkpoint: bool = False,
    write_checkpoint: bool = False,
    workers: int | None = None,
    pool: VerifyPool | None = None,
) -> AuditReport:
    """Audit a data folder: replay its log, then compare the stored state with the replay.

    ``workers`` caps the worker processes (0 verifies in this process); ``pool`` reuses
    an open VerifyPool. See the module docstring for the two checkpoint flags.
    """
    if not (path / DB_NAME).exists():
        raise InvalidInput(f"{path} holds no ledger ({DB_NAME} is missing)")
    started = time.perf_counter()
    db = connect(path / DB_NAME)
    try:
        store = LedgerStore(db)
        last = store.last_seq()
        hint = 0 if last is None else last + 1
        records = store.records()
        ledger: Ledger | None = None
        start = 0
        checkpoint_seq: int | None = None
        if since_checkpoint:
            resumed = _resume(store, path, records, progress)
            if isinstance(resumed, AuditResult):
                return _report(str(path), resumed, started, None)
            ledger, checkpoint_seq = resumed
            start = checkpoint_seq + 1
        result = _run(records, pool, hint, workers, progress, ledger, start)
        extra = None
        if result.ok:
            extra = _compare_stored(result.ledger, store.accounts(), store.head(), result.entries)
        report = _report(str(path), result, started, extra, start, checkpoint_seq)
        if write_checkpoint and report.ok:
            key = read_key(path / NODE_KEY)
            save_checkpoint(
                db.conn, result.entries - 1, take_checkpoint(result.ledger, key), now_ms()
            )
            report = replace(report, checkpoint_written=result.entries - 1)
        return report
    finally:
        db.conn.close()


def _resume(
    store: LedgerStore,
    path: Path,
    records: Iterator[tuple[bytes, bytes]],
    progress: Progress | None,
) -> tuple[Ledger, int] | AuditResult:
    """Check the latest checkpoint and consume ``records`` up to it.

    Returns the verified state at the checkpoint and its seq, or a failed AuditResult.
    """
    found = latest_checkpoint(store.conn)
    if found is None:
        raise InvalidInput(
            f"{path} has no audit checkpoint yet: run 'letsnode audit --write-checkpoint' "
            "once (a full audit) before auditing since a checkpoint"
        )
    seq, signed = found
    prefix = PrefixCheck()
    opened: tuple[Checkpoint, State] | None = None
    fault: AuditFault | None = None
    for data, signature in records:
        fault = prefix.feed(data, signature)
        if fault is None and opened is None:
            assert prefix.genesis is not None
            try:
                opened = open_checkpoint(prefix.genesis, signed)
            except CheckpointError as err:
                fault = AuditFault(seq, err.code, f"checkpoint at entry {seq}: {err}")
            else:
                if opened[0].seq != seq:
                    fault = AuditFault(seq, "bad_checkpoint", "the checkpoint's seq was altered")
        if fault is not None or prefix.position == seq + 1:
            break
        if progress is not None and prefix.position % 10_000 == 0:
            progress(prefix.position)
    if fault is None:
        if opened is None:
            fault = AuditFault(0, "empty_log", "the log has no genesis entry")
        else:
            fault = prefix.finish(opened[0])
    if fault is not None or opened is None or prefix.genesis is None:
        failed = AuditResult(Ledger(), entries=fault.seq if fault else 0, fault=fault)
        failed.ledger.genesis = prefix.genesis
        return failed
    checkpoint, state = opened
    return resume_ledger(prefix.genesis, checkpoint, state), seq


def _file_records(path: Path, reader: LogReader) -> Iterator[tuple[bytes, bytes]]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield from reader.feed(chunk)
    reader.finish()


def audit_file(
    path: Path,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    pool: VerifyPool | None = None,
) -> AuditReport:
    """Audit an exported log; the header must agree with the records that follow it."""
    started = time.perf_counter()
    reader = LogReader()
    try:
        hint = path.stat().st_size // 200  # about 200 bytes a payment record
        result = _run(_file_records(path, reader), pool, hint, workers, progress)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}") from None
    except DecodeError as err:
        fault = AuditFault(reader.records_read, err.code, str(err))
        return AuditReport(
            str(path), reader.records_read, 0, None, None, b"", time.perf_counter() - started, fault
        )
    extra = None
    header = reader.header
    if result.ok and header is not None:
        extra = _check_header(header, result)
    return _report(str(path), result, started, extra)


def _check_header(header: LogHeader, result: AuditResult) -> AuditFault | None:
    ledger = result.ledger
    last = max(result.entries - 1, 0)
    if header.entry_count != result.entries:
        return AuditFault(
            last,
            "header_mismatch",
            f"the header announces {header.entry_count} entries, the file holds {result.entries}",
        )
    if ledger.genesis is None or header.community_id != ledger.genesis.community_id:
        return AuditFault(0, "header_mismatch", "the header names another community")
    if header.head != ledger.head:
        return AuditFault(last, "header_mismatch", "the header's head is not the last entry's")
    return None


def audit_path(
    path: Path,
    progress: Progress | None = None,
    *,
    since_checkpoint: bool = False,
    write_checkpoint: bool = False,
    workers: int | None = None,
    pool: VerifyPool | None = None,
) -> AuditReport:
    """Audit a data folder or an exported log file, whichever ``path`` is.

    Checkpoints live in data folders: for a log file both checkpoint flags are refused.
    """
    if not crypto.signing():
        raise RuntimeError("an audit never runs inside crypto.unsigned(): it is for simulations")
    if path.is_dir():
        return audit_folder(
            path,
            progress,
            since_checkpoint=since_checkpoint,
            write_checkpoint=write_checkpoint,
            workers=workers,
            pool=pool,
        )
    if since_checkpoint or write_checkpoint:
        raise InvalidInput(
            f"{path} is a log file: checkpoints are kept in data folders, audit it in full"
        )
    return audit_file(path, progress, workers=workers, pool=pool)
