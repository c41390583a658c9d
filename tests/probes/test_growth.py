"""Growth: live objects counted by type, without agmem's own bookkeeping."""

from __future__ import annotations

from autograd_mem.probes import growth


class Record:
    pass


def test_counts_grow_with_what_stays_alive():
    before = growth.count_by_type()
    kept = [Record() for _ in range(25)]
    after = growth.count_by_type()
    assert after["Record"] - before.get("Record", 0) == 25
    rows = growth.top_growth(before, after)
    assert ("Record", before.get("Record", 0), after["Record"]) in rows
    assert kept


def test_what_the_caller_owns_is_left_out():
    mine = {"records": [Record() for _ in range(10)]}
    with_mine = growth.count_by_type()
    without = growth.count_by_type(mine)
    assert with_mine["Record"] - without.get("Record", 0) == 10


def test_the_largest_growth_comes_first_and_shrinking_types_are_left_out():
    rows = growth.top_growth({"a": 5, "b": 1, "c": 9}, {"a": 6, "b": 40, "c": 2}, limit=5)
    assert rows == [("b", 1, 40), ("a", 5, 6)]
