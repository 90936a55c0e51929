"""``letsnode audit`` and ``letsnode export``: a log's replication file, and checking one.

An audit trusts nothing it reads: it replays the log from genesis with the core's rules and
then, for a data folder, compares the stored balances and head with the replayed ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from letsnode.community import DB_NAME
from letsnode.core.audit import AuditFault, AuditResult, audit_records
from letsnode.core.errors import DecodeError, InvalidInput
from letsnode.core.ledger import Account, Ledger
from letsnode.core.logformat import LogHeader, LogReader, encode_record
from letsnode.store.db import connect
from letsnode.store.ledger_store import LedgerStore

CHUNK = 1 << 20
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class AuditReport:
    source: str
    entries: int
    accounts: int
    community_id: bytes | None
    name: str | None
    head: bytes
    seconds: float
    fault: AuditFault | None

    @property
    def ok(self) -> bool:
        return self.fault is None

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else 0.0


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


def _counted(
    records: Iterator[tuple[bytes, bytes]], progress: Progress | None, every: int = 10_000
) -> Iterator[tuple[bytes, bytes]]:
    for n, record in enumerate(records, 1):
        yield record
        if progress is not None and n % every == 0:
            progress(n)


def _report(
    source: str, result: AuditResult, started: float, extra: AuditFault | None
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
    )


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


def audit_folder(path: Path, progress: Progress | None = None) -> AuditReport:
    if not (path / DB_NAME).exists():
        raise InvalidInput(f"{path} holds no ledger ({DB_NAME} is missing)")
    started = time.perf_counter()
    db = connect(path / DB_NAME)
    try:
        store = LedgerStore(db)
        result = audit_records(_counted(store.records(), progress))
        extra = None
        if result.ok:
            row = db.conn.execute("SELECT hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
            extra = _compare_stored(result.ledger, store.accounts(), row and row[0], result.entries)
        return _report(str(path), result, started, extra)
    finally:
        db.conn.close()


def _file_records(path: Path, reader: LogReader) -> Iterator[tuple[bytes, bytes]]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield from reader.feed(chunk)
    reader.finish()


def audit_file(path: Path, progress: Progress | None = None) -> AuditReport:
    """Audit an exported log; the header must agree with the records that follow it."""
    started = time.perf_counter()
    reader = LogReader()
    try:
        result = audit_records(_counted(_file_records(path, reader), progress))
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


def audit_path(path: Path, progress: Progress | None = None) -> AuditReport:
    """Audit a data folder or an exported log file, whichever ``path`` is."""
    if path.is_dir():
        return audit_folder(path, progress)
    return audit_file(path, progress)
