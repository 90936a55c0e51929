"""Shared pieces of the web tests: a community on disk, members holding real Ed25519 keys
(standing in for browsers), and API calls made the way the wallet makes them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from letsnode.community.folder import Community
from letsnode.core.crypto import DOMAIN_JOIN, DOMAIN_SESSION, SigningKey
from letsnode.core.wire.entries import Order
from letsnode.node.facade import Node

BASE = "http://testserver"


def make_community(folder: Path, floor: int = -2000, ceiling: int | None = 4000) -> Path:
    """A time bank (unit HOUR, scale 2, floor -20.00, ceiling 40.00) in ``folder``."""
    c = Community.create(
        folder,
        name="Test Time Bank",
        short="test",
        unit="HOUR",
        scale=2,
        floor=floor,
        ceiling=ceiling,
    )
    c.close()
    return folder


@dataclass
class Member:
    handle: str
    key: SigningKey

    @classmethod
    def new(cls, handle: str) -> Member:
        return cls(handle, SigningKey(secrets.token_bytes(32)))

    @property
    def public_hex(self) -> str:
        return self.key.public.hex()

    def order(
        self, node: Node, payee: str, amount: int, nonce: int, memo: str = ""
    ) -> dict[str, str]:
        signed = Order(node.community_id, self.handle, payee, amount, nonce, memo).sign(self.key)
        return {"order": signed.data.hex(), "signature": signed.signature.hex()}


@asynccontextmanager
async def api_client(app: Any, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"X-Letsnode": "1"}
    ) as client:
        yield client


async def challenge(client: httpx.AsyncClient, key_hex: str) -> tuple[bytes, bytes]:
    r = await client.post("/api/session/challenge", json={"key": key_hex})
    assert r.status_code == 200, r.text
    body = r.json()
    return bytes.fromhex(body["challenge"]), bytes.fromhex(body["community_id"])


async def join(
    client: httpx.AsyncClient, member: Member, invite: str | None = None
) -> httpx.Response:
    value, community_id = await challenge(client, member.public_hex)
    signature = member.key.sign(DOMAIN_JOIN, community_id + value + member.handle.encode())
    body: dict[str, Any] = {
        "handle": member.handle,
        "key": member.public_hex,
        "challenge": value.hex(),
        "signature": signature.hex(),
    }
    if invite:
        body["invite"] = invite
    return await client.post("/api/join", json=body)


async def sign_in(client: httpx.AsyncClient, key: SigningKey) -> httpx.Response:
    """Open a session (the cookie lands in the client's jar)."""
    value, community_id = await challenge(client, key.public.hex())
    signature = key.sign(DOMAIN_SESSION, community_id + value)
    return await client.post(
        "/api/session",
        json={"key": key.public.hex(), "challenge": value.hex(), "signature": signature.hex()},
    )


def is_problem(response: httpx.Response, status: int, code: str) -> bool:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    return body["status"] == status and bool(body["detail"])
