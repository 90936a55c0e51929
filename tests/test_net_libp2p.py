"""The libp2p PeerTransport between real hosts on 127.0.0.1 (TCP + Noise + Yamux)."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Callable
from contextlib import AsyncExitStack

import msgpack
import multiaddr  # type: ignore[import-untyped]
import nacl.bindings
import pytest
import trio
import trio.testing
from libp2p import new_host
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.rsa import create_new_key_pair as create_rsa_key_pair
from libp2p.crypto.secp256k1 import create_new_key_pair as create_secp256k1_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.utils import encode_varint_prefixed

from letsnode.core.errors import LedgerRefusal
from letsnode.net.libp2p import frames
from letsnode.net.libp2p.host import open_libp2p_transport
from letsnode.net.libp2p.transport import Libp2pTransport
from letsnode.net.peerid import (
    InvalidPeerId,
    community_id_from_peer_id,
    community_id_from_seed,
    peer_addr,
    peer_id_from_community_id,
    split_peer_addr,
)
from letsnode.net.transport import (
    MAX_MESSAGE_BYTES,
    MessageTooLarge,
    PeerInfo,
    PeerRefused,
    PeerTimeout,
    PeerTransport,
    PeerUnreachable,
    RemoteError,
)

SEED_A, SEED_B, SEED_C = (bytes([n]) * 32 for n in (1, 2, 3))
A, B, C = (community_id_from_seed(seed) for seed in (SEED_A, SEED_B, SEED_C))
ECHO = "/test/echo/1"
FAST_BACKOFF_INITIAL, FAST_BACKOFF_MAX = 0.05, 0.2


async def echo(peer: bytes, payload: bytes) -> bytes:
    return peer + payload


def accept_all(publisher: bytes, payload: bytes) -> bool:
    return True


def as_peer_transport(transport: Libp2pTransport) -> PeerTransport:
    return transport  # mypy checks that Libp2pTransport implements the interface


def port_of(addr: str) -> int:
    return int(multiaddr.Multiaddr(addr).value_for_protocol("tcp"))


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    with trio.fail_after(seconds):
        while not condition():
            await trio.sleep(0.01)


# -- community id ⇄ peer id ------------------------------------------------------------


def test_the_peer_id_is_the_ledger_key() -> None:
    public_key, _ = nacl.bindings.crypto_sign_seed_keypair(SEED_A)
    assert community_id_from_seed(SEED_A) == public_key
    peer_id = peer_id_from_community_id(public_key)
    assert str(peer_id).startswith("12D3KooW")
    assert community_id_from_peer_id(peer_id) == public_key
    assert community_id_from_peer_id(str(peer_id)) == public_key
    addr = peer_addr("/ip4/127.0.0.1/tcp/4001", public_key)
    assert addr == f"/ip4/127.0.0.1/tcp/4001/p2p/{peer_id}"
    assert split_peer_addr(addr) == (multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/4001"), public_key)


@pytest.mark.parametrize("make_key_pair", [create_rsa_key_pair, create_secp256k1_key_pair])
def test_a_peer_id_that_is_not_ed25519_is_rejected(make_key_pair: Callable[[], KeyPair]) -> None:
    peer_id = ID.from_pubkey(make_key_pair().public_key)
    with pytest.raises(InvalidPeerId, match="not an Ed25519 identity"):
        community_id_from_peer_id(peer_id)


@pytest.mark.parametrize(
    "bad",
    [
        "/ip4/127.0.0.1/tcp/4001",  # no peer id
        "/ip4/127.0.0.1/tcp/4001/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",  # hashed
        "not a multiaddr",
    ],
)
def test_a_bad_peer_address_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidPeerId):
        split_peer_addr(bad)


def test_community_ids_must_be_ed25519_points() -> None:
    with pytest.raises(InvalidPeerId):
        peer_id_from_community_id(bytes(31))
    with pytest.raises(InvalidPeerId, match="not a valid Ed25519"):
        peer_id_from_community_id(bytes(32))
    with pytest.raises(InvalidPeerId, match="names another peer"):
        peer_addr(f"/ip4/127.0.0.1/tcp/1/p2p/{peer_id_from_community_id(B)}", A)


# -- requests --------------------------------------------------------------------------


async def test_requests_both_ways_see_the_authenticated_sender() -> None:
    async with open_libp2p_transport(SEED_A) as a, open_libp2p_transport(SEED_B) as b:
        assert as_peer_transport(a).local_id == A
        a.set_handler(ECHO, echo)
        b.set_handler(ECHO, echo)
        assert await a.connect(b.listen_addrs()[0]) == B
        # only Noise and Yamux are offered (new_host would also offer plaintext and mplex)
        assert list(a._swarm.upgrader.security_multistream.transports) == ["/noise"]
        assert list(a._swarm.upgrader.muxer_multistream.transports) == ["/yamux/1.0.0"]
        conn = a._swarm.get_connections(peer_id_from_community_id(B))[0]
        secured = conn.muxed_conn.secured_conn  # type: ignore[attr-defined]
        assert type(secured.conn).__name__ == "NoiseTransportReadWriter"
        assert await a.request(B, ECHO, b"ping", timeout=5) == A + b"ping"
        assert await b.request(A, ECHO, b"pong", timeout=5) == B + b"pong"
        assert await a.request(B, ECHO, b"", timeout=5) == A  # empty frames are fine


async def test_a_lets_error_from_the_handler_arrives_with_its_code_and_message() -> None:
    async with open_libp2p_transport(SEED_A) as a, open_libp2p_transport(SEED_B) as b:

        async def refuse(peer: bytes, payload: bytes) -> bytes:
            raise LedgerRefusal("account bob would go below its floor of -500", code="below_floor")

        b.set_handler(ECHO, refuse)
        await a.connect(b.listen_addrs()[0])
        with pytest.raises(RemoteError) as caught:
            await a.request(B, ECHO, b"pay", timeout=5)
        assert caught.value.code == "below_floor"
        assert caught.value.message == "account bob would go below its floor of -500"


async def test_a_crashing_handler_is_a_peer_error_and_the_host_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with open_libp2p_transport(SEED_A) as a, open_libp2p_transport(SEED_B) as b:

        async def flaky(peer: bytes, payload: bytes) -> bytes:
            if payload == b"boom":
                raise ZeroDivisionError("secret internal detail")
            return b"ok"

        b.set_handler(ECHO, flaky)
        await a.connect(b.listen_addrs()[0])
        with pytest.raises(RemoteError) as caught:
            await a.request(B, ECHO, b"boom", timeout=5)
        assert caught.value.code == "peer_error"
        assert "secret" not in caught.value.message
        assert "ZeroDivisionError" in caplog.text
        assert await a.request(B, ECHO, b"again", timeout=5) == b"ok"


async def test_oversized_messages_are_refused_both_ways() -> None:
    async with open_libp2p_transport(SEED_A) as a, open_libp2p_transport(SEED_B) as b:

        async def inflate(peer: bytes, payload: bytes) -> bytes:
            return bytes(MAX_MESSAGE_BYTES + 1)

        b.set_handler(ECHO, echo)
        b.set_handler("/test/inflate/1", inflate)
        await a.connect(b.listen_addrs()[0])
        with pytest.raises(MessageTooLarge):
            await a.request(B, ECHO, bytes(MAX_MESSAGE_BYTES + 1), timeout=5)
        with pytest.raises(MessageTooLarge, match="response"):
            await a.request(B, "/test/inflate/1", b"", timeout=5)
        big = bytes(MAX_MESSAGE_BYTES - 32)  # the echo adds the 32-byte sender id
        assert await a.request(B, ECHO, big, timeout=5) == A + big

        # a misbehaving requester that skips the local check is refused by the peer
        stream = await a._host.new_stream(peer_id_from_community_id(B), [TProtocol(ECHO)])
        await stream.write(encode_varint_prefixed(bytes(MAX_MESSAGE_BYTES + 1)))
        reply = await frames.read_frame(stream, MAX_MESSAGE_BYTES + 1)
        await stream.close()
        assert reply[0] == 2
        assert msgpack.unpackb(reply[1:])[0] == "message_too_large"


async def test_a_slow_handler_times_out_the_request() -> None:
    async with open_libp2p_transport(SEED_A) as a, open_libp2p_transport(SEED_B) as b:

        async def slow(peer: bytes, payload: bytes) -> bytes:
            await trio.sleep(5)
            return b"late"

        b.set_handler(ECHO, slow)
        await a.connect(b.listen_addrs()[0])
        start = trio.current_time()
        with pytest.raises(PeerTimeout):
            await a.request(B, ECHO, b"x", timeout=0.3)
        assert trio.current_time() - start < 1.0


async def test_the_peer_bounds_its_handler_time() -> None:
    async with (
        open_libp2p_transport(SEED_A) as a,
        open_libp2p_transport(SEED_B, handler_timeout=0.2) as b,
    ):

        async def stuck(peer: bytes, payload: bytes) -> bytes:
            await trio.sleep_forever()
            raise AssertionError

        b.set_handler(ECHO, stuck)
        await a.connect(b.listen_addrs()[0])
        with pytest.raises(PeerTimeout, match="handler took longer"):
            await a.request(B, ECHO, b"x", timeout=5)


async def test_a_protocol_the_peer_does_not_serve_is_refused() -> None:
    async with open_libp2p_transport(SEED_A) as a, open_libp2p_transport(SEED_B) as b:
        await a.connect(b.listen_addrs()[0])
        with pytest.raises(PeerRefused, match="does not serve"):
            await a.request(B, "/test/unknown/1", b"", timeout=5)


async def test_an_unreachable_peer_fails_fast() -> None:
    async with open_libp2p_transport(SEED_B) as b:
        gone = b.listen_addrs()[0]
    async with open_libp2p_transport(SEED_A) as a:
        start = trio.current_time()
        with pytest.raises(PeerUnreachable):
            await a.connect(gone)
        with pytest.raises(PeerUnreachable, match="no known address"):
            await a.request(C, ECHO, b"x", timeout=5)
        assert trio.current_time() - start < 1.0
        assert a.peers() == []


async def test_a_request_dials_a_known_peer_first() -> None:
    async with open_libp2p_transport(SEED_B) as b:
        b.set_handler(ECHO, echo)
        async with open_libp2p_transport(SEED_A, known_peers=[(B, b.listen_addrs())]) as a:
            assert await a.request(B, ECHO, b"hi", timeout=5) == A + b"hi"


async def test_a_host_with_a_non_ed25519_identity_is_disconnected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key_pair = create_secp256k1_key_pair()
    stranger = new_host(
        key_pair=key_pair,
        sec_opt={
            NOISE_PROTOCOL_ID: NoiseTransport(
                key_pair, noise_privkey=create_x25519_key_pair().private_key
            )
        },
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
    )
    async with open_libp2p_transport(SEED_B) as b:
        b.set_handler(ECHO, echo)
        async with stranger.run([multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
            try:
                b_addr = multiaddr.Multiaddr(b.listen_addrs()[0])
                await stranger.connect(info_from_p2p_addr(b_addr))
                b_id = peer_id_from_community_id(B)
                await wait_until(lambda: not stranger.get_network().get_connections(b_id))
                assert b.peers() == []
                assert "non-letsnode peer" in caplog.text
            finally:
                await stranger.close()


async def test_remembered_peers_with_bad_addresses_do_not_stop_the_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with open_libp2p_transport(SEED_A, known_peers=[(B, ["/ip4/127.0.0.1/tcp/nope"])]) as a:
        assert a.peers() == []
    assert "ignoring a remembered peer" in caplog.text


async def test_on_peer_reports_dialable_addresses_on_both_sides() -> None:
    met: list[tuple[str, bytes, list[str]]] = []
    async with (
        open_libp2p_transport(SEED_A, on_peer=lambda p, addrs: met.append(("a", p, addrs))) as a,
        open_libp2p_transport(SEED_B, on_peer=lambda p, addrs: met.append(("b", p, addrs))) as b,
    ):
        await a.connect(b.listen_addrs()[0])
        await wait_until(lambda: len(met) == 2)
        assert sorted(met) == [("a", B, b.listen_addrs()), ("b", A, a.listen_addrs())]
        assert a.peers() == [PeerInfo(B, tuple(b.listen_addrs()), connected=True)]
        assert b.peers() == [PeerInfo(A, tuple(a.listen_addrs()), connected=True)]


# -- reconnection ----------------------------------------------------------------------


async def test_an_unreachable_bootstrap_peer_is_dialled_once_it_comes_up() -> None:
    async with open_libp2p_transport(SEED_B) as b:
        addr = b.listen_addrs()[0]
    async with open_libp2p_transport(
        SEED_A, bootstrap=[addr], backoff_initial=FAST_BACKOFF_INITIAL, backoff_max=FAST_BACKOFF_MAX
    ) as a:
        await trio.sleep(0.3)  # a few failed dials; the start did not fail
        assert a.peers() == [PeerInfo(B, (addr,), connected=False)]
        async with open_libp2p_transport(SEED_B, listen=[f"/ip4/127.0.0.1/tcp/{port_of(addr)}"]):
            await wait_until(lambda: a.is_connected(B))


async def test_a_peer_that_restarts_on_the_same_port_is_redialled() -> None:
    async with open_libp2p_transport(
        SEED_A, backoff_initial=FAST_BACKOFF_INITIAL, backoff_max=FAST_BACKOFF_MAX
    ) as a:
        async with open_libp2p_transport(SEED_B) as b:
            addr = b.listen_addrs()[0]
            await a.connect(addr)
        await wait_until(lambda: not a.is_connected(B))
        await trio.sleep(0.3)
        async with open_libp2p_transport(
            SEED_B, listen=[f"/ip4/127.0.0.1/tcp/{port_of(addr)}"]
        ) as b:
            b.set_handler(ECHO, echo)
            await wait_until(lambda: a.is_connected(B))  # b dialled nobody: a came back
            assert await a.request(B, ECHO, b"again", timeout=5) == A + b"again"


# -- gossip ----------------------------------------------------------------------------


async def test_gossip_crosses_three_hosts_and_the_validator_drops_what_it_rejects() -> None:
    async with AsyncExitStack() as stack:
        a, b, c = [
            await stack.enter_async_context(open_libp2p_transport(seed))
            for seed in (SEED_A, SEED_B, SEED_C)
        ]
        got: dict[bytes, list[tuple[bytes, bytes]]] = {A: [], B: [], C: []}
        arrived = trio.Event()
        for transport in (a, b, c):

            async def record(
                publisher: bytes, payload: bytes, me: bytes = transport.local_id
            ) -> None:
                got[me].append((publisher, payload))
                if me == C:
                    arrived.set()

            strict = transport is c
            transport.subscribe(
                "heads",
                record,
                (lambda _p, payload: not payload.startswith(b"bad")) if strict else accept_all,
            )
        # a line: a - b - c; what reaches c was forwarded by b but signed by a
        await a.connect(b.listen_addrs()[0])
        await c.connect(b.listen_addrs()[0])
        with trio.fail_after(5):
            await a.wait_topic_peers("heads", 1)
            await b.wait_topic_peers("heads", 2)
            await c.wait_topic_peers("heads", 1)
        await a.publish("heads", b"bad head")
        await a.publish("heads", b"good head")
        with trio.fail_after(5):
            await arrived.wait()
        await wait_until(lambda: len(got[B]) == 2)
        await trio.sleep(0.1)  # nothing else arrives
        assert got[C] == [(A, b"good head")]
        assert got[B] == [(A, b"bad head"), (A, b"good head")]
        assert got[A] == []
        with pytest.raises(MessageTooLarge):
            await a.publish("heads", bytes(MAX_MESSAGE_BYTES + 1))


# -- lifecycle -------------------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_closing_releases_every_socket_and_task() -> None:
    gc.collect()
    fds_before = open_fds()
    root_nurseries = trio.lowlevel.current_root_task().child_nurseries
    system_tasks_before = sum(len(n.child_tasks) for n in root_nurseries)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with open_libp2p_transport(SEED_A) as a, open_libp2p_transport(SEED_B) as b:
            b.set_handler(ECHO, echo)
            await a.connect(b.listen_addrs()[0])
            await a.request(B, ECHO, b"x", timeout=5)
            b.subscribe("heads", echo_to_nowhere, accept_all)
            await a.publish("heads", b"h")
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert open_fds() == fds_before
    system_tasks_after = sum(len(n.child_tasks) for n in root_nurseries)
    assert system_tasks_after == system_tasks_before


async def echo_to_nowhere(publisher: bytes, payload: bytes) -> None:
    pass


async def test_an_error_in_the_body_propagates_unwrapped() -> None:
    with pytest.raises(LedgerRefusal):
        async with open_libp2p_transport(SEED_A):
            raise LedgerRefusal("nope", code="refused")
