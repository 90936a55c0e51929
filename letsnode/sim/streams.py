"""Seeded randomness and keys: everything a run draws follows from its seed and names.

Each community has one generator, ``community_rng(seed, short)``, split into two
independent streams: ``trade`` (who pays whom, how much, when, churn) and ``node`` (the
ids its node draws: transfers, lines, rounds, and the clearing loop's jitter), so that
what the node draws never shifts the trade and the other way round. Keys are derived
from the seed and the names (BLAKE2b), never drawn, so a member's key does not depend on
when it was made.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from letsnode.core.crypto import SigningKey


def _digest(*parts: str | int) -> bytes:
    h = hashlib.blake2b(digest_size=32, person=b"letsnode-sim")
    for part in parts:
        data = str(part).encode()
        h.update(len(data).to_bytes(4, "big") + data)
    return h.digest()


def derived_int(*parts: str | int) -> int:
    return int.from_bytes(_digest(*parts)[:16], "big")


@dataclass(frozen=True, slots=True)
class Streams:
    trade: random.Random
    node: random.Random


def community_rng(seed: int, short: str) -> Streams:
    """The generator of community ``short`` in a run with ``seed``: its two streams."""
    return Streams(
        random.Random(derived_int("trade", seed, short)),
        random.Random(derived_int("node", seed, short)),
    )


def network_seed(seed: int) -> int:
    """The memory network's own seed (its drops), from the run's."""
    return derived_int("network", seed) % 2**63


def node_key(seed: int, short: str) -> SigningKey:
    return SigningKey(_digest("node-key", seed, short))


def member_key(seed: int, short: str, handle: str) -> SigningKey:
    return SigningKey(_digest("member-key", seed, short, handle))
