"""Golden conformance vectors: fixed seeds in, exact bytes, hashes and signatures out.

``all_vectors()`` is what protocol/vectors/*.json hold; the test suite recomputes it and
compares byte for byte, and another implementation can check itself against the files.
"""

from __future__ import annotations

from typing import Any

import msgpack

from letsnode.core.amounts import format_amount, parse_decimal
from letsnode.core.clearing.rounds import line_debts, propose, snapshot_digest
from letsnode.core.crypto import DOMAIN_ENTRY, DOMAIN_ORDER, SigningKey
from letsnode.core.errors import DecodeError, LetsError
from letsnode.core.rules.clearing import ledger_statement
from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.adverts import Advert, AdvertLine
from letsnode.core.wire.bodies import Clear, Hold, LineAgreement, Reveal, Settle
from letsnode.core.wire.clearing import (
    DOMAIN_STATEMENT,
    DOMAIN_VOTE,
    PROPOSAL_TYPE,
    STATEMENT_TYPE,
    ClearingItem,
    LineView,
    Proposal,
    SignedStatement,
    Statement,
    round_id,
    sign_vote,
)
from letsnode.core.wire.codec import Wire, pack
from letsnode.core.wire.entries import (
    ENTRY_TYPE,
    Admit,
    Body,
    Entry,
    Genesis,
    Limits,
    Order,
    Payment,
    Status,
)
from letsnode.core.wire.lines import LineTerms, SignedLine, convert
from letsnode.core.wire.logformat import LogHeader
from letsnode.core.wire.transfers import (
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
            *clear_entry_rejects(),
        ],
    }


def clear_entry_rejects() -> list[dict[str, str]]:
    """``clear`` entries (clearing.json's, altered) that must not decode."""
    clear = clearing_log()[-1]
    body = clear.body
    assert isinstance(body, Clear)
    keys = clearing_keys()
    pairs = [*body.votes, (keys["d"].public, sign_vote(keys["d"], body.proposal_data))]
    votes: list[Wire] = [[c, s] for c, s in body.votes]
    outsider: list[Wire] = [[c, s] for c, s in sorted(pairs)]
    p_wire = body.proposal.to_wire()
    assert isinstance(p_wire[6], list)
    first = p_wire[6][0]
    assert isinstance(first, list) and isinstance(first[3], int)
    unbalanced = pack([*p_wire[:6], [[*first[:3], first[3] - 1], *p_wire[6][1:]]])
    names = {k.public: n for n, k in keys.items()}
    signed_by_all: list[Wire] = [[c, sign_vote(keys[names[c]], unbalanced)] for c, _ in body.votes]
    cases: list[tuple[str, list[Wire]]] = [
        ("clear entry without every participant's vote", ["clear", body.proposal_data, votes[:-1]]),
        ("clear entry with its votes out of order", ["clear", body.proposal_data, votes[::-1]]),
        ("clear entry with a vote of a non-participant", ["clear", body.proposal_data, outsider]),
        (
            "clear entry whose proposal changes a net position",
            ["clear", unbalanced, signed_by_all],
        ),
    ]
    return [
        {
            "reason": reason,
            "bytes": pack([ENTRY_TYPE, 1, clear.seq, clear.prev, clear.timestamp_ms, wire]).hex(),
        }
        for reason, wire in cases
    ]


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


# -- clearing rounds (SPEC §8) ---------------------------------------------------------

# Communities for the clearing vectors: A, B, C and D state; E does not answer. Maria
# (keys.json) is a member of A.
CLEARING_SEEDS = {
    "a": bytes([0x11]) * 32,
    "b": bytes([0x12]) * 32,
    "c": bytes([0x13]) * 32,
    "d": bytes([0x14]) * 32,
    "e": bytes([0x15]) * 32,
}
CLEARING_SHORTS = {"a": "valencia", "b": "tunis", "c": "lagos", "d": "quito", "e": "lima"}
CLEARING_NONCE = bytes(range(0xA0, 0xB0))
CLEARING_LIMIT = 5_000


def _line_id(k: int) -> bytes:
    return bytes([0x40 + k]) * 16


def clearing_keys() -> dict[str, SigningKey]:
    return {name: SigningKey(seed) for name, seed in CLEARING_SEEDS.items()}


def _clearing_line(k: int, a: str, b: str) -> LineTerms:
    """Line ``k`` between ``a`` and ``b``, at par, each side's mirror within ±50.00."""
    keys = clearing_keys()
    limit = CLEARING_LIMIT
    return LineTerms(
        _line_id(k),
        1,
        keys[a].public,
        CLEARING_SHORTS[a],
        keys[b].public,
        CLEARING_SHORTS[b],
        1,
        1,
        -limit,
        limit,
        -limit,
        limit,
    )


def clearing_log_before_round() -> list[Entry]:
    """Community A's log up to the round, every leg settled: A's member maria paid 12.34
    to B (A owes B on line 1) and 6.50 to D (A owes D on line 6), and was paid 15.00
    from C (C owes A on line 3)."""
    keys = clearing_keys()
    a, c = keys["a"], keys["c"]
    maria = SigningKey(MARIA_SEED)
    expiry = T0 + 60_000
    tid_in = bytes([0x52]) * 16
    pre_in = preimage_for(a.seed, tid_in)
    invoice = Invoice(tid_in, a.public, "maria", condition_of(pre_in))
    prepare = Prepare(
        tid_in,
        0,
        _line_id(3),
        1500,
        invoice.condition,
        expiry,
        (),
        "amara@lagos",
        "rent",
        *invoice.sign(a),
    )
    decision = Decision(tid_in, 0, "fulfilled", pre_in).sign(c)

    def agreed(terms: LineTerms) -> LineAgreement:
        sig = {k.public: terms.sign(k) for k in keys.values()}
        return LineAgreement(SignedLine(terms.encode(), sig[terms.a_id], sig[terms.b_id], terms))

    def paid(tid: bytes, partner: str, payee: str, amount: int, nonce: int) -> list[Body]:
        preimage = preimage_for(keys[partner].seed, tid)
        order = RemoteOrder(a.public, "maria", keys[partner].public, payee, amount, nonce, "")
        line = f"line-{CLEARING_SHORTS[partner]}"
        return [
            Hold(
                tid,
                "out",
                "maria",
                line,
                amount,
                condition_of(preimage),
                expiry,
                *order.sign(maria),
            ),
            Settle(tid, "out", preimage, b"", b""),
        ]

    bodies: list[Body] = [
        Genesis(a.public, "Valencia Time Bank", "valencia", "HOUR", 2, -10_000, 10_000),
        Admit("maria", maria.public, "member", -10_000, 10_000),
        agreed(_clearing_line(1, "a", "b")),
        agreed(_clearing_line(3, "c", "a")),
        agreed(_clearing_line(6, "a", "d")),
        *paid(bytes([0x51]) * 16, "b", "karim", 1234, 1),
        Hold(
            tid_in, "in", "line-lagos", "maria", 1500, invoice.condition, expiry, *prepare.sign(c)
        ),
        Reveal(tid_in, pre_in),
        Settle(tid_in, "in", pre_in, *decision),
        *paid(bytes([0x53]) * 16, "d", "sisa", 650, 2),
    ]
    ledger = Ledger()
    return [ledger.append(a, T0 + 1000 * i, body) for i, body in enumerate(bodies)]


def _replayed(entries: list[Entry]) -> Ledger:
    ledger = Ledger()
    for entry in entries:
        ledger.apply(entry)
    return ledger


def clearing_snapshot() -> list[SignedStatement]:
    """Statements of A (made from its log), B, C and D, sorted by community id.

    Lines (at rate 1/1 unless said): 1 A–B, A owes B 12.34; 2 B–C, B states it owes C
    10.00 and C states 9.99 (a settle seen on one side only: the debt is 9.99); 3 C–A, C
    owes A 15.00; 4 C–D at rate 3/2, 7.01 of C arrived as 10.51 of D (rounded down from
    10.515): not at par, no debt; 5 D–B, D owes B 4.00; 6 A–D, A owes D 6.50; 7 D–E, D
    states it owes E 3.00, but E is not in the snapshot: no debt.
    """
    keys = clearing_keys()
    ids = {name: k.public for name, k in keys.items()}
    ts = T0 + 20_000
    a_statement = ledger_statement(
        _replayed(clearing_log_before_round()), keys["a"], CLEARING_NONCE, ts
    )
    limit = CLEARING_LIMIT

    def view(k: int, partner: str, balance: int, rate: tuple[int, int] = (1, 1)) -> LineView:
        return LineView(_line_id(k), ids[partner], balance, -limit, limit, *rate)

    others = {
        "b": (view(1, "a", -1234), view(2, "c", 1000), view(5, "d", -400)),
        "c": (view(2, "b", -999), view(3, "a", 1500), view(4, "d", 701, (3, 2))),
        "d": (
            view(4, "c", -convert(701, 3, 2), (3, 2)),
            view(5, "b", 400),
            view(6, "a", -650),
            view(7, "e", 300),
        ),
    }
    statements = [a_statement]
    for name, views in others.items():
        g = Statement(CLEARING_NONCE, ids[name], CLEARING_SHORTS[name], "HOUR", 2, ts, views)
        statements.append(g.sign(keys[name]))
    return sorted(statements, key=lambda s: s.statement.community_id)


def clearing_proposal() -> tuple[list[SignedStatement], Proposal, bytes, dict[bytes, bytes]]:
    """The snapshot, the proposal D coordinates from it, its bytes and every vote."""
    keys = clearing_keys()
    snapshot = clearing_snapshot()
    proposal = propose(snapshot, CLEARING_NONCE, keys["d"].public, T0 + 30_000)
    assert proposal is not None
    data = proposal.encode()
    names = {k.public: name for name, k in keys.items()}
    votes = {c: sign_vote(keys[names[c]], data) for c in proposal.participants}
    return snapshot, proposal, data, votes


def clearing_log() -> list[Entry]:
    """A's log with the round applied: its last entry is the ``clear`` entry."""
    entries = clearing_log_before_round()
    _, _, data, votes = clearing_proposal()
    ledger = _replayed(entries)
    clear = ledger.append(clearing_keys()["a"], T0 + 25_000, Clear.of(data, votes))
    return [*entries, clear]


def _hand_proposal(items: list[tuple[int, str, str, int]]) -> tuple[bytes, dict[bytes, bytes]]:
    """A proposal not derived from a snapshot (the ledger rule does not need one), with
    every participant's vote."""
    keys = clearing_keys()
    ids = {name: k.public for name, k in keys.items()}
    proposal = Proposal(
        CLEARING_NONCE,
        ids["d"],
        bytes(32),
        T0 + 30_000,
        tuple(ClearingItem(_line_id(k), ids[x], ids[y], n) for k, x, y, n in items),
    )
    data = proposal.encode()
    names = {ids[n]: n for n in ids}
    return data, {c: sign_vote(keys[names[c]], data) for c in proposal.participants}


def clearing_rule_rejects() -> list[dict[str, Any]]:
    """Well-formed next entries of A's log that the clear rule refuses."""
    keys = clearing_keys()
    a = keys["a"]
    log = clearing_log()
    before = log[:-1]
    _, _, data, votes = clearing_proposal()
    forged = dict(votes)
    forged[keys["c"].public] = sign_vote(keys["d"], data)
    cases: list[tuple[str, str, list[Entry], Body]] = [
        ("the same round applied again", "duplicate_round", log, Clear.of(data, votes)),
        ("C's vote made with D's key", "bad_signature", before, Clear.of(data, forged)),
        (
            "a round of B, C and D only",
            "not_in_round",
            before,
            Clear.of(*_hand_proposal([(2, "b", "c", 10), (4, "c", "d", 10), (5, "d", "b", 10)])),
        ),
        (
            "line 1 is A's line with B, not with C",
            "not_a_line",
            before,
            Clear.of(*_hand_proposal([(1, "a", "c", 10), (3, "c", "a", 10)])),
        ),
    ]
    out = []
    for reason, code, prefix, body in cases:
        entry = Entry.create(a, len(prefix), prefix[-1].hash, T0 + 26_000, body)
        try:
            _replayed(prefix).apply(entry)
        except LetsError as err:
            assert err.code == code, (reason, err.code)
        else:
            raise AssertionError(f"{reason}: the clear rule should refuse it")
        out.append(
            {
                "reason": reason,
                "code": code,
                "after": len(prefix),
                "bytes": entry.data.hex(),
                "signature": entry.signature.hex(),
            }
        )
    return out


def _must_not_decode(decode: Any, cases: list[tuple[str, bytes]]) -> list[dict[str, str]]:
    for reason, data in cases:
        try:
            decode(data)
        except DecodeError:
            continue
        raise AssertionError(f"{reason}: should not decode")
    return [{"reason": reason, "bytes": data.hex()} for reason, data in cases]


def clearing_decode_rejects() -> dict[str, list[dict[str, str]]]:
    snapshot, proposal, _, _ = clearing_proposal()
    statement = snapshot[0].statement
    s_wire = statement.to_wire()
    lines = s_wire[8]
    assert isinstance(lines, list) and len(lines) >= 2
    p_wire = proposal.to_wire()
    items = p_wire[6]
    assert isinstance(items, list) and len(items) >= 2
    first = items[0]
    assert isinstance(first, list) and isinstance(first[3], int)
    many = [lines[0]] * 60  # more than 4096 bytes
    return {
        "statement_rejects": _must_not_decode(
            Statement.decode,
            [
                ("type tag of a proposal", pack([PROPOSAL_TYPE, *s_wire[1:]])),
                ("version 2", pack([s_wire[0], 2, *s_wire[2:]])),
                ("lines not sorted by line id", pack([*s_wire[:8], lines[::-1]])),
                ("over 4096 bytes", pack([*s_wire[:8], many])),
                ("trailing byte", statement.encode() + b"\x00"),
            ],
        ),
        "proposal_rejects": _must_not_decode(
            Proposal.decode,
            [
                ("type tag of a statement", pack([STATEMENT_TYPE, *p_wire[1:]])),
                ("items not sorted by line id", pack([*p_wire[:6], items[::-1]])),
                (
                    "changes a net position (first item one unit less)",
                    pack([*p_wire[:6], [[*first[:3], first[3] - 1], *items[1:]]]),
                ),
                ("no items", pack([*p_wire[:6], []])),
            ],
        ),
    }


def clearing_vectors() -> dict[str, Any]:
    keys = clearing_keys()
    names = {k.public: name for name, k in keys.items()}
    snapshot, proposal, data, votes = clearing_proposal()
    snapshot_bytes = pack([s.to_wire() for s in snapshot])
    log = clearing_log()
    clear = log[-1]
    after = _replayed(log)
    before = _replayed(log[:-1])
    mirrors = ("line-tunis", "line-lagos", "line-quito", "maria")
    debts = line_debts(s.statement for s in snapshot)
    return {
        "description": "A clearing round (SPEC §8) among communities A, B, C and D (E does "
        "not answer; maria from keys.json is a member of A): the signed statements, the "
        "snapshot and its digest, the debts derived from it, the proposal D coordinates, "
        "every participant's vote, and A's log ending in its clear entry (balances of A's "
        "accounts before and after it). rule_rejects are next entries of A's log, after "
        "`after` entries, that the clear rule refuses with `code`; statement_rejects and "
        "proposal_rejects must not decode",
        "lines": [
            "1 A-B at par: A owes B 12.34",
            "2 B-C at par: B states it owes C 10.00, C states 9.99 (debt 9.99)",
            "3 C-A at par: C owes A 15.00",
            "4 C-D at rate 3/2: 7.01 of C arrived as 10.51 of D (not at par: no debt)",
            "5 D-B at par: D owes B 4.00",
            "6 A-D at par: A owes D 6.50",
            "7 D-E at par: only D states it (E is not in the snapshot: no debt)",
        ],
        "domains": {"statement": DOMAIN_STATEMENT.hex(), "vote": DOMAIN_VOTE.hex()},
        "communities": [
            {
                "name": name,
                "short": CLEARING_SHORTS[name],
                "seed": k.seed.hex(),
                "public": k.public.hex(),
            }
            for name, k in keys.items()
        ],
        "nonce": CLEARING_NONCE.hex(),
        "statements": [
            {
                "community": names[s.statement.community_id],
                "bytes": s.data.hex(),
                "signature": s.signature.hex(),
            }
            for s in snapshot
        ],
        "snapshot": {"bytes": snapshot_bytes.hex(), "digest": snapshot_digest(snapshot).hex()},
        "debts": [
            {
                "line_id": d.line_id.hex(),
                "debtor": names[d.debtor],
                "creditor": names[d.creditor],
                "amount": d.amount,
            }
            for d in debts
        ],
        "proposal": {
            "coordinator": names[proposal.coordinator],
            "deadline_ms": proposal.deadline_ms,
            "items": [
                {
                    "line_id": x.line_id.hex(),
                    "debtor": names[x.debtor],
                    "creditor": names[x.creditor],
                    "amount": x.amount,
                }
                for x in proposal.items
            ],
            "participants": [names[p] for p in proposal.participants],
            "cleared": proposal.cleared,
            "bytes": data.hex(),
            "round_id": round_id(data).hex(),
        },
        "votes": [{"community": names[c], "signature": s.hex()} for c, s in sorted(votes.items())],
        "log": {
            "community": "a",
            "entries": [
                {
                    "seq": e.seq,
                    "kind": e.body.KIND,
                    "bytes": e.data.hex(),
                    "signature": e.signature.hex(),
                    "hash": e.hash.hex(),
                }
                for e in log
            ],
            "head": log[-1].hash.hex(),
        },
        "clear_entry": {
            "seq": clear.seq,
            "bytes": clear.data.hex(),
            "hash": clear.hash.hex(),
            "signature": clear.signature.hex(),
            "record": clear.record().hex(),
        },
        "balances": {
            "before": {h: before.accounts[h].balance for h in mirrors},
            "after": {h: after.accounts[h].balance for h in mirrors},
        },
        "rule_rejects": clearing_rule_rejects(),
        **clearing_decode_rejects(),
    }


def all_vectors() -> dict[str, Any]:
    return {
        "keys": keys_vectors(),
        "log": log_vectors(),
        "amounts": amount_vectors(),
        "rejects": reject_vectors(),
        "federation": federation_vectors(),
        "clearing": clearing_vectors(),
    }
