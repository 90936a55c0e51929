"""The node's seams for simulations: each off by default, each doing only what it says.

``connect(durable=False)``, a node key given to ``Community.create``, seeded ids in the
federation (``rng``), a recovery loop that rests while idle (``idle_tick_s``), and
``crypto.unsigned()``.
"""

import random

import trio

from letsnode.community.folder import Community
from letsnode.core import crypto
from letsnode.core.crypto import DOMAIN_ORDER, SigningKey, is_valid_signature
from letsnode.core.wire import codec
from letsnode.core.wire.bodies import Hold
from letsnode.federation.service import FederationConfig
from letsnode.net.memory import MemoryNetwork, memory_addr
from letsnode.node.facade import Node
from letsnode.store.db import connect
from tests.fed_harness import Restartable, adverts_settled, cut_then_heal, federation, open_line

IDLE = FederationConfig(advert_interval_s=600.0, tick_s=0.2, idle_tick_s=3600.0)


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


async def test_seeded_federations_draw_the_same_ids(tmp_path, autojump_clock):
    def ids(seed: int) -> list[bytes]:
        rng = random.Random(seed)
        return [rng.randbytes(16), rng.randbytes(16)]

    async with federation(tmp_path, ["a", "b"]) as (_, n):
        fed = n["a"].federation
        assert fed.transfers.token is fed.lines.token is fed.clearing.token  # unseeded: secrets
        a, b = n["a"], n["b"]
        rng = random.Random(5)
        a.federation.transfers.token = a.federation.lines.token = rng.randbytes
        await open_line(a, b, 500, 500)
        (line,) = a.community.ledger.lines.values()
        outcome = await a.federation.transfers.pay(*a.order("m-a", b.id, "m-b", 10))
        assert [line.terms.line_id, outcome.transfer_id] == ids(5)


async def test_an_idle_recovery_loop_rests_and_wakes_for_a_payment(tmp_path, autojump_clock):
    async with federation(tmp_path, ["a", "b", "c"], config=IDLE) as (network, n):
        await open_line(n["a"], n["b"], 500, 500)
        await open_line(n["b"], n["c"], 500, 500)
        passes = {"b": 0}
        expire = n["b"].federation.transfers.expire

        async def counted() -> None:
            passes["b"] += 1
            await expire()

        n["b"].federation.transfers.expire = counted  # type: ignore[method-assign]
        await trio.sleep(3 * 3600)
        assert passes["b"] <= 4  # once an hour, not 54,000 times at tick_s
        # A cut link: the holds still go at their expiry, as with a pass every tick_s.
        await cut_then_heal(network, n)


async def test_an_idle_node_killed_mid_transfer_still_resumes_from_its_log(
    tmp_path, autojump_clock
):
    network = MemoryNetwork()
    nodes = {x: Restartable(tmp_path, x, network, IDLE) for x in "abc"}
    async with trio.open_nursery() as nursery:
        for r in nodes.values():
            await nursery.start(r.run)
        a, b, c = (nodes[x].node for x in "abc")
        await a.federation.transport.connect(memory_addr(b.id))
        await c.federation.transport.connect(memory_addr(b.id))
        await open_line(a, b, 500, 500)
        await open_line(b, c, 500, 500)
        await adverts_settled([a, b, c])
        await trio.sleep(7200)  # every loop at rest
        nodes["b"].crash_after = lambda body: isinstance(body, Hold) and body.role == "out"
        result = {}

        async def pay():
            result["outcome"] = await a.federation.transfers.pay(*a.order("m-a", c.id, "m-c", 42))

        nursery.start_soon(pay)
        with trio.fail_after(5):
            while nodes["b"].node is not None:
                await trio.sleep(0.01)
        await trio.sleep(1)
        await nursery.start(nodes["b"].run)
        with trio.fail_after(60):  # well before idle_tick_s: the restart's first pass resumes
            while "outcome" not in result:
                await trio.sleep(0.1)
        assert result["outcome"].state == "fulfilled", result["outcome"].message
        with trio.fail_after(60):
            while any(nodes[x].node.community.ledger.holds for x in "abc"):
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()


async def test_unsigned_signs_nothing_and_accepts_everything_only_inside(autojump_clock):
    key = SigningKey(bytes(32))
    real = key.sign(DOMAIN_ORDER, b"m")
    seen: list[tuple[bytes, bool]] = []

    async def task() -> None:
        await trio.sleep(1)
        seen.append(
            (
                key.sign(DOMAIN_ORDER, b"m"),
                is_valid_signature(key.public, DOMAIN_ORDER, b"m", b"\x01" * 64),
            )
        )

    async with trio.open_nursery() as nursery:
        with crypto.unsigned():
            assert key.sign(DOMAIN_ORDER, b"m") == bytes(64)
            assert is_valid_signature(key.public, DOMAIN_ORDER, b"m", b"\x01" * 64)
            nursery.start_soon(task)  # a task started inside keeps the setting
        assert key.sign(DOMAIN_ORDER, b"m") == real
        assert not is_valid_signature(key.public, DOMAIN_ORDER, b"m", b"\x01" * 64)
    assert seen == [(bytes(64), True)]
    assert is_valid_signature(key.public, DOMAIN_ORDER, b"m", real)


async def test_an_advert_is_decoded_and_verified_once_in_a_process(
    tmp_path, autojump_clock, monkeypatch
):
    from letsnode.core.wire.adverts import Advert

    verified = []
    verify = Advert.verify.__func__  # type: ignore[attr-defined]

    def counted(cls, data, sig, publisher):  # type: ignore[no-untyped-def]
        verified.append((publisher, data))
        return verify(cls, data, sig, publisher)

    async with federation(tmp_path, ["a", "b", "c"]) as (_, n):
        await open_line(n["a"], n["b"], 500, 500)
        monkeypatch.setattr(Advert, "verify", classmethod(counted))
        await n["a"].federation.publish_advert()
        await trio.sleep(5)
        mine = [data for publisher, data in verified if publisher == n["a"].id]
        # a's validator (it vets its own), then b's and c's validators and handlers: once
        assert mine and len(mine) == len(set(mine))
        for x in "bc":
            advert = n[x].federation.routes.adverts[n["a"].id]
            assert advert.lines == n["a"].federation.own_advert().lines
        forged = codec.pack([mine[-1], bytes(64)])
        assert not n["b"].federation._advert_valid(n["a"].id, forged)  # new bytes: checked


def test_a_community_made_on_a_given_clock_dates_its_genesis_by_it(tmp_path):
    c = Community.create(tmp_path / "d", **_BANK, clock=lambda: 1_767_225_600_000)
    c.admit("maria")
    assert c.ledger.last_timestamp_ms == 1_767_225_600_000
    assert [e.timestamp_ms for e in c.store.entries_at({0, 1}).values()] == [1_767_225_600_000] * 2
    c.close()


async def test_neither_a_node_nor_an_audit_runs_without_signatures(tmp_path):
    import pytest

    from letsnode.audit.runner import audit_path
    from letsnode.node.run import run_node

    Community.create(
        tmp_path / "c",
        name="Village",
        short="village",
        unit="UNIT",
        scale=2,
        floor=-50,
        ceiling=100,
    ).close()
    with crypto.unsigned():
        assert not crypto.signing()
        with pytest.raises(RuntimeError, match="never runs inside"):
            await run_node(tmp_path / "c", "127.0.0.1:0")
        with pytest.raises(RuntimeError, match="never runs inside"):
            audit_path(tmp_path / "c")
    assert crypto.signing()
    assert audit_path(tmp_path / "c").ok


def test_only_the_simulator_enters_unsigned():
    """``crypto.unsigned()`` is entered by the simulator's runner and nowhere else in the
    package: a node, the federation, the web and the CLI never switch signatures off."""
    import ast
    from pathlib import Path

    def calls_unsigned(source: str) -> bool:
        return any(
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "unsigned"
            for node in ast.walk(ast.parse(source))
        )

    package = Path(crypto.__file__).parents[1]
    users = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if calls_unsigned(p.read_text())
    )
    assert users == ["sim/runner.py"]
