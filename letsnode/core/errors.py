"""The exception tree of letsnode, written down once.

    LetsError                      every error letsnode raises on purpose
    ├── LocalProtocolError         we were about to do something invalid (our bug or bad input)
    │   └── InvalidInput           a user-supplied value is malformed (amount, handle, CSV row)
    ├── RemoteProtocolError        bytes from elsewhere are malformed or forged: blame the sender
    │   ├── DecodeError            not canonical msgpack, wrong shape, too large, trailing bytes
    │   └── BadSignature           a signature does not verify
    ├── LedgerRefusal              a well-formed request the ledger rules refuse
    │                              (below_floor, above_ceiling, replayed_order, frozen, ...)
    ├── Unauthenticated            no valid session (sign in again)
    ├── Forbidden                  the caller may not do this (not a steward, closed account)
    ├── NotFound                   no such join request, listing, round, ...
    └── JoinPending                the key's request to join awaits a steward

Every error carries a stable machine ``code`` (used by the CLI, the API's problem+json and
the audit report) and a message that names what was wrong.
"""

from __future__ import annotations


class LetsError(Exception):
    """Base class: ``code`` is stable, ``str(err)`` is a sentence a user can act on."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class LocalProtocolError(LetsError):
    code = "local_protocol_error"


class InvalidInput(LocalProtocolError):
    code = "invalid_input"


class RemoteProtocolError(LetsError):
    code = "remote_protocol_error"


class DecodeError(RemoteProtocolError):
    code = "decode_error"


class BadSignature(RemoteProtocolError):
    code = "bad_signature"


class LedgerRefusal(LetsError):
    """A request the ledger rules refuse; nothing in the ledger changed."""

    code = "refused"


class Unauthenticated(LetsError):
    code = "unauthenticated"


class Forbidden(LetsError):
    code = "forbidden"


class NotFound(LetsError):
    code = "not_found"


class JoinPending(LetsError):
    code = "join_pending"
