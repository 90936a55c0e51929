"""Errors as RFC 9457 problem documents (``application/problem+json``) with a stable ``code``.

The codes are those of the core (``LetsError.code``: ``below_floor``, ``bad_signature``,
...) plus a few of the web layer (``unauthenticated``, ``rate_limited``, ...). The wallet
translates the code; ``detail`` is the core's English sentence, for logs and operators.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from letsnode.core.errors import (
    BadSignature,
    LedgerRefusal,
    LetsError,
    LocalProtocolError,
    RemoteProtocolError,
)

PROBLEM_TYPE = "application/problem+json"

# Codes whose HTTP status is not the default of their class.
STATUS_BY_CODE = {
    "unauthenticated": 401,
    "forbidden": 403,
    "join_pending": 403,
    "not_found": 404,
    "unknown_account": 404,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "invalid_policy": 422,
    "clearing_busy": 409,
    "no_federation": 503,
}


def status_for(err: LetsError) -> int:
    if err.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[err.code]
    if isinstance(err, BadSignature):
        return 403
    if isinstance(err, LocalProtocolError | RemoteProtocolError):
        return 400
    if isinstance(err, LedgerRefusal):
        return 409
    return 400


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    body = {
        "type": f"/api/problems#{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return Response(
        json.dumps(body, ensure_ascii=False), status_code=status, media_type=PROBLEM_TYPE
    )


async def lets_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LetsError)
    return problem(status_for(exc), exc.code, exc.message)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail))
