"""Tampering with an export or a data folder is always caught, at the right entry."""

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsnode.audit.runner import audit_file, audit_folder, export_log
from letsnode.community.folder import Community
from letsnode.core.audit import audit_records
from letsnode.core.errors import LedgerRefusal
from letsnode.core.wire.entries import Entry
from tests.ledger_helpers import NODE, new_ledger, payment


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank") / "d"
    c = Community.create(
        folder, name="Test Bank", short="test", unit="HOUR", scale=2, floor=-2000, ceiling=4000
    )
    c.admit("maria")
    c.admit("ahmed")
    c.pay(c.sign_order("maria", "ahmed", 150, "bread"))
    c.set_limits("maria", -3000, None)
    c.pay(c.sign_order("ahmed", "maria", 50, "olives"))
    path = folder.parent / "log.bin"
    export_log(c.store, c.ledger, path)
    c.close()
    return path, path.read_bytes()


def audit_bytes(tmp_path, data):
    path = tmp_path / "t.bin"
    path.write_bytes(data)
    return audit_file(path)


def test_the_untouched_export_passes(exported):
    path, _ = exported
    report = audit_file(path)
    assert report.ok and report.entries == 6


def test_flipping_any_single_byte_makes_audit_fail(exported, tmp_path):
    _, data = exported
    survivors = []
    for i in range(len(data)):
        for mask in (0x01, 0x80):
            changed = bytearray(data)
            changed[i] ^= mask
            if audit_bytes(tmp_path, bytes(changed)).ok:
                survivors.append((i, mask))
    assert survivors == []


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_replacing_any_byte_with_any_other_value_makes_audit_fail(exported, data):
    path, raw = exported
    i = data.draw(st.integers(0, len(raw) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != raw[i]))
    changed = bytearray(raw)
    changed[i] = value
    assert not audit_bytes(path.parent, bytes(changed)).ok


def test_truncated_or_extended_exports_fail(exported, tmp_path):
    _, data = exported
    assert "middle" in audit_bytes(tmp_path, data[:-3]).fault.reason
    assert not audit_bytes(tmp_path, data + b"\x00").ok
    assert not audit_bytes(tmp_path, b"").ok


def test_a_rule_breaking_entry_signed_by_the_node_is_named_by_seq():
    """A cheating node can sign anything; audit still finds the first broken rule."""
    records = []
    ledger, clock = new_ledger(records=records)
    over = payment(ledger, "maria", "ahmed", 999_999)
    bad = Entry.create(NODE, ledger.next_seq, ledger.head, clock(), over)
    result = audit_records([*records, (bad.data, bad.signature)])
    assert (result.fault.seq, result.fault.code) == (3, "below_floor")


@pytest.fixture
def folder(tmp_path):
    c = Community.create(
        tmp_path / "d",
        name="Test Bank",
        short="test",
        unit="HOUR",
        scale=2,
        floor=-2000,
        ceiling=4000,
    )
    c.admit("maria")
    c.admit("ahmed")
    c.pay(c.sign_order("maria", "ahmed", 150, "bread"))
    c.pay(c.sign_order("ahmed", "maria", 50, "olives"))
    c.close()
    return tmp_path / "d"


def sql(folder, statement, *args):
    conn = sqlite3.connect(folder / "ledger.db")
    conn.execute(statement, args)
    conn.commit()
    conn.close()


def test_an_edited_stored_balance_is_caught(folder):
    sql(folder, "UPDATE accounts SET balance = balance + 100 WHERE handle = 'maria'")
    report = audit_folder(folder)
    assert report.fault.code == "stored_state_mismatch"
    assert "maria" in report.fault.reason


def test_an_edited_log_row_is_caught_at_its_seq(folder):
    conn = sqlite3.connect(folder / "ledger.db")
    data = conn.execute("SELECT data FROM log WHERE seq = 3").fetchone()[0]
    conn.close()
    forged = data.replace(b"bread", b"BREAD")
    sql(folder, "UPDATE log SET data = ? WHERE seq = 3", forged)
    report = audit_folder(folder)
    assert (report.fault.seq, report.fault.code) == (3, "bad_signature")


def test_a_deleted_log_row_is_caught(folder):
    sql(folder, "DELETE FROM log WHERE seq = 2")
    report = audit_folder(folder)
    assert (report.fault.seq, report.fault.code) == (2, "bad_sequence")


def test_a_payment_replayed_into_another_community_is_refused(folder, tmp_path):
    other = Community.create(
        tmp_path / "o", name="Other", short="other", unit="HOUR", scale=2, floor=-2000, ceiling=4000
    )
    with Community.opened(folder) as c:
        row = c.store.conn.execute("SELECT data, signature FROM log WHERE seq = 3").fetchone()
        stolen = Entry.decode(row[0], row[1]).body
        maria_key = c.account("maria").key
    other.admit("maria", key=maria_key)
    other.admit("ahmed")
    with pytest.raises(LedgerRefusal) as err:
        other.pay(stolen.signed)
    assert err.value.code == "wrong_community"
    assert other.store.entry_count() == 3
    other.close()
