"""The explain pass in this process: ExplainPass over collections the test makes itself."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref
from collections.abc import Callable

import numpy as np
import pytest

from autograd_mem.cycles import scc as cycles
from autograd_mem.cycles import shapes
from autograd_mem.cycles.explain import ExplainPass, type_group
from autograd_mem.engine import Variable, reference_mode
from autograd_mem.functions import square
from autograd_mem.schema.explain import ExplainReport

PAYLOAD = 64 * 1024
# Before 3.11 every instance's attributes live in a dict object of its own, which the
# collector finds beside the instance; from 3.11 they are kept inline.
DICTS = 1 if sys.version_info < (3, 11) else 0
RING = 5_000  # past the recursion limit: the graph code must not recurse


class Leaky:
    def __init__(self) -> None:
        self.me = self
        self.payload = bytearray(PAYLOAD)


class Node:
    def __init__(self) -> None:
        self.next: Node | None = None


class Parent:
    def __init__(self, children: int) -> None:
        self.children = [Child(self) for _ in range(children)]


class Child:
    def __init__(self, parent: Parent) -> None:
        self.parent = parent


def tally(*batches: Callable[[], object]) -> ExplainReport:
    """Run each batch, then a collection; the report of all of them."""
    gc.collect()
    # Shapes only: the growth counts walk this whole test process (tests/cycles/test_growth.py
    # and the workload tests run them in a child).
    with ExplainPass(count_growth=False) as explained:
        for make in batches:
            make()
            gc.collect()
        explained.end_window()
    return explained.report()


def traced_bytes(make: Callable[[], object]) -> int:
    """tracemalloc's own count of what ``make``'s result took: the independent measure."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        return tracemalloc.get_traced_memory()[0] - before - (sys.getsizeof(made)
                                                              if isinstance(made, list) else 0)
    finally:
        tracemalloc.stop()
        gc.enable()


def three_leaky() -> list[Leaky]:
    return [Leaky() for _ in range(3)]


def test_every_collection_is_tallied_and_every_object_accounted_for():
    # given two collections, each finding three self-referencing instances
    report = tally(three_leaky, three_leaky)
    assert report.collections == 2
    assert report.garbage_objects == 6 * (1 + DICTS)
    (shape,) = report.shapes
    assert (shape.cycles, shape.objects) == (6, 6 * (1 + DICTS))
    assert sum(s.objects for s in report.shapes) == report.garbage_objects
    assert report.bytes_freed_total == shape.bytes_freed_total
    # what tracemalloc says three of them took, twice; at most one collection's at once
    three = traced_bytes(three_leaky)
    assert abs(shape.bytes_freed_total - 2 * three) <= 0.05 * three
    assert abs(shape.bytes_held_at_most - three) <= 0.05 * three
    assert report.bytes_held_at_most == shape.bytes_held_at_most
    # then the site is the line here that made them, found in either collection
    assert shape.allocated_at is not None
    assert shape.allocated_at.file == __file__
    assert shape.allocated_at.function == "three_leaky"


def test_parents_with_any_number_of_children_are_one_shape():
    report = tally(lambda: [Parent(2), Parent(5)])
    (shape,) = report.shapes
    assert shape.cycles == 2
    assert shape.objects == (2 + 7) * (1 + DICTS) + 2  # parents, children, their lists
    assert shape.types == ("Child", "Parent", "list")


def test_a_long_ring_is_one_cycle_with_a_short_path():
    def ring() -> None:
        nodes = [Node() for _ in range(RING)]
        for a, b in zip(nodes, nodes[1:] + nodes[:1], strict=True):
            a.next = b

    report = tally(ring)
    (shape,) = report.shapes
    assert (shape.cycles, shape.objects) == (1, RING * (1 + DICTS))
    assert len(shape.path) == shapes.MAX_PATH_STEPS
    assert shape.path[-2].type == "…"
    assert shape.path[-2].edge == f"{RING - shapes.MAX_PATH_STEPS + 1:,} more steps"
    assert {(s.type, s.edge) for s in shape.path if s.type != "…"} == {("Node", ".next")}


def test_the_garbage_is_freed_after_it_is_read():
    # given a cycle whose object we can watch
    gc.collect()
    with ExplainPass(count_growth=False):
        leaky = Leaky()
        watch = weakref.ref(leaky)
        del leaky
        gc.collect()
        # then the pass did not keep it (DEBUG_SAVEALL would have)
        assert watch() is None
        assert gc.garbage == []


def test_a_failed_analysis_fails_the_pass_and_drops_the_garbage(monkeypatch):
    def broken(graph: cycles.Graph) -> cycles.Ownership:
        raise ValueError("broken")

    monkeypatch.setattr(cycles, "attribute", broken)
    gc.collect()
    explained = ExplainPass(count_growth=False)
    with pytest.raises(RuntimeError, match="could not analyse") as failure, explained:
        Leaky()
        gc.collect()
    assert isinstance(failure.value.__cause__, ValueError)
    assert gc.garbage == []


def test_strong_engine_graphs_keep_the_old_keys_meaning():
    def graphs() -> list[Variable]:
        with reference_mode("strong"):
            return [square(square(Variable(np.ones(1000)))) for _ in range(5)]

    report = tally(lambda: graphs())
    assert report.garbage_by_type["Variable"] == 15
    assert report.garbage_by_type["Function"] == 10
    assert report.array_bytes_held == 15 * 8000
    assert report.example_cycle == ("Variable", "Square", "tuple", "Variable")
    (shape,) = report.shapes
    assert shape.cycles == 10


def test_a_shape_the_tally_has_not_seen_twice_is_new():
    # two cycles of the same types, through attributes of different names
    class A:
        pass

    def two_shapes() -> None:
        first, second = A(), A()
        first.x = first
        second.y = second

    report = tally(two_shapes)
    assert sorted(s.path[0].edge for s in report.shapes) == [".x", ".y"]


def test_engine_objects_are_grouped_by_kind():
    with reference_mode("strong"):
        y = square(Variable(np.ones(3)))
    assert type_group(y.creator) == "Function"
    assert type_group(y) == "Variable"
    assert type_group([]) == "list"
