"""Generated credit-line topologies: a ring, a star around a hub, a small world.

Each function returns pairs of community short names, every pair once, in a fixed order;
the small world (Watts and Strogatz, 1998: a ring where each community has ``k`` nearest
partners, each link rewired with probability ``p``) draws from the generator it is given.
"""

from __future__ import annotations

import random


def ring(shorts: list[str]) -> list[tuple[str, str]]:
    if len(shorts) < 2:
        return []
    if len(shorts) == 2:
        return [(shorts[0], shorts[1])]
    return [(shorts[i], shorts[(i + 1) % len(shorts)]) for i in range(len(shorts))]


def star(shorts: list[str], hub: str) -> list[tuple[str, str]]:
    return [(hub, s) for s in shorts if s != hub]


def small_world(shorts: list[str], k: int, p: float, rng: random.Random) -> list[tuple[str, str]]:
    """Watts–Strogatz: ``k`` (even, < n) nearest partners on a ring, each link's far end
    moved with probability ``p`` to a community not yet linked (never to itself)."""
    n = len(shorts)
    edges: list[tuple[int, int]] = []
    linked: set[frozenset[int]] = set()
    for i in range(n):
        for j in range(1, k // 2 + 1):
            pair = (i, (i + j) % n)
            edges.append(pair)
            linked.add(frozenset(pair))
    out: list[tuple[int, int]] = []
    for i, j in edges:
        if rng.random() < p:
            free = [t for t in range(n) if t != i and frozenset((i, t)) not in linked]
            if free:
                t = free[rng.randrange(len(free))]
                linked.discard(frozenset((i, j)))
                linked.add(frozenset((i, t)))
                j = t
        out.append((i, j))
    return [(shorts[i], shorts[j]) for i, j in out]
