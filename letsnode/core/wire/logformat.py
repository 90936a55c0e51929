"""The replication format: a log as one stream of canonical msgpack values.

    header = ["letsnode/log", 1, community_id, entry_count, head_hash]
    then entry_count records, each [entry_bytes, node_signature]

The header is not signed: everything in it is checked against the records that follow
(the genesis names the community, the last entry's hash is the head), so a header that lies
is caught like any other tampering.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import msgpack

from letsnode.core.errors import DecodeError
from letsnode.core.wire import codec
from letsnode.core.wire.codec import expect_bytes, expect_int, expect_list
from letsnode.core.wire.entries import MAX_ENTRY_BYTES, PROTOCOL_VERSION
from letsnode.core.wire.schema import Message, message
from letsnode.core.wire.specs import Hash, Int, Key

LOG_TYPE = "letsnode/log"
MAX_RECORD_BYTES = MAX_ENTRY_BYTES + 128


@message(LOG_TYPE, version=PROTOCOL_VERSION, max_size=MAX_RECORD_BYTES, what="log header")
@dataclass(frozen=True, slots=True)
class LogHeader(Message):
    community_id: Key
    entry_count: Annotated[int, Int(min=0)]
    head: Annotated[Hash, "head hash"]


def encode_record(data: bytes, signature: bytes) -> bytes:
    return codec.pack([data, signature])


class LogReader:
    """Incremental reader: ``feed`` it bytes, iterate the header and records it completes.

    Streams with bounded memory: no single value may exceed MAX_RECORD_BYTES, so a hostile
    file cannot make the reader buffer more than that.
    """

    def __init__(self) -> None:
        self._unpacker = msgpack.Unpacker(
            raw=False,
            max_buffer_size=4 * 1024 * 1024,
            max_bin_len=MAX_RECORD_BYTES,
            max_str_len=MAX_RECORD_BYTES,
            max_array_len=16,
            max_map_len=0,
            max_ext_len=0,
        )
        self.header: LogHeader | None = None
        self.records_read = 0
        self._fed = 0

    def feed(self, chunk: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Yield each complete record ``(entry_bytes, signature)`` in ``chunk``."""
        self._unpacker.feed(chunk)
        self._fed += len(chunk)
        while True:
            try:
                start = self._unpacker.tell()
                value = next(self._unpacker)
            except StopIteration:
                return
            except (ValueError, TypeError, msgpack.UnpackException) as err:
                raise DecodeError(
                    f"log is not valid msgpack after record {self.records_read}: {err}"
                ) from None
            # Canonical form, value by value: msgpack's shortest encoding of a value is the
            # only one of its length, so an equal length proves the bytes are canonical.
            if len(msgpack.packb(value, use_bin_type=True)) != self._unpacker.tell() - start:
                raise DecodeError(f"record {self.records_read} is not canonically encoded")
            if self.header is None:
                self.header = self._header(value)
                continue
            self._check_record(value)
            record = expect_list(value, 2, f"record {self.records_read}")
            data = expect_bytes(record[0], "entry bytes")
            signature = expect_bytes(record[1], "signature")
            self.records_read += 1
            yield data, signature

    def _check_record(self, value: object) -> None:
        if not isinstance(value, list) or not all(isinstance(v, bytes) for v in value):
            raise DecodeError(f"record {self.records_read} must be an array of byte strings")

    def finish(self) -> LogHeader:
        """Call after the last chunk: the stream must end exactly after the last record."""
        if self.header is None:
            raise DecodeError("the log is empty or has no header")
        if self._unpacker.tell() != self._fed:
            raise DecodeError(f"the log ends in the middle of record {self.records_read}")
        return self.header

    @staticmethod
    def _header(value: object) -> LogHeader:
        if not isinstance(value, list) or not value or value[0] != LOG_TYPE:
            raise DecodeError("not a letsnode log (the header is missing)")
        if len(value) > 1 and expect_int(value[1], "log version") != PROTOCOL_VERSION:
            raise DecodeError(f"log version {value[1]} is not supported")
        return LogHeader.from_wire(value)
