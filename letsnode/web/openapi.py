"""The OpenAPI 3 document of the JSON API, served at ``/api/openapi.json``.

Written by hand, next to the routes it describes; a test checks that every API route is in
it. Errors are problem documents (``application/problem+json``) with a stable ``code``.
"""

from __future__ import annotations

from typing import Any

from letsnode.web.common import MAX_JSON_DEPTH
from letsnode.web.security import MAX_BODY_BYTES

S = dict[str, Any]


def obj(required: list[str], **props: S) -> S:
    return {"type": "object", "required": required, "properties": props}


STR: S = {"type": "string"}
HEX: S = {"type": "string", "pattern": "^[0-9a-f]*$"}


def hex_bytes(n: int) -> S:
    """A byte string of exactly ``n`` bytes as lowercase hex (2n digits)."""
    return {**HEX, "minLength": 2 * n, "maxLength": 2 * n, "description": f"{n} bytes, hex"}


KEY = hex_bytes(32)  # an Ed25519 public key
SIGNATURE = hex_bytes(64)  # an Ed25519 signature
CHALLENGE = hex_bytes(32)
INT: S = {"type": "integer"}
DECIMAL: S = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "example": "1.50"}

# (path, method) -> (summary, security: "none" | "session" | "steward" | "join", request
# schema | None)
OPERATIONS: dict[tuple[str, str], tuple[str, str, S | None]] = {
    ("/api/community", "get"): (
        "The community: name, unit, scale, default limits, the wallet's languages, and"
        " unit_names: for each language with a name for the unit, its plural forms (CLDR"
        " categories one, other and, where the language has them, zero, two, few, many).",
        "none",
        None,
    ),
    ("/api/session/challenge", "post"): (
        "A fresh challenge for a key (valid 2 minutes, once).",
        "none",
        obj(["key"], key=KEY),
    ),
    ("/api/session", "post"): (
        "Sign in: the key's signature of 'letsnode/session/v1\\0' || community id || challenge."
        " Sets an HttpOnly SameSite=Strict cookie; with token=true also returns the token.",
        "none",
        obj(
            ["key", "challenge", "signature"],
            key=KEY,
            challenge=CHALLENGE,
            signature=SIGNATURE,
            token={"type": "boolean"},
        ),
    ),
    ("/api/session", "delete"): ("Sign out.", "session", None),
    ("/api/session", "get"): (
        "Who this browser is, always 200: member (handle, key, steward) when a session is"
        " open, else null; join (status pending, approved or rejected, handle, key) when the"
        " browser holds a join token cookie (set by a join that waits for a steward).",
        "none",
        None,
    ),
    ("/api/join/events", "get"): (
        "For a joiner waiting for a steward (the join token cookie): Server-Sent Events, a"
        " 'join' event with status and handle at once and again when a steward approves or"
        " rejects the request; then the stream ends. unauthenticated (401) without a known"
        " token; rate_limited (429).",
        "join",
        None,
    ),
    ("/api/join", "post"): (
        "Ask to join with a handle: signature of 'letsnode/join/v1\\0' || community id ||"
        " challenge || handle. With a valid invite the account opens at once (201), else a"
        " steward decides (202).",
        "none",
        obj(
            ["handle", "key", "challenge", "signature"],
            handle=STR,
            key=KEY,
            challenge=CHALLENGE,
            signature=SIGNATURE,
            invite=STR,
        ),
    ),
    ("/api/me", "get"): (
        "My account: balance, floor, ceiling, available amounts.",
        "session",
        None,
    ),
    ("/api/me/language", "put"): (
        "Remember my language.",
        "session",
        obj(["language"], language=STR),
    ),
    ("/api/members", "get"): (
        "Active members to pay (?q= part of a handle, at most 50): handle, kind, recent"
        " (paid or was paid by me lately) and last_payment; recent ones first, newest"
        " first, then by handle.",
        "session",
        None,
    ),
    ("/api/payments/check", "get"): (
        "Check a payment before signing it (?to=handle or handle@community&amount=): 200"
        " with ok, code (null, or why the node would refuse it: invalid_handle, pay_self,"
        " unknown_account, account_frozen, account_closed, below_floor, above_ceiling,"
        " invalid_address, unknown_community, federation_unavailable, ...), payee (handle,"
        " local, kind or the other community's id, short, name, unit, scale) and, with an"
        " amount, amount, balance_after and available_after. For another community only the"
        " payer's side is checked. A missing payee or a malformed amount is invalid_input"
        " (400); rate_limited (429).",
        "session",
        None,
    ),
    ("/api/payments/{seq}", "get"): (
        "One payment (for its payer, its payee and stewards; not_found otherwise): the"
        " payment, unit, nonce, community_id, the order its payer signed (hex) and that"
        " signature, and the log entry's seq, hash, prev and node signature.",
        "session",
        None,
    ),
    ("/api/orders/next", "get"): ("Community id and my next order nonce.", "session", None),
    ("/api/payments", "post"): (
        "Pay: the canonical msgpack order (hex) and the payer's Ed25519 signature of"
        " 'letsnode/order/v1\\0' || order. Refusals change nothing (below_floor, above_ceiling,"
        " replayed_order, bad_signature, account_frozen, unknown_account, ...).",
        "none",
        obj(["order", "signature"], order=HEX, signature=SIGNATURE),
    ),
    ("/api/resolve", "get"): (
        "Find a member of another community (?address=handle@community; the community by"
        " short name, community id or peer id): its id, short name, name, unit and scale;"
        " local=true when it is this community. unknown_community (404),"
        " ambiguous_community (409), federation_unavailable (503).",
        "session",
        None,
    ),
    ("/api/transfers", "post"): (
        "Pay a member of another community across the credit lines: the canonical msgpack"
        " remote order (hex) ['letsnode/remote-order', 1, community id, payer, payee"
        " community, payee handle, amount, nonce, memo] and the payer's Ed25519 signature of"
        " 'letsnode/remote-order/v1\\0' || order; the nonce comes from /api/orders/next. The"
        " payer must be the session's member. Waits for the outcome (seconds): 200 with"
        " state fulfilled, rejected (code says why) or expired; nothing is taken unless"
        " fulfilled. Refusals before anything is held are problems (no_route,"
        " unknown_account, below_floor, bad_signature, replayed_order, ...); 503"
        " federation_unavailable.",
        "session",
        obj(["order", "signature"], order=HEX, signature=SIGNATURE),
    ),
    ("/api/transfers", "get"): (
        "My payments with other communities, newest first (?limit=, at most 200): direction"
        " out/in, state pending/fulfilled/rejected/expired, counterparty handle@short,"
        " amount in this community's unit, memo, time.",
        "session",
        None,
    ),
    ("/api/history", "get"): (
        "My payments, newest first (?counterparty=&from=&to=).",
        "session",
        None,
    ),
    ("/api/history.csv", "get"): (
        "The same as CSV: seq, time, payer, payee, paid, received, unit, memo (what I paid"
        " and what I received in columns of their own, unsigned).",
        "session",
        None,
    ),
    ("/api/payment-requests/qr.svg", "get"): (
        "QR code (SVG) of a payment request link (?to=&amount=&memo=).",
        "session",
        None,
    ),
    ("/api/events", "get"): ("Live updates (Server-Sent Events): my new entries.", "session", None),
    ("/api/listings", "get"): (
        "Search open offers and wants (?q=&kind=&category=).",
        "session",
        None,
    ),
    ("/api/listings", "post"): (
        "Post an offer or a want.",
        "session",
        obj(
            ["kind", "category", "title"],
            kind={"enum": ["offer", "want"]},
            category=STR,
            title=STR,
            description=STR,
            contact=STR,
        ),
    ),
    ("/api/listings/{listing_id}", "put"): (
        "Edit my listing.",
        "session",
        obj([], kind=STR, category=STR, title=STR, description=STR),
    ),
    ("/api/listings/{listing_id}", "delete"): ("Withdraw my listing.", "session", None),
    ("/api/admin/join-requests", "get"): ("Pending join requests.", "steward", None),
    ("/api/admin/join-requests/{request_id}/approve", "post"): (
        "Approve: opens the account.",
        "steward",
        None,
    ),
    ("/api/admin/join-requests/{request_id}/reject", "post"): ("Reject.", "steward", None),
    ("/api/admin/accounts", "get"): (
        "Members' accounts by handle, a page at a time (?q= part of a handle, status="
        "active|frozen|closed, page=, per_page= at most 100, default 20): accounts, total,"
        " page, pages, per_page.",
        "steward",
        None,
    ),
    ("/api/admin/accounts/{handle}", "get"): (
        "One member: account, limits and room, status, steward, language, and the five"
        " newest payments. not_found (404) for a line or system account.",
        "steward",
        None,
    ),
    ("/api/admin/accounts/{handle}/limits", "post"): (
        "Set floor and ceiling (decimals; ceiling empty for none).",
        "steward",
        obj(["floor"], floor=DECIMAL, ceiling=DECIMAL),
    ),
    ("/api/admin/accounts/{handle}/status", "post"): (
        "Freeze, unfreeze or close (for good; the balance must be zero: balance_not_zero).",
        "steward",
        obj(["status"], status={"enum": ["active", "frozen", "closed"]}),
    ),
    ("/api/admin/invites", "post"): (
        "Make an invite code and link.",
        "steward",
        obj([], uses=INT, hours={"type": "number"}),
    ),
    ("/api/admin/unit-names", "get"): (
        "The unit code and, for each language of the wallet, the forms shown (null where"
        " none is known), whether the community set them (custom) and the default.",
        "steward",
        None,
    ),
    ("/api/admin/unit-names/{lang}", "put"): (
        "Name the unit in a language: plural forms one and other (needed) and zero, two,"
        " few, many (optional), each at most 32 characters. invalid_input names what was"
        " wrong; rate_limited (429).",
        "steward",
        obj(
            ["one", "other"],
            zero=STR,
            one=STR,
            two=STR,
            few=STR,
            many=STR,
            other=STR,
        ),
    ),
    ("/api/admin/unit-names/{lang}", "delete"): (
        "Go back to the default name of the unit code in a language.",
        "steward",
        None,
    ),
    ("/api/admin/audit", "get"): ("Audit the whole ledger now.", "steward", None),
    ("/api/admin/clearing", "get"): (
        "Clearing rounds between communities: the policy (accept or refuse: whether this"
        " community signs rounds), federation (whether this node can run one) and the 50"
        " newest rounds it ran or joined: round (nonce), round_id, role, state, coordinator,"
        " cleared (the round's total set-off, proposed if it did not commit) and"
        " cleared_minor, cleared_here (our own debt cleared), communities (statements in"
        " the snapshot), lines (cleared by the proposal), reason, started, decided.",
        "steward",
        None,
    ),
    ("/api/admin/clearing/{round}/plot.png", "get"): (
        "A PNG chart of each line's utilisation before and after the round (round = its"
        " nonce, 32 hex digits); not_found (404) for an unknown round.",
        "steward",
        None,
    ),
    ("/api/admin/clearing/policy", "post"): (
        "Set whether this community signs clearing rounds; invalid_policy (422) for any"
        " other value.",
        "steward",
        obj(["policy"], policy={"enum": ["accept", "refuse"]}),
    ),
    ("/api/admin/clearing/run", "post"): (
        "Coordinate one clearing round now with every community this node knows; waits"
        " for the outcome (seconds): round, round_id, state (committed, aborted or empty),"
        " cleared and cleared_minor, communities, participants, unreachable, reason."
        " no_federation (503) when the node runs without libp2p, clearing_busy (409) while"
        " another round started here is running.",
        "steward",
        None,
    ),
    ("/api/openapi.json", "get"): ("This document.", "none", None),
}

PROBLEM: S = obj(
    ["type", "title", "status", "code", "detail"],
    type=STR,
    title=STR,
    status=INT,
    code=STR,
    detail=STR,
)


def operation(path: str, method: str, summary: str, security: str, body: S | None) -> S:
    op: S = {
        "operationId": method
        + "_"
        + "_".join(part.strip("{}") for part in path.strip("/").split("/")),
        "summary": summary,
        "responses": {
            "200": {"description": "OK"},
            "default": {
                "description": "A problem; `code` says which.",
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            },
        },
    }
    params = [p[1:-1] for p in path.split("/") if p.startswith("{")]
    if params:
        op["parameters"] = [
            {"name": n, "in": "path", "required": True, "schema": STR} for n in params
        ]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if security == "join":
        op["security"] = [{"join": []}]
    elif security != "none":
        op["security"] = [{"session": []}, {"bearer": []}]
        if security == "steward":
            op["description"] = "Stewards only (403 forbidden otherwise)."
    if method != "get":
        op.setdefault("parameters", []).append(
            {
                "name": "X-Letsnode",
                "in": "header",
                "required": True,
                "schema": {"enum": ["1"]},
                "description": "CSRF guard: always 1.",
            }
        )
    return op


def openapi_document(version: str) -> S:
    paths: S = {}
    for (path, method), (summary, security, body) in OPERATIONS.items():
        paths.setdefault(path, {})[method] = operation(path, method, summary, security, body)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "letsnode node API",
            "version": version,
            "description": (
                f"Request bodies are JSON objects of at most {MAX_BODY_BYTES} bytes, nested"
                f" at most {MAX_JSON_DEPTH} levels deep (else 413 payload_too_large or 400"
                " invalid_input). Keys are 32 bytes and signatures 64, both as hex. Errors"
                " are application/problem+json with a stable code."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "letsnode_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "join": {"type": "apiKey", "in": "cookie", "name": "letsnode_join"},
            },
        },
    }
