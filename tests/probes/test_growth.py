"""Growth: live objects counted by type, untracked ones too, without agmem's own bookkeeping.

The independent measure is objgraph's way, by hand: walk ``gc.get_objects()`` and count.
"""

from __future__ import annotations

import gc

from autograd_mem.probes import growth


class CensusRecord:
    """Named apart: the census counts by type name, and agmem has a Record (schema.rules)."""


def by_hand(cls: type) -> int:
    """Tracked objects of ``cls``, counted as objgraph's ``count`` does."""
    return sum(1 for obj in gc.get_objects() if type(obj) is cls)


def test_counts_grow_with_what_stays_alive():
    before = growth.take_census()
    kept = [CensusRecord() for _ in range(25)]
    after = growth.take_census()
    assert after.counts["CensusRecord"] == by_hand(CensusRecord)
    assert after.counts["CensusRecord"] - before.counts.get("CensusRecord", 0) == 25
    assert "CensusRecord" in growth.grown_types(before, after)
    assert kept


def test_untracked_objects_are_counted_as_what_tracked_ones_refer_to():
    before = growth.take_census()
    payloads = [bytearray(1000) for _ in range(40)]
    after = growth.take_census()
    assert after.counts["bytearray"] - before.counts.get("bytearray", 0) == 40
    # their bytes are their sizes, buffers included
    grown = after.sizes["bytearray"] - before.sizes.get("bytearray", 0)
    assert grown == sum(map(growth.sizes_of, ([p] for p in payloads)))
    # and the most bytes grown come first
    assert growth.grown_types(before, after)[0] == "bytearray"


def test_what_the_caller_owns_is_left_out():
    mine = {"records": [CensusRecord() for _ in range(10)]}
    with_mine = growth.take_census()
    without = growth.take_census(mine)
    assert with_mine.counts["CensusRecord"] - without.counts.get("CensusRecord", 0) == 10


def test_the_end_census_keeps_the_objects_by_type():
    kept = [CensusRecord() for _ in range(3)]
    census = growth.take_census(keep=True)
    assert all(any(obj is record for obj in census.objects["CensusRecord"]) for record in kept)
