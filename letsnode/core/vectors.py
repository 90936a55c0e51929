"""Golden conformance vectors: fixed seeds in, exact bytes, hashes and signatures out.

``all_vectors()`` is what protocol/vectors/*.json hold; the test suite recomputes it and
compares byte for byte, and another implementation can check itself against the files.
"""

from __future__ import annotations

from typing import Any

import msgpack

from letsnode.core.amounts import format_amount, parse_decimal
from letsnode.core.codec import pack
from letsnode.core.crypto import DOMAIN_ENTRY, DOMAIN_ORDER, SigningKey
from letsnode.core.entries import Admit, Body, Entry, Genesis, Limits, Order, Payment, Status
from letsnode.core.errors import LetsError
from letsnode.core.ledger import Ledger
from letsnode.core.lines import LineTerms
from letsnode.core.logformat import LogHeader
from letsnode.core.routing import Advert, AdvertLine
from letsnode.core.transfers import (
    Decision,
    Invoice,
    Prepare,
    Reject,
    RemoteOrder,
    condition_of,
    preimage_for,
)

NODE_SEED = bytes([1]) * 32
MARIA_SEED = bytes([2]) * 32
AHMED_SEED = bytes([3]) * 32
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


def _keys() -> tuple[SigningKey, SigningKey, SigningKey]:
    return SigningKey(NODE_SEED), SigningKey(MARIA_SEED), SigningKey(AHMED_SEED)


def sample_log() -> list[Entry]:
    """Six entries covering every body kind, with fixed keys and timestamps."""
    node, maria, ahmed = _keys()
    cid = node.public
    order = Order(cid, "maria", "ahmed", 150, 1, "bread")
    bodies: list[Body] = [
        Genesis(cid, "Valencia Time Bank", "valencia", "HOUR", 2, -2000, 4000),
        Admit("maria", maria.public, "member", -2000, 4000),
        Admit("ahmed", ahmed.public, "member", -5000, None),
        Limits("maria", -3000, 4000),
        Payment(order.sign(maria)),
        Status("ahmed", "frozen"),
    ]
    ledger = Ledger()
    return [ledger.append(node, T0 + 1000 * i, body) for i, body in enumerate(bodies)]


def keys_vectors() -> dict[str, Any]:
    node, maria, ahmed = _keys()
    return {
        "description": "Ed25519 seeds and their public keys; a community id is its node key",
        "keys": [
            {"name": n, "seed": k.seed.hex(), "public": k.public.hex()}
            for n, k in (("node", node), ("maria", maria), ("ahmed", ahmed))
        ],
        "domains": {"entry": DOMAIN_ENTRY.hex(), "order": DOMAIN_ORDER.hex()},
    }


def log_vectors() -> dict[str, Any]:
    entries = sample_log()
    genesis = entries[0].body
    assert isinstance(genesis, Genesis)
    header = LogHeader(genesis.community_id, len(entries), entries[-1].hash)
    export = header.encode() + b"".join(e.record() for e in entries)
    payment = entries[4].body
    assert isinstance(payment, Payment)
    return {
        "description": "A log of every entry kind signed by the node key; export is the "
        "replication file of the whole log",
        "order": {
            "bytes": payment.signed.data.hex(),
            "signature": payment.signed.signature.hex(),
            "signer": "maria",
        },
        "entries": [
            {
                "seq": e.seq,
                "kind": e.body.KIND,
                "timestamp_ms": e.timestamp_ms,
                "prev": e.prev.hex(),
                "bytes": e.data.hex(),
                "signature": e.signature.hex(),
                "hash": e.hash.hex(),
                "record": e.record().hex(),
            }
            for e in entries
        ],
        "head": entries[-1].hash.hex(),
        "export": export.hex(),
    }


def amount_vectors() -> dict[str, Any]:
    valid = [
        ("1.50", 2),
        ("1.5", 2),
        ("12", 0),
        ("0.00000001", 8),
        ("-3.25", 2),
        ("9223372036854775807", 0),
        ("-9223372036854775808", 0),
        ("007.10", 2),
    ]
    invalid = [
        ("1.505", 2),
        ("1e3", 2),
        ("NaN", 2),
        ("", 2),
        (" 1", 2),
        ("1,5", 2),
        ("+1", 2),
        ("1.", 2),
        (".5", 2),
        ("9223372036854775808", 0),
        ("١٢", 0),
        ("0x10", 0),
        ("1.5", 0),
    ]
    out_valid = []
    for text, scale in valid:
        minor = parse_decimal(text, scale)
        out_valid.append(
            {"text": text, "scale": scale, "minor": minor, "formatted": format_amount(minor, scale)}
        )
    out_invalid = []
    for text, scale in invalid:
        try:
            parse_decimal(text, scale)
        except LetsError:
            out_invalid.append({"text": text, "scale": scale})
        else:
            raise AssertionError(f"{text!r} should be invalid")
    return {
        "description": "Decimal amounts and their minor units",
        "valid": out_valid,
        "invalid": out_invalid,
    }


def reject_vectors() -> dict[str, Any]:
    """Encodings every decoder must refuse, each with the reason."""
    entry = sample_log()[1]
    good = entry.data
    # The same value with the seq (0x01, a positive fixint) widened to uint8 (0xcc 0x01).
    seq_at = good.index(b"\x01", len(pack(["letsnode/entry", 1])) - 1)
    widened = good[:seq_at] + b"\xcc" + good[seq_at:]
    return {
        "description": "Entry bytes that must be rejected",
        "rejects": [
            {"reason": "trailing byte", "bytes": (good + b"\x00").hex()},
            {"reason": "not canonical (integer not in its shortest form)", "bytes": widened.hex()},
            {"reason": "float value", "bytes": pack_with_float().hex()},
            {
                "reason": "unknown entry kind",
                "bytes": pack(["letsnode/entry", 1, 1, bytes(32), T0, ["teleport", "x"]]).hex(),
            },
            {
                "reason": "wrong version",
                "bytes": pack(
                    ["letsnode/entry", 2, 1, bytes(32), T0, ["status", "a", "active"]]
                ).hex(),
            },
        ],
    }


def pack_with_float() -> bytes:
    return bytes(msgpack.packb(["letsnode/entry", 1, 1, bytes(32), 1.5, ["status"]]))


def federation_vectors() -> dict[str, Any]:
    """Every signed federation message, with fixed keys (node = A, maria's = B's node)."""
    a, b, c = _keys()
    tid = bytes(range(16))
    line_id = bytes(range(16, 32))
    terms = LineTerms(
        line_id, 1, a.public, "valencia", b.public, "tunis", 1, 1, -50_000, 50_000, -50_000, 50_000
    )
    preimage = preimage_for(c.seed, tid)
    invoice = Invoice(tid, c.public, "karim", condition_of(preimage))
    inv_data, inv_sig = invoice.sign(c)
    order = RemoteOrder(a.public, "maria", c.public, "karim", 300, 7, "tea")
    prepare = Prepare(
        tid,
        0,
        line_id,
        300,
        invoice.condition,
        T0 + 60_000,
        (c.public,),
        "maria@valencia",
        "tea",
        inv_data,
        inv_sig,
    )
    advert = Advert(
        a.public,
        "valencia",
        "Valencia Time Bank",
        "HOUR",
        2,
        ("/ip4/127.0.0.1/tcp/4001",),
        T0,
        (AdvertLine(b.public, line_id, 1, 1, 50_000, 50_000),),
    )

    def signed(data: bytes, sig: bytes, signer: str) -> dict[str, str]:
        return {"bytes": data.hex(), "signature": sig.hex(), "signer": signer}

    return {
        "description": "Federation messages signed by fixed keys: node (A), maria (B), "
        "ahmed (C) from keys.json; preimage = keyed BLAKE2b of the transfer id",
        "line_terms": signed(terms.encode(), terms.sign(a), "node")
        | {"signature_b": terms.sign(b).hex()},
        "remote_order": signed(*order.sign(b), "maria"),
        "invoice": signed(inv_data, inv_sig, "ahmed") | {"preimage": preimage.hex()},
        "prepare": signed(*prepare.sign(a), "node"),
        "decision": signed(*Decision(tid, 0, "fulfilled", preimage).sign(a), "node"),
        "reject": signed(*Reject(tid, 0, "no_route", "no line").sign(b), "maria"),
        "advert": signed(*advert.sign(a), "node"),
    }


def all_vectors() -> dict[str, Any]:
    return {
        "keys": keys_vectors(),
        "log": log_vectors(),
        "amounts": amount_vectors(),
        "rejects": reject_vectors(),
        "federation": federation_vectors(),
    }
