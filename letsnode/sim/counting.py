"""Messages and bytes each node sends: a ``PeerTransport`` that counts and passes on.

Counted per node: requests it sends and their bytes, responses it returns to others'
requests and their bytes, and gossip messages it publishes and their bytes (one per
publication, whatever the number of subscribers: the memory network hands it to all of
them, libp2p's gossipsub to its mesh). The same wrapper serves both transports.
"""

from __future__ import annotations

from dataclasses import dataclass

from letsnode.net.transport import (
    PeerInfo,
    PeerTransport,
    RequestHandler,
    TopicHandler,
    TopicValidator,
)

_ERROR_OVERHEAD = 24  # an error reply's framing and code, roughly


@dataclass(slots=True)
class Traffic:
    requests: int = 0
    request_bytes: int = 0
    responses: int = 0
    response_bytes: int = 0
    gossip: int = 0
    gossip_bytes: int = 0

    @property
    def messages(self) -> int:
        return self.requests + self.responses + self.gossip

    @property
    def bytes(self) -> int:
        return self.request_bytes + self.response_bytes + self.gossip_bytes


class CountingTransport:
    """Wraps ``inner``; adds to ``traffic`` (shared across the node's restarts)."""

    def __init__(self, inner: PeerTransport, traffic: Traffic) -> None:
        self.inner = inner
        self.traffic = traffic

    @property
    def local_id(self) -> bytes:
        return self.inner.local_id

    def listen_addrs(self) -> list[str]:
        return self.inner.listen_addrs()

    def set_handler(self, protocol: str, handler: RequestHandler) -> None:
        traffic = self.traffic

        async def counted(peer: bytes, payload: bytes) -> bytes:
            try:
                response = await handler(peer, payload)
            except Exception as exc:  # the transport answers with the error's code and text
                traffic.responses += 1
                traffic.response_bytes += len(str(exc).encode()) + _ERROR_OVERHEAD
                raise
            traffic.responses += 1
            traffic.response_bytes += len(response)
            return response

        self.inner.set_handler(protocol, counted)

    async def request(self, peer: bytes, protocol: str, payload: bytes, timeout: float) -> bytes:
        self.traffic.requests += 1
        self.traffic.request_bytes += len(payload)
        return await self.inner.request(peer, protocol, payload, timeout)

    async def connect(self, addr: str) -> bytes:
        return await self.inner.connect(addr)

    def peers(self) -> list[PeerInfo]:
        return self.inner.peers()

    def subscribe(self, topic: str, handler: TopicHandler, validator: TopicValidator) -> None:
        self.inner.subscribe(topic, handler, validator)

    async def publish(self, topic: str, payload: bytes) -> None:
        self.traffic.gossip += 1
        self.traffic.gossip_bytes += len(payload)
        await self.inner.publish(topic, payload)
