"""Strangers with fresh keys cannot grow what a node keeps: the peers table holds partners
and a bounded number of verified advertisers, memory holds a bounded number of peers that
merely connected, and after a restart the node dials its partners only."""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack

import trio

from letsnode.core.crypto import SigningKey
from letsnode.core.wire import codec
from letsnode.core.wire.adverts import Advert
from letsnode.federation import peers as peer_memory
from letsnode.federation import wire
from letsnode.federation.peers import Partners
from letsnode.net.libp2p import peers as libp2p_peers
from letsnode.net.libp2p.host import open_libp2p_transport
from letsnode.net.memory import MemoryNetwork, memory_addr
from letsnode.store.federation_store import FederationStore
from tests.fed_harness import federation, open_line, virtual_ms

STRANGERS = 300


def stranger_advert(key: SigningKey, n: int) -> bytes:
    advert = Advert(key.public, f"s{n}", f"Stranger {n}", "HOUR", 2, (), virtual_ms(), ())
    return codec.pack(list(advert.sign(key)))


async def test_hundreds_of_strangers_leave_the_node_bounded_and_undialled(
    tmp_path, autojump_clock
) -> None:
    network = MemoryNetwork()
    async with federation(tmp_path, ["a", "b"], network) as (_, n):
        a, b = n["a"], n["b"]
        await open_line(a, b, 1000, 1000)
        async with AsyncExitStack() as stack:
            for i in range(STRANGERS):
                key = SigningKey(secrets.token_bytes(32))
                stranger = await stack.enter_async_context(network.transport(key.public))
                await stranger.connect(memory_addr(a.id))
                await stranger.publish(wire.ADVERT_TOPIC, stranger_advert(key, i))
            await trio.sleep(1)
        partners = a.federation.partners
        store = FederationStore(a.community.store.conn)
        rows = store.known_peers()
        assert len(rows) <= peer_memory.MAX_REMEMBERED + 1
        assert b.id in dict(rows)  # the partner is never the one forgotten
        assert len(partners.met_recently) <= peer_memory.MAX_MET
        assert len(a.federation.routes.adverts) <= STRANGERS + 2
        # after a restart the node dials its partner, and none of the strangers
        again = Partners(lambda: a.community.ledger, store, virtual_ms)
        assert [peer for peer, _ in again.known()] == [b.id]


async def test_a_libp2p_host_keeps_a_bounded_book_of_peers_that_merely_connected(
    monkeypatch,
) -> None:
    monkeypatch.setattr(libp2p_peers, "MAX_MET", 5)
    met: list[bytes] = []
    async with open_libp2p_transport(
        secrets.token_bytes(32), on_peer=lambda p, _: met.append(p)
    ) as node:
        for _ in range(12):
            async with open_libp2p_transport(secrets.token_bytes(32)) as stranger:
                await stranger.connect(node.listen_addrs()[0])
                with trio.fail_after(10):
                    while stranger.local_id not in met:
                        await trio.sleep(0.02)
            with trio.fail_after(10):
                while node.is_connected(stranger.local_id):
                    await trio.sleep(0.02)
        assert len(met) == 12
        assert len(node.peers()) <= 5
