"""The in-memory PeerTransport: same behaviour as libp2p's, plus partitions, latency, drops."""

from __future__ import annotations

import nacl.bindings
import pytest
import trio
import trio.testing

from letsnode.core.errors import LedgerRefusal
from letsnode.net.memory import MemoryNetwork, MemoryTransport, memory_addr
from letsnode.net.transport import (
    MAX_MESSAGE_BYTES,
    InvalidPeerId,
    MessageTooLarge,
    PeerInfo,
    PeerRefused,
    PeerTimeout,
    PeerTransport,
    PeerUnreachable,
    RemoteError,
)


def community_id(n: int) -> bytes:
    public_key, _ = nacl.bindings.crypto_sign_seed_keypair(bytes([n]) * 32)
    return bytes(public_key)


A, B, C = community_id(1), community_id(2), community_id(3)
ECHO = "/test/echo/1"


async def echo(peer: bytes, payload: bytes) -> bytes:
    return peer + payload


def accept_all(publisher: bytes, payload: bytes) -> bool:
    return True


def as_peer_transport(transport: MemoryTransport) -> PeerTransport:
    return transport  # mypy checks that MemoryTransport implements the interface


async def test_request_reaches_the_handler_with_the_sender_supplied_by_the_network() -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:
        a.set_handler(ECHO, echo)
        b.set_handler(ECHO, echo)
        assert await a.connect(memory_addr(B)) == B
        assert await a.request(B, ECHO, b"ping", timeout=1) == A + b"ping"
        # b learnt of a from the inbound contact and can answer back
        assert await b.request(A, ECHO, b"pong", timeout=1) == B + b"pong"
        assert as_peer_transport(a).local_id == A


async def test_empty_request_and_response_are_fine() -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:

        async def empty(peer: bytes, payload: bytes) -> bytes:
            assert payload == b""
            return b""

        b.set_handler(ECHO, empty)
        await a.connect(memory_addr(B))
        assert await a.request(B, ECHO, b"", timeout=1) == b""


async def test_request_to_a_peer_never_met_is_unreachable() -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:
        b.set_handler(ECHO, echo)
        with pytest.raises(PeerUnreachable, match="no known address"):
            await a.request(B, ECHO, b"x", timeout=1)


async def test_known_peers_and_bootstrap_need_no_connect() -> None:
    network = MemoryNetwork()
    async with (
        network.transport(A, known_peers=[(B, [memory_addr(B)])], bootstrap=[memory_addr(C)]) as a,
        network.transport(B) as b,
        network.transport(C) as c,
    ):
        b.set_handler(ECHO, echo)
        c.set_handler(ECHO, echo)
        assert await a.request(B, ECHO, b"1", timeout=1) == A + b"1"
        assert await a.request(C, ECHO, b"2", timeout=1) == A + b"2"


async def test_a_lets_error_from_the_handler_arrives_with_its_code_and_message() -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:

        async def refuse(peer: bytes, payload: bytes) -> bytes:
            raise LedgerRefusal("account bob would go below its floor of -500", code="below_floor")

        b.set_handler(ECHO, refuse)
        await a.connect(memory_addr(B))
        with pytest.raises(RemoteError) as caught:
            await a.request(B, ECHO, b"pay", timeout=1)
        assert caught.value.code == "below_floor"
        assert caught.value.message == "account bob would go below its floor of -500"


async def test_a_crashing_handler_is_a_peer_error_and_the_peer_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:
        calls = []

        async def flaky(peer: bytes, payload: bytes) -> bytes:
            calls.append(payload)
            if payload == b"boom":
                raise ZeroDivisionError("secret internal detail")
            return b"ok"

        b.set_handler(ECHO, flaky)
        await a.connect(memory_addr(B))
        with pytest.raises(RemoteError) as caught:
            await a.request(B, ECHO, b"boom", timeout=1)
        assert caught.value.code == "peer_error"
        assert "secret" not in caught.value.message
        assert "ZeroDivisionError" in caplog.text
        assert await a.request(B, ECHO, b"again", timeout=1) == b"ok"


async def test_oversized_messages_are_refused_both_ways() -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:

        async def inflate(peer: bytes, payload: bytes) -> bytes:
            return bytes(MAX_MESSAGE_BYTES + 1)

        b.set_handler(ECHO, echo)
        b.set_handler("/test/inflate/1", inflate)
        await a.connect(memory_addr(B))
        with pytest.raises(MessageTooLarge):
            await a.request(B, ECHO, bytes(MAX_MESSAGE_BYTES + 1), timeout=1)
        with pytest.raises(MessageTooLarge, match="response"):
            await a.request(B, "/test/inflate/1", b"", timeout=1)
        big = bytes(MAX_MESSAGE_BYTES - 32)  # the echo adds the 32-byte sender id
        assert await a.request(B, ECHO, big, timeout=1) == A + big


async def test_a_slow_handler_times_out_but_still_runs_on_the_peer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:
        finished = trio.Event()

        async def slow(peer: bytes, payload: bytes) -> bytes:
            await trio.sleep(10)
            finished.set()
            return b"late"

        b.set_handler(ECHO, slow)
        await a.connect(memory_addr(B))
        start = trio.current_time()
        with pytest.raises(PeerTimeout):
            await a.request(B, ECHO, b"x", timeout=2)
        assert trio.current_time() - start == pytest.approx(2)
        await finished.wait()  # a real peer would have acted on the request too


async def test_the_peer_bounds_its_handler_time(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B, handler_timeout=1) as b:

        async def stuck(peer: bytes, payload: bytes) -> bytes:
            await trio.sleep_forever()
            raise AssertionError

        b.set_handler(ECHO, stuck)
        await a.connect(memory_addr(B))
        with pytest.raises(PeerTimeout, match="handler took longer"):
            await a.request(B, ECHO, b"x", timeout=60)


async def test_a_protocol_the_peer_does_not_serve_is_refused() -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B):
        await a.connect(memory_addr(B))
        with pytest.raises(PeerRefused, match="does not serve"):
            await a.request(B, "/test/unknown/1", b"", timeout=1)


async def test_requests_beyond_the_inbound_limit_are_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B, max_inbound_requests=1) as b:

        async def slow(peer: bytes, payload: bytes) -> bytes:
            await trio.sleep(1)
            return b"done"

        b.set_handler(ECHO, slow)
        await a.connect(memory_addr(B))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(a.request, B, ECHO, b"first", 5)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(PeerRefused, match="too many"):
                await a.request(B, ECHO, b"second", timeout=5)


async def test_a_partition_cuts_requests_and_gossip_until_healed() -> None:
    network = MemoryNetwork()
    async with (
        network.transport(A) as a,
        network.transport(B) as b,
        network.transport(C) as c,
    ):
        b.set_handler(ECHO, echo)
        await a.connect(memory_addr(B))
        received: dict[bytes, list[bytes]] = {B: [], C: []}
        for transport in (b, c):

            async def record(
                publisher: bytes, payload: bytes, me: bytes = transport.local_id
            ) -> None:
                received[me].append(payload)

            transport.subscribe("heads", record, accept_all)

        network.partition(A, B)
        assert not a.is_connected(B)
        assert a.peers() == [PeerInfo(B, (memory_addr(B),), connected=False)]
        with pytest.raises(PeerUnreachable):
            await a.request(B, ECHO, b"x", timeout=1)
        await a.publish("heads", b"during")
        await trio.testing.wait_all_tasks_blocked()
        assert received == {B: [], C: [b"during"]}

        network.heal(A, B)
        assert a.peers() == [PeerInfo(B, (memory_addr(B),), connected=True)]
        assert await a.request(B, ECHO, b"y", timeout=1) == A + b"y"
        await a.publish("heads", b"after")
        await trio.testing.wait_all_tasks_blocked()
        assert received == {B: [b"after"], C: [b"during", b"after"]}


async def test_a_peer_that_closes_is_unreachable_even_mid_request() -> None:
    network = MemoryNetwork()
    b_ready, handler_started, close_b = trio.Event(), trio.Event(), trio.Event()

    async def hang(peer: bytes, payload: bytes) -> bytes:
        handler_started.set()
        await trio.sleep_forever()
        raise AssertionError

    async def run_b() -> None:
        async with network.transport(B) as b:
            b.set_handler(ECHO, hang)
            b_ready.set()
            await close_b.wait()

    async def request_cut_short(a: MemoryTransport) -> None:
        with pytest.raises(PeerUnreachable, match="broke during"):
            await a.request(B, ECHO, b"x", timeout=5)

    async with network.transport(A) as a, trio.open_nursery() as nursery:
        nursery.start_soon(run_b)
        await b_ready.wait()
        await a.connect(memory_addr(B))
        nursery.start_soon(request_cut_short, a)
        await handler_started.wait()
        close_b.set()  # b goes away while its handler runs
    async with network.transport(A) as a:
        with pytest.raises(PeerUnreachable):
            await a.connect(memory_addr(B))


async def test_latency_delays_each_direction(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork(latency=0.25)
    async with network.transport(A) as a, network.transport(B) as b:
        b.set_handler(ECHO, echo)
        await a.connect(memory_addr(B))
        start = trio.current_time()
        await a.request(B, ECHO, b"x", timeout=1)
        assert trio.current_time() - start == pytest.approx(0.5)
        network.set_latency(0.6)
        with pytest.raises(PeerTimeout):
            await a.request(B, ECHO, b"x", timeout=1)


async def outcomes_with_drops(seed: int) -> list[str]:
    network = MemoryNetwork(seed=seed, drop_rate=0.3)
    outcomes = []
    async with network.transport(A) as a, network.transport(B) as b:
        b.set_handler(ECHO, echo)
        await a.connect(memory_addr(B))
        for i in range(60):
            try:
                await a.request(B, ECHO, bytes([i]), timeout=1)
                outcomes.append("ok")
            except PeerTimeout:
                outcomes.append("lost")
    return outcomes


async def test_drops_follow_the_seed(autojump_clock: trio.testing.MockClock) -> None:
    first = await outcomes_with_drops(seed=42)
    assert first == await outcomes_with_drops(seed=42)
    assert first != await outcomes_with_drops(seed=43)
    # a request survives only if both it and its reply do: 0.7² ≈ 49 %
    assert 15 <= first.count("ok") <= 45


async def test_gossip_reaches_every_reachable_subscriber_that_accepts_it() -> None:
    network = MemoryNetwork()
    async with (
        network.transport(A) as a,
        network.transport(B) as b,
        network.transport(C) as c,
    ):
        got: dict[bytes, list[tuple[bytes, bytes]]] = {A: [], B: [], C: []}
        for transport in (a, b, c):

            async def record(
                publisher: bytes, payload: bytes, me: bytes = transport.local_id
            ) -> None:
                got[me].append((publisher, payload))

            strict = transport is c
            transport.subscribe(
                "heads",
                record,
                (lambda _p, payload: not payload.startswith(b"bad")) if strict else accept_all,
            )
        with trio.fail_after(1):
            await a.wait_topic_peers("heads", 2)
        await a.publish("heads", b"bad head")
        await a.publish("heads", b"good head")
        await trio.testing.wait_all_tasks_blocked()
        assert got[B] == [(A, b"bad head"), (A, b"good head")]
        assert got[C] == [(A, b"good head")]
        assert got[A] == []  # our own messages are not delivered back to us


async def test_our_own_validator_vets_what_we_publish() -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:
        got: list[bytes] = []

        async def record(publisher: bytes, payload: bytes) -> None:
            got.append(payload)

        async def ignore(publisher: bytes, payload: bytes) -> None:
            pass

        a.subscribe("heads", ignore, lambda _p, payload: payload != b"unsigned")
        b.subscribe("heads", record, accept_all)
        await a.publish("heads", b"unsigned")
        await a.publish("heads", b"signed")
        await trio.testing.wait_all_tasks_blocked()
        assert got == [b"signed"]
        with pytest.raises(MessageTooLarge):
            await a.publish("heads", bytes(MAX_MESSAGE_BYTES + 1))


async def test_a_failing_gossip_handler_or_validator_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    network = MemoryNetwork()
    async with network.transport(A) as a, network.transport(B) as b:
        got: list[bytes] = []

        async def handler(publisher: bytes, payload: bytes) -> None:
            if payload == b"crash":
                raise RuntimeError("handler bug")
            got.append(payload)

        def validator(publisher: bytes, payload: bytes) -> bool:
            if payload == b"bad":
                raise ValueError("validator bug")
            return True

        b.subscribe("heads", handler, validator)
        for payload in (b"bad", b"crash", b"fine"):
            await a.publish("heads", payload)
        await trio.testing.wait_all_tasks_blocked()
        assert got == [b"fine"]
        assert "validator bug" in caplog.text
        assert "handler bug" in caplog.text


async def test_gossip_arrives_after_the_latency(autojump_clock: trio.testing.MockClock) -> None:
    network = MemoryNetwork(latency=0.1)
    async with network.transport(A) as a, network.transport(B) as b:
        arrived = trio.Event()

        async def record(publisher: bytes, payload: bytes) -> None:
            arrived.set()

        b.subscribe("heads", record, accept_all)
        start = trio.current_time()
        await a.publish("heads", b"h")
        await arrived.wait()
        assert trio.current_time() - start == pytest.approx(0.1)


async def test_on_peer_is_called_on_first_contact_on_both_sides() -> None:
    network = MemoryNetwork()
    met: list[tuple[bytes, bytes, list[str]]] = []
    async with (
        network.transport(A, on_peer=lambda peer, addrs: met.append((A, peer, addrs))) as a,
        network.transport(B, on_peer=lambda peer, addrs: met.append((B, peer, addrs))),
    ):
        await a.connect(memory_addr(B))
        await a.connect(memory_addr(B))
        assert sorted(met) == sorted([(A, B, [memory_addr(B)]), (B, A, [memory_addr(A)])])
        assert a.listen_addrs() == [memory_addr(A)]


async def test_bad_addresses_and_closed_transports_are_rejected() -> None:
    network = MemoryNetwork()
    transport = network.transport(A)
    with pytest.raises(Exception, match="not open"):
        await transport.request(B, ECHO, b"", timeout=1)
    async with transport as a:
        for bad in ("/ip4/127.0.0.1/tcp/1", "/memory/zz", "/memory/" + "00" * 31):
            with pytest.raises(InvalidPeerId):
                await a.connect(bad)
        with pytest.raises(InvalidPeerId):
            await a.connect(memory_addr(A))
        with pytest.raises(PeerUnreachable):
            await a.connect(memory_addr(C))
        with pytest.raises(Exception, match="already open"):
            async with network.transport(A):
                pass


async def test_an_error_in_the_body_propagates_unwrapped() -> None:
    network = MemoryNetwork()
    with pytest.raises(LedgerRefusal):
        async with network.transport(A):
            raise LedgerRefusal("nope", code="refused")
    async with network.transport(A):  # and the id is free again
        pass
