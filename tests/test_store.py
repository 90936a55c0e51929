"""The SQLite store: durable settings, migrations, and state that survives reopening."""

import pytest

from letsnode.community.folder import Community
from letsnode.core.amounts import parse_amount
from letsnode.core.errors import LedgerRefusal
from letsnode.store.db import MIGRATIONS, connect


def make(tmp_path):
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
    return c


def test_the_database_uses_wal_with_full_sync(tmp_path):
    db = connect(tmp_path / "x.db")
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.conn.close()


def test_migrations_run_once_and_are_recorded(tmp_path):
    connect(tmp_path / "x.db").conn.close()
    db = connect(tmp_path / "x.db")
    numbers = [row[0] for row in db.conn.execute("SELECT number FROM migrations ORDER BY 1")]
    assert numbers == sorted(n for n, _, _ in MIGRATIONS)
    db.conn.close()


def test_state_after_reopening_equals_state_in_memory(tmp_path):
    c = make(tmp_path)
    c.pay(c.sign_order("maria", "ahmed", parse_amount("1.50", 2), "bread"))
    c.set_status("ahmed", "frozen")
    in_memory = (c.ledger.accounts, c.ledger.head, c.ledger.next_seq)
    c.close()
    with Community.opened(tmp_path / "d") as again:
        assert (again.ledger.accounts, again.ledger.head, again.ledger.next_seq) == in_memory


def test_a_refused_payment_writes_nothing(tmp_path):
    c = make(tmp_path)
    count = c.store.entry_count()
    with pytest.raises(LedgerRefusal) as err:
        c.pay(c.sign_order("maria", "ahmed", parse_amount("30", 2)))
    assert err.value.code == "below_floor"
    assert c.store.entry_count() == count
    assert [a.balance for a in c.store.accounts()] == [0, 0]
    c.close()


def test_history_is_newest_first_and_filters_by_handle(tmp_path):
    c = make(tmp_path)
    c.admit("eleni")
    c.pay(c.sign_order("maria", "ahmed", 100, "one"))
    c.pay(c.sign_order("ahmed", "eleni", 50, "two"))
    assert [p.memo for p in c.history()] == ["two", "one"]
    assert [p.memo for p in c.history("maria")] == ["one"]
    assert [p.memo for p in c.history(limit=1)] == ["two"]
    c.close()
