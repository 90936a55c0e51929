"""The routing table: the latest advert of each community, bounded against floods."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from letsnode.core.routing import RoutingTable
from letsnode.core.wire.adverts import Advert, AdvertLine


def cid(n: int) -> bytes:
    return n.to_bytes(32, "big")


def advert(n: int, timestamp_ms: int = 1, lines: tuple[AdvertLine, ...] = ()) -> Advert:
    return Advert(cid(n), f"c{n}", f"Community {n}", "HOUR", 2, (), timestamp_ms, lines)


def test_a_newer_advert_replaces_an_older_one_and_never_the_reverse() -> None:
    table = RoutingTable()
    assert table.add(advert(1, 10))
    assert not table.add(advert(1, 9))
    assert not table.add(advert(1, 10))
    assert table.add(advert(1, 11))
    assert table.adverts[cid(1)].timestamp_ms == 11


def test_a_flood_of_new_communities_keeps_the_table_bounded_and_the_kept_ones() -> None:
    kept = {cid(0), cid(1)}
    table = RoutingTable(max_adverts=50, keep=lambda c: c in kept)
    table.add(advert(0))
    table.add(advert(1))
    for n in range(2, 1000):
        table.add(advert(n, timestamp_ms=2**62))  # a claimed far future protects no one
    assert len(table.adverts) == 50
    assert kept <= set(table.adverts)
    assert cid(999) in table.adverts and cid(2) not in table.adverts


def test_a_community_heard_from_again_is_kept_over_one_gone_quiet() -> None:
    table = RoutingTable(max_adverts=3)
    for n in (1, 2, 3):
        table.add(advert(n, 1))
    table.add(advert(1, 2))  # community 1 advertises again
    table.add(advert(4, 1))
    assert set(table.adverts) == {cid(1), cid(3), cid(4)}


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5)), max_size=200))
def test_the_table_never_holds_more_than_its_bound(arrivals: list[tuple[int, int]]) -> None:
    table = RoutingTable(max_adverts=8, keep=lambda c: c == cid(0))
    table.add(advert(0))
    for n, ts in arrivals:
        table.add(advert(n, ts))
        assert len(table.adverts) <= 8
        assert cid(0) in table.adverts
