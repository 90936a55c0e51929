"""HTTP for the node's ASGI application (the wallet and API): its own HTTP/1.1 server
(``server``; requests read by llhttp in ``parse``, with the node's stricter checks in
``checks``) or Hypercorn, as the operator picks."""

from __future__ import annotations

from typing import Literal

HttpServerKind = Literal["letsnode", "hypercorn"]
HTTP_SERVERS: tuple[HttpServerKind, ...] = ("letsnode", "hypercorn")


def split_host_port(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) as its two parts."""
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{address!r} is not HOST:PORT")
    return host.removeprefix("[").removesuffix("]"), int(port)
