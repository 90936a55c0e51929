"""The node's seams for simulations: each off by default, each doing only what it says.

``connect(durable=False)`` and a node key given to ``Community.create``.
"""

from letsnode.community.folder import Community
from letsnode.core.crypto import SigningKey
from letsnode.node.facade import Node
from letsnode.store.db import connect


def test_a_database_that_need_not_survive_the_machine_skips_fsync(tmp_path):
    db = connect(tmp_path / "x.db", durable=False)
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
    db.conn.close()
    made = Community.create(tmp_path / "d", **_BANK, durable=False)
    assert made.store.conn.execute("PRAGMA synchronous").fetchone()[0] == 0
    made.close()
    opened = Node.open(tmp_path / "d", durable=False)
    for conn in (opened.community.store.conn, opened.web.conn):
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 0
    opened.close()
    again = Node.open(tmp_path / "d")
    assert again.community.store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    again.close()


_BANK = {"name": "Bank", "short": "bank", "unit": "HOUR", "scale": 2, "floor": -100, "ceiling": 100}


def test_a_community_can_be_made_with_a_given_node_key(tmp_path):
    key = SigningKey(bytes(range(32)))
    c = Community.create(tmp_path / "d", **_BANK, key=key)
    assert c.key.public == c.genesis.community_id == key.public
    c.close()
    assert (tmp_path / "d" / "node.key").read_bytes() == key.seed
    with Community.opened(tmp_path / "d") as reopened:
        assert reopened.key.public == key.public
