"""The golden vectors in protocol/vectors/ are recomputed and checked byte for byte."""

import json
from pathlib import Path

import pytest

from letsnode.core.audit import audit_records
from letsnode.core.crypto import DOMAIN_ENTRY, DOMAIN_ORDER, SigningKey, is_valid_signature
from letsnode.core.errors import DecodeError
from letsnode.core.wire.clearing import round_key
from letsnode.core.wire.entries import Entry
from letsnode.core.wire.logformat import LogReader
from protocol.vectors_builder import all_vectors

VECTORS = Path(__file__).resolve().parent.parent / "protocol" / "vectors"


def load(name):
    return json.loads((VECTORS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", ["keys", "log", "amounts", "rejects", "federation", "clearing"])
def test_stored_vectors_equal_what_the_code_computes(name):
    assert load(name) == all_vectors()[name]


def test_key_vectors_derive_the_stored_public_keys():
    for key in load("keys")["keys"]:
        assert SigningKey(bytes.fromhex(key["seed"])).public.hex() == key["public"]


def test_log_vectors_verify_and_chain_without_the_reference_code():
    log = load("log")
    node = bytes.fromhex(load("keys")["keys"][0]["public"])
    prev = bytes(32)
    for e in log["entries"]:
        data, sig = bytes.fromhex(e["bytes"]), bytes.fromhex(e["signature"])
        assert is_valid_signature(node, DOMAIN_ENTRY, data, sig)
        decoded = Entry.decode(data, sig)
        assert decoded.prev == prev == bytes.fromhex(e["prev"])
        assert decoded.hash.hex() == e["hash"]
        prev = decoded.hash
    maria = bytes.fromhex(load("keys")["keys"][1]["public"])
    order = log["order"]
    assert is_valid_signature(
        maria, DOMAIN_ORDER, bytes.fromhex(order["bytes"]), bytes.fromhex(order["signature"])
    )


def test_exported_vector_log_passes_audit():
    reader = LogReader()
    records = list(reader.feed(bytes.fromhex(load("log")["export"])))
    reader.finish()
    result = audit_records(records)
    assert result.ok and result.entries == 6
    assert result.ledger.head.hex() == load("log")["head"]


@pytest.mark.parametrize("case", load("rejects")["rejects"], ids=lambda c: c["reason"])
def test_reject_vectors_are_rejected(case):
    with pytest.raises(DecodeError):
        Entry.decode(bytes.fromhex(case["bytes"]), bytes(64))


def test_federation_vectors_verify_with_their_signers_keys():
    from letsnode.core.wire.adverts import DOMAIN_ADVERT
    from letsnode.core.wire.lines import DOMAIN_LINE
    from letsnode.core.wire.transfers import (
        DOMAIN_DECISION,
        DOMAIN_INVOICE,
        DOMAIN_PREPARE,
        DOMAIN_REJECT,
        DOMAIN_REMOTE_ORDER,
    )

    keys = {k["name"]: bytes.fromhex(k["public"]) for k in load("keys")["keys"]}
    fed = load("federation")
    domains = {
        "line_terms": DOMAIN_LINE,
        "remote_order": DOMAIN_REMOTE_ORDER,
        "invoice": DOMAIN_INVOICE,
        "prepare": DOMAIN_PREPARE,
        "decision": DOMAIN_DECISION,
        "reject": DOMAIN_REJECT,
        "advert": DOMAIN_ADVERT,
    }
    for name, domain in domains.items():
        v = fed[name]
        assert is_valid_signature(
            keys[v["signer"]], domain, bytes.fromhex(v["bytes"]), bytes.fromhex(v["signature"])
        ), name


# -- clearing rounds (SPEC §8) ----------------------------------------------------------


def clearing_ids():
    return {c["name"]: bytes.fromhex(c["public"]) for c in load("clearing")["communities"]}


def test_clearing_vector_keys_and_domains():
    from letsnode.core.wire.clearing import DOMAIN_STATEMENT, DOMAIN_VOTE

    v = load("clearing")
    for c in v["communities"]:
        assert SigningKey(bytes.fromhex(c["seed"])).public.hex() == c["public"]
    assert bytes.fromhex(v["domains"]["statement"]) == b"letsnode/clearing-statement/v1\0"
    assert bytes.fromhex(v["domains"]["vote"]) == b"letsnode/clearing-vote/v1\0"
    assert tuple(bytes.fromhex(v["domains"][k]) for k in ("statement", "vote")) == (
        DOMAIN_STATEMENT,
        DOMAIN_VOTE,
    )


def test_clearing_statements_and_snapshot_digest_without_the_reference_code():
    import hashlib

    import msgpack

    from letsnode.core.wire.clearing import DOMAIN_STATEMENT

    v, ids = load("clearing"), clearing_ids()
    pairs = []
    for s in v["statements"]:
        data, sig = bytes.fromhex(s["bytes"]), bytes.fromhex(s["signature"])
        assert is_valid_signature(ids[s["community"]], DOMAIN_STATEMENT, data, sig)
        fields = msgpack.unpackb(data)
        assert fields[:2] == ["letsnode/clearing-statement", 1]
        assert fields[2].hex() == v["nonce"] and fields[3] == ids[s["community"]]
        line_ids = [line[0] for line in fields[8]]
        assert line_ids == sorted(set(line_ids))
        pairs.append([data, sig])
    order = [ids[s["community"]] for s in v["statements"]]
    assert order == sorted(set(order))  # sorted by community id, no repeats
    snapshot = msgpack.packb(pairs, use_bin_type=True)
    assert snapshot.hex() == v["snapshot"]["bytes"]
    assert hashlib.blake2b(snapshot, digest_size=32).hexdigest() == v["snapshot"]["digest"]


def test_clearing_proposal_follows_from_the_snapshot():
    import hashlib

    from letsnode.core.clearing.rounds import line_debts, propose
    from letsnode.core.wire.clearing import DOMAIN_VOTE, Proposal, SignedStatement, round_id

    v, ids = load("clearing"), clearing_ids()
    names = {key: name for name, key in ids.items()}
    snapshot = [
        SignedStatement.verify(bytes.fromhex(s["bytes"]), bytes.fromhex(s["signature"]))
        for s in v["statements"]
    ]
    nonce = bytes.fromhex(v["nonce"])
    debts = line_debts(s.statement for s in snapshot)
    assert [[d.line_id.hex(), names[d.debtor], names[d.creditor], d.amount] for d in debts] == [
        [d["line_id"], d["debtor"], d["creditor"], d["amount"]] for d in v["debts"]
    ]
    p = v["proposal"]
    proposal = propose(snapshot, nonce, ids[p["coordinator"]], p["deadline_ms"])
    data = bytes.fromhex(p["bytes"])
    assert proposal is not None and proposal.encode() == data
    assert Proposal.decode(data) == proposal
    assert round_id(data).hex() == p["round_id"]
    assert hashlib.blake2b(data, digest_size=32).digest()[:16].hex() == p["round_id"]
    assert proposal.snapshot_digest.hex() == v["snapshot"]["digest"]
    assert proposal.cleared == p["cleared"] == sum(x["amount"] for x in p["items"])
    assert [names[c] for c in proposal.participants] == p["participants"]
    for item in p["items"]:  # never more than the line's debt
        debt = next(d for d in v["debts"] if d["line_id"] == item["line_id"])
        assert (debt["debtor"], debt["creditor"]) == (item["debtor"], item["creditor"])
        assert 0 < item["amount"] <= debt["amount"]
    net = dict.fromkeys(ids, 0)
    for item in p["items"]:
        net[item["debtor"]] -= item["amount"]
        net[item["creditor"]] += item["amount"]
    assert not any(net.values())
    assert [x["community"] for x in v["votes"]] == p["participants"]
    for vote in v["votes"]:
        assert is_valid_signature(
            ids[vote["community"]], DOMAIN_VOTE, data, bytes.fromhex(vote["signature"])
        )


def test_clearing_log_ends_in_the_clear_entry_and_passes_audit():
    from letsnode.core.wire.bodies import Clear
    from letsnode.core.wire.logformat import encode_record

    v, ids = load("clearing"), clearing_ids()
    entries = v["log"]["entries"]
    records = [(bytes.fromhex(e["bytes"]), bytes.fromhex(e["signature"])) for e in entries]
    prev = bytes(32)
    for e, (data, sig) in zip(entries, records, strict=True):
        assert is_valid_signature(ids["a"], DOMAIN_ENTRY, data, sig)
        decoded = Entry.decode(data, sig)
        assert decoded.prev == prev and decoded.hash.hex() == e["hash"]
        assert e["kind"] == decoded.body.KIND
        prev = decoded.hash
    result = audit_records(records)
    assert result.ok, result.fault
    assert result.ledger.head.hex() == v["log"]["head"] == entries[-1]["hash"]
    assert {h: result.ledger.accounts[h].balance for h in v["balances"]["after"]} == v["balances"][
        "after"
    ]
    before = audit_records(records[:-1])
    assert {h: before.ledger.accounts[h].balance for h in v["balances"]["before"]} == v["balances"][
        "before"
    ]
    clear = v["clear_entry"]
    assert clear["bytes"] == entries[-1]["bytes"] and clear["hash"] == entries[-1]["hash"]
    assert clear["seq"] == len(entries) - 1
    data, sig = bytes.fromhex(clear["bytes"]), bytes.fromhex(clear["signature"])
    assert encode_record(data, sig).hex() == clear["record"]
    body = Entry.decode(data, sig).body
    assert isinstance(body, Clear)
    assert body.proposal_data.hex() == v["proposal"]["bytes"]
    assert body.round_id.hex() == v["proposal"]["round_id"]
    assert [[c.hex(), s.hex()] for c, s in body.votes] == [
        [ids[x["community"]].hex(), x["signature"]] for x in v["votes"]
    ]
    assert round_key(bytes.fromhex(v["proposal"]["round_id"])) in result.ledger.finished


@pytest.mark.parametrize("case", load("clearing")["rule_rejects"], ids=lambda c: c["code"])
def test_clearing_rule_rejects_are_refused_with_their_code(case):
    from letsnode.core.errors import LetsError
    from letsnode.core.rules.ledger import Ledger

    entries = load("clearing")["log"]["entries"][: case["after"]]
    ledger = Ledger()
    for e in entries:
        ledger.apply(Entry.decode(bytes.fromhex(e["bytes"]), bytes.fromhex(e["signature"])))
    entry = Entry.decode(bytes.fromhex(case["bytes"]), bytes.fromhex(case["signature"]))
    assert entry.seq == ledger.next_seq and entry.prev == ledger.head  # only the rule fails
    balances = {h: a.balance for h, a in ledger.accounts.items()}
    with pytest.raises(LetsError) as err:
        ledger.apply(entry)
    assert err.value.code == case["code"]
    assert {h: a.balance for h, a in ledger.accounts.items()} == balances


@pytest.mark.parametrize(
    "kind,case",
    [("statement", c) for c in load("clearing")["statement_rejects"]]
    + [("proposal", c) for c in load("clearing")["proposal_rejects"]],
    ids=lambda x: x if isinstance(x, str) else x["reason"],
)
def test_clearing_decode_rejects_are_rejected(kind, case):
    from letsnode.core.wire.clearing import Proposal, Statement

    decode = Statement.decode if kind == "statement" else Proposal.decode
    with pytest.raises(DecodeError):
        decode(bytes.fromhex(case["bytes"]))
