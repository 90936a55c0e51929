"""The transport seam: everything a node needs from the network, and nothing more.

Peers are named by their **community id**: the 32-byte Ed25519 public key of the peer's node
(its libp2p identity, so the peer id and the community id are the same key). Messages are
opaque bytes; the federation layer signs, encodes and checks them. Implementations bound
every message size, time out every request, and never let a handler's exception kill the
transport (it becomes an error reply the requester sees as ``PeerError``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from letsnode.core.errors import InvalidInput, LetsError

MAX_MESSAGE_BYTES = 64 * 1024

# handler(peer community id, request bytes) -> response bytes
RequestHandler = Callable[[bytes, bytes], Awaitable[bytes]]
# handler(publisher community id, message bytes); validators run first and may drop it
TopicHandler = Callable[[bytes, bytes], Awaitable[None]]
TopicValidator = Callable[[bytes, bytes], bool]


class PeerError(LetsError):
    """A request to a peer failed: unreachable, timed out, refused or answered badly."""

    code = "peer_unreachable"


# The tree below PeerError, written down once (both transports raise exactly these):
#
#     PeerError                 peer_unreachable (the base keeps its historical code)
#     ├── PeerUnreachable       peer_unreachable  no address, dial failed, partitioned, closed
#     ├── PeerTimeout           peer_timeout      no answer within the caller's timeout, or
#     │                                           the peer's handler overran its own limit
#     ├── PeerRefused           peer_refused      the peer does not serve this protocol, or busy
#     ├── MessageTooLarge       message_too_large a request, response or gossip message is
#     │                                           larger than MAX_MESSAGE_BYTES
#     └── RemoteError           <the peer's code> the peer's handler answered with an error:
#                                                 a LetsError's code and message travel as-is
#                                                 (e.g. below_floor); anything else is
#                                                 peer_error with a generic message


class PeerUnreachable(PeerError):
    code = "peer_unreachable"


class PeerTimeout(PeerError):
    code = "peer_timeout"


class PeerRefused(PeerError):
    code = "peer_refused"


class MessageTooLarge(PeerError):
    code = "message_too_large"


class RemoteError(PeerError):
    """The peer's handler refused or failed; ``code`` and ``message`` are the peer's own."""

    code = "peer_error"


# Not a PeerError: a malformed id or address is bad input (ours or the user's), raised
# before anything is sent.
class InvalidPeerId(InvalidInput):
    """A community id, peer id or peer address that does not name an Ed25519 node."""

    code = "invalid_peer_id"


@dataclass(frozen=True, slots=True)
class PeerInfo:
    community_id: bytes
    addrs: tuple[str, ...]
    connected: bool


class PeerTransport(Protocol):
    @property
    def local_id(self) -> bytes:
        """This node's community id (32-byte Ed25519 public key)."""
        ...

    def listen_addrs(self) -> list[str]:
        """Addresses partners can dial, each ending in /p2p/<peer id> where that applies."""
        ...

    def set_handler(self, protocol: str, handler: RequestHandler) -> None:
        """Answer requests for ``protocol`` (e.g. "/letsnode/transfer/1")."""
        ...

    async def request(self, peer: bytes, protocol: str, payload: bytes, timeout: float) -> bytes:
        """Send one request and wait for its response; raise PeerError on any failure."""
        ...

    async def connect(self, addr: str) -> bytes:
        """Dial ``addr`` and return the peer's community id; raise PeerError on failure."""
        ...

    def peers(self) -> list[PeerInfo]:
        """Every peer known (connected or remembered), sorted by community id."""
        ...

    def subscribe(self, topic: str, handler: TopicHandler, validator: TopicValidator) -> None:
        """Receive messages published on ``topic`` that ``validator`` accepts."""
        ...

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish to every subscriber of ``topic`` (best effort, gossip)."""
        ...


# An error reply carries a short machine code and a sentence; both are bounded so a peer
# cannot make us build or log something huge.
MAX_ERROR_MESSAGE_CHARS = 1000
_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def is_error_code(code: object) -> bool:
    """True for a code we accept from a peer: 1 to 64 characters of ``[a-z0-9_]``."""
    return isinstance(code, str) and 0 < len(code) <= 64 and set(code) <= _CODE_CHARS


def error_reply_for(exc: Exception, protocol: str) -> tuple[str, str]:
    """The (code, message) a handler's exception becomes on the wire.

    A ``LetsError`` keeps its code and message (that is how ``below_floor`` reaches the
    payer's node); any other exception is our bug, not the requester's business: it becomes
    ``peer_error`` with a generic message (the caller logs the traceback).
    """
    if isinstance(exc, LetsError) and is_error_code(exc.code):
        return exc.code, exc.message[:MAX_ERROR_MESSAGE_CHARS]
    return RemoteError.code, f"the peer failed to handle a {protocol} request"


def remote_error(code: object, message: object) -> RemoteError:
    """The exception a requester raises for an error reply (codes checked, text bounded)."""
    if not is_error_code(code):
        code = RemoteError.code
    text = message[:MAX_ERROR_MESSAGE_CHARS] if isinstance(message, str) else ""
    return RemoteError(text or str(code), code=str(code))
