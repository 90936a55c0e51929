"""How one request and its reply travel on a libp2p stream (one exchange per stream).

Both frames are prefixed with an unsigned varint length, as go-msgio does::

    request  = payload                                  (at most MAX_MESSAGE_BYTES)
    reply    = 0x00 || response                         the handler's answer
             | 0x01 || msgpack [code, message]          the handler refused (RemoteError)
             | 0x02 || msgpack [code, message]          the transport refused: busy, too
                                                        large, handler too slow
"""

from __future__ import annotations

import logging

import msgpack
import trio
from libp2p.abc import INetStream
from libp2p.io.exceptions import MessageTooLarge as FrameTooLarge
from libp2p.io.utils import read_exactly
from libp2p.peer.id import ID
from libp2p.utils import decode_uvarint_from_stream

from letsnode.net.transport import (
    MAX_MESSAGE_BYTES,
    MessageTooLarge,
    PeerError,
    PeerRefused,
    PeerTimeout,
    remote_error,
)

logger = logging.getLogger(__name__)

OK, HANDLER_ERROR, TRANSPORT_ERROR = 0, 1, 2
MAX_REPLY_BYTES = MAX_MESSAGE_BYTES + 1
# Transport refusals travel as codes; the requester raises the matching class.
_REFUSALS: dict[str, type[PeerError]] = {
    PeerTimeout.code: PeerTimeout,
    PeerRefused.code: PeerRefused,
    MessageTooLarge.code: MessageTooLarge,
}


async def finish(stream: INetStream, cleanly: bool) -> None:
    """Close a request stream, or reset it after a failure; never raises, never waits long."""
    with trio.CancelScope(shield=True), trio.move_on_after(1.0):
        try:
            if cleanly:
                await stream.close()
            else:
                await stream.reset()
        except Exception as exc:
            logger.debug("closing a request stream failed: %s", exc)


async def read_frame(stream: INetStream, limit: int) -> bytes:
    """One varint-length-prefixed frame of at most ``limit`` bytes.

    Not libp2p's ``VarIntLengthMsgReadWriter.read_msg``: it hangs on an empty frame (a
    yamux ``read(0)`` waits for data that never comes), and empty requests are legitimate.
    """
    length = await decode_uvarint_from_stream(stream)
    if length > limit:
        raise FrameTooLarge(f"a frame of {length} bytes exceeds the {limit}-byte limit")
    return await read_exactly(stream, length) if length else b""


def encode_error(status: int, code: str, message: str) -> bytes:
    body: bytes = msgpack.packb([code, message], use_bin_type=True)
    return bytes([status]) + body


def refusal(code: str, message: str) -> bytes:
    return encode_error(TRANSPORT_ERROR, code, message)


def decode_reply(reply: bytes, peer_id: ID, protocol: str) -> bytes:
    if reply[:1] == bytes([OK]):
        return reply[1:]
    try:
        code, message = msgpack.unpackb(reply[1:], raw=False, max_str_len=4096, max_array_len=2)
    except Exception:
        code = message = None
    if reply[:1] == bytes([TRANSPORT_ERROR]) and code in _REFUSALS and isinstance(message, str):
        raise _REFUSALS[code](f"peer {peer_id}: {message}")
    if reply[:1] == bytes([HANDLER_ERROR]) and isinstance(code, str):
        raise remote_error(code, message)
    raise remote_error("peer_error", f"peer {peer_id} sent a malformed {protocol} reply")
