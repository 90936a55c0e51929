"""Which peers a node remembers, and for how long: partners for good, strangers briefly.

Anyone with a fresh key can connect to a node, so a peer that merely connects is kept in
memory only (the ``MAX_MET`` most recent, for when it becomes a partner) and never written
down. The ``peers`` table holds the addresses of **partners** (communities this one has a
credit line or a line proposal with), for good, and of communities whose signed advert
this node verified, at most ``MAX_REMEMBERED`` of them, the most recently heard. At start
a node dials only its partners' remembered addresses (and the ``--peer`` it is given).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from letsnode.core.rules.ledger import Ledger
from letsnode.core.wire.adverts import Advert
from letsnode.federation.port import PeerRecords

MAX_MET = 256
MAX_REMEMBERED = 256
# An advert comes every few seconds; its addresses are written again only when they change
# or after this long (a durable write per advert would be an fsync every few seconds).
REWRITE_MS = 3600 * 1000


class Partners:
    """The partners of one community (read from its ledger and line proposals) and what it
    remembers of the peers it meets."""

    def __init__(
        self, ledger: Callable[[], Ledger], store: PeerRecords, clock: Callable[[], int]
    ) -> None:
        self._ledger = ledger
        self.store = store
        self.clock = clock
        self.met_recently: OrderedDict[bytes, list[str]] = OrderedDict()
        self._written: dict[bytes, tuple[tuple[str, ...], int]] = {}

    def ids(self) -> set[bytes]:
        """Communities with a credit line or a line proposal with this one."""
        lines = {line.partner for line in self._ledger().lines.values()}
        return lines | {p.partner for p in self.store.proposals()}

    def met(self, peer: bytes, addrs: list[str]) -> None:
        """A peer connected (the transport's ``on_peer``)."""
        if peer in self.ids():
            self.store.remember_peer(peer, addrs, self.clock())
            return
        self.met_recently.pop(peer, None)
        self.met_recently[peer] = list(addrs)
        while len(self.met_recently) > MAX_MET:
            self.met_recently.popitem(last=False)

    def advertised(self, advert: Advert) -> None:
        """A community's advert arrived and its signature verified."""
        now, cid = self.clock(), advert.community_id
        last = self._written.get(cid)
        if last is not None and last[0] == advert.addrs and now - last[1] < REWRITE_MS:
            return
        self.store.remember_peer(cid, list(advert.addrs), now)
        if last is None:
            self.store.forget_strangers(self.ids(), MAX_REMEMBERED)
        self._written[cid] = (advert.addrs, now)
        if len(self._written) > MAX_REMEMBERED + MAX_MET:
            self._written.clear()  # only a cache of what is written: start it again

    def known(self) -> list[tuple[bytes, list[str]]]:
        """The partners' remembered addresses: whom to dial at start."""
        partners = self.ids()
        remembered = dict(self.store.known_peers(partners))
        for peer, addrs in self.met_recently.items():  # became partners since we met
            if peer in partners and peer not in remembered:
                remembered[peer] = addrs
        return sorted(remembered.items())
