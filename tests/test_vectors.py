"""The golden vectors in protocol/vectors/ are recomputed and checked byte for byte."""

import json
from pathlib import Path

import pytest

from letsnode.core.audit import audit_records
from letsnode.core.crypto import DOMAIN_ENTRY, DOMAIN_ORDER, SigningKey, is_valid_signature
from letsnode.core.entries import Entry
from letsnode.core.errors import DecodeError
from letsnode.core.logformat import LogReader
from letsnode.core.vectors import all_vectors

VECTORS = Path(__file__).resolve().parent.parent / "protocol" / "vectors"


def load(name):
    return json.loads((VECTORS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", ["keys", "log", "amounts", "rejects", "federation"])
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
    from letsnode.core.lines import DOMAIN_LINE
    from letsnode.core.routing import DOMAIN_ADVERT
    from letsnode.core.transfers import (
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
