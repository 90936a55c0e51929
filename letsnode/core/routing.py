"""Path finding over the federation's credit lines, from the latest line adverts.

Every node publishes a signed advert (:mod:`letsnode.core.wire.adverts`) of itself and of
the room left on each of its lines; a payer's node finds a path with enough room from the
latest adverts it holds. A hop X→Y can carry
``a`` (in X's units) when X's ``room_out`` to Y is at least ``a`` and Y's ``room_in`` from
X is at least ``a`` converted to Y's units.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from letsnode.core.errors import LedgerRefusal
from letsnode.core.wire.adverts import Advert
from letsnode.core.wire.lines import convert

# Enough for a federation of every community of a region; a flood of adverts from fresh
# keys cannot grow the table past it.
MAX_ADVERTS = 1024


@dataclass(frozen=True, slots=True)
class Hop:
    """One leg of a route: from → to carrying ``amount`` in ``to``'s units."""

    to: bytes
    line_id: bytes
    amount: int


class RoutingTable:
    """The latest advert of each community; newer replaces older, never the reverse.

    At most ``max_adverts`` communities are held: past that, the one heard from least
    recently goes first, unless ``keep`` says to keep it (this node, its line partners).
    Recency is when an advert *arrived*, not the time it claims, which its sender chooses;
    a community that still advertises (every few seconds) is soon heard from again.
    """

    def __init__(
        self, max_adverts: int = MAX_ADVERTS, keep: Callable[[bytes], bool] = lambda _: False
    ) -> None:
        self.adverts: dict[bytes, Advert] = {}  # least recently received first
        self.max_adverts = max_adverts
        self.keep = keep

    def add(self, advert: Advert) -> bool:
        old = self.adverts.get(advert.community_id)
        if old is not None and old.timestamp_ms >= advert.timestamp_ms:
            return False
        self.put(advert)
        return True

    def put(self, advert: Advert) -> None:
        """Hold ``advert`` as the latest of its community (our own, or a checked newer one)."""
        self.adverts.pop(advert.community_id, None)
        self.adverts[advert.community_id] = advert
        if len(self.adverts) > self.max_adverts:
            for community_id in self.adverts:
                if community_id != advert.community_id and not self.keep(community_id):
                    del self.adverts[community_id]
                    break

    def by_short(self, short: str) -> list[Advert]:
        return sorted(
            (a for a in self.adverts.values() if a.short == short), key=lambda a: a.community_id
        )

    def _room_in(self, at: bytes, sender: bytes) -> int | None:
        advert = self.adverts.get(at)
        if advert is None:
            return None
        for line in advert.lines:
            if line.partner == sender:
                return line.room_in
        return None

    def find(self, source: bytes, destination: bytes, amount: int, max_hops: int) -> list[Hop]:
        """The shortest path with room for ``amount`` (source units), ties broken by ids.

        Raises LedgerRefusal ``no_route`` when there is none within ``max_hops``.
        """
        start: tuple[bytes, int, list[Hop]] = (source, amount, [])
        queue = deque([start])
        seen = {source}
        while queue:
            node, carried, path = queue.popleft()
            if node == destination:
                return path
            if len(path) >= max_hops or node not in self.adverts:
                continue
            for line in sorted(self.adverts[node].lines, key=lambda x: x.partner):
                nxt = line.partner
                if nxt in seen or line.room_out < carried:
                    continue
                arriving = convert(carried, line.rate_num, line.rate_den)
                room_in = self._room_in(nxt, node)
                # No word yet from the next node about this line (its advert is still on the
                # way): try it; the next node refuses the prepare if it has no room.
                if arriving <= 0 or (room_in is not None and room_in < arriving):
                    continue
                seen.add(nxt)
                queue.append((nxt, arriving, [*path, Hop(nxt, line.line_id, arriving)]))
        raise LedgerRefusal(
            f"no route with room for this payment within {max_hops} hops", code="no_route"
        )
