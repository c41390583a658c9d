"""The cycle reader the pytest plugin and --explain share: SCCs, shapes, bytes held, and
freeing saved garbage (``probes.shapes``, ``probes.cycles``, ``probes.defuse``)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_mem.cycles.defuse import defuse
from autograd_mem.cycles.scc import is_cycle, strongly_connected
from autograd_mem.cycles.shapes import CycleTally
from autograd_mem.engine import Variable, reference_mode
from autograd_mem.functions import square
from autograd_mem.schema.explain import CycleShape


@contextmanager
def saved_garbage() -> Iterator[list[Any]]:
    """The garbage of one collection after the block, kept (DEBUG_SAVEALL), then freed."""
    gc.collect()
    flags = gc.get_debug()
    found: list[Any] = []
    before = len(gc.garbage)  # not ours
    gc.disable()
    try:
        yield found
        gc.set_debug(flags | gc.DEBUG_SAVEALL)
        gc.collect()
        found += gc.garbage[before:]
        del gc.garbage[before:]
    finally:
        gc.set_debug(flags)
        gc.enable()


def cycle_shapes(garbage: list[Any]) -> list[CycleShape]:
    """The cycles among one collection's garbage by shape, largest first, as the plugin reads."""
    tally = CycleTally()
    tally.add(list(garbage), None)
    return [shape for shape in tally.results() if shape.cycles]


def path_types(shape: CycleShape) -> list[str]:
    return [step.type for step in shape.path] + [shape.path[0].type]


class Leaky:
    def __init__(self, payload_bytes: int) -> None:
        self.me = self
        self.payload = bytearray(payload_bytes)


class Parent:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self.weights = np.ones(1_000)  # 8,000 bytes, owned by the parent


class Child:
    def __init__(self, parent: Parent) -> None:
        self.parent = parent
        parent.children.append(self)


def test_self_referencing_objects_are_one_cycle_each_with_their_payload() -> None:
    with saved_garbage() as garbage:
        for _ in range(5):
            Leaky(100_000)
    (shape,) = cycle_shapes(garbage)
    assert [(step.type, step.edge) for step in shape.path] == [("Leaky", ".me")]
    assert shape.cycles == 5
    # each cycle held its bytearray; the objects themselves add a few hundred bytes
    assert 5 * 100_000 <= shape.bytes_held_at_most <= 5 * 100_000 + 5 * 1_024
    assert shape.objects == len(garbage)


def test_a_parent_and_its_children_are_one_cycle_holding_the_parents_array() -> None:
    with saved_garbage() as garbage:
        parent = Parent()
        for _ in range(3):
            Child(parent)
        del parent
    (shape,) = cycle_shapes(garbage)
    assert shape.cycles == 1
    assert {"Parent", "Child", "list"} <= set(shape.types)
    assert {"Parent", "Child"} <= set(path_types(shape))
    # the array's buffer counted once, however many children point at the parent
    assert 8_000 <= shape.bytes_held_at_most <= 8_000 + 4_096


def test_a_strong_mode_graph_is_a_cycle_through_its_function() -> None:
    with saved_garbage() as garbage, reference_mode("strong"):
        for _ in range(4):
            square(Variable(np.ones(1_000)))
    shape = cycle_shapes(garbage)[0]
    assert shape.cycles == 4
    assert {"Square", "Variable"} <= set(path_types(shape))
    # each graph held its input's and its output's 8,000-byte arrays (the input Variable
    # hangs off the cycle, through Square.inputs, and is freed with it)
    assert 4 * 2 * 8_000 <= shape.bytes_held_at_most <= 4 * 2 * 8_000 + 4 * 4_096


def test_an_array_something_else_still_holds_is_not_counted_as_held() -> None:
    kept = bytearray(1_000_000)
    with saved_garbage() as garbage:
        for _ in range(3):
            leaky = Leaky(0)
            leaky.shared = kept
        del leaky
    (shape,) = cycle_shapes(garbage)
    assert shape.bytes_held_at_most < 1_000_000  # freeing the cycles does not free `kept`
    assert len(kept) == 1_000_000


def test_no_garbage_no_shapes() -> None:
    with saved_garbage() as garbage:
        rows = [[i] for i in range(100)]
        del rows
    assert garbage == [] and cycle_shapes(garbage) == []


def _alive(cls: type) -> int:
    """Objects of ``cls`` the collector tracks now: an account independent of the census."""
    return sum(type(obj) is cls for obj in gc.get_objects())


def test_defuse_frees_the_garbage_and_keeps_nothing_it_broke() -> None:
    class Node:
        def __init__(self) -> None:
            self.next = self

    with saved_garbage() as garbage, reference_mode("strong"):
        for _ in range(3):
            square(Variable(np.ones(10)))
            Child(Parent())
            Node()
    variables_before = _alive(Variable)
    assert _alive(Node) == 3 and _alive(Child) == 3
    survivors = defuse(garbage)
    del garbage
    # then everything was freed by reference counting, no collection needed
    assert survivors == []
    assert _alive(Node) == _alive(Child) == _alive(Parent) == 0
    assert _alive(Variable) == variables_before - 6


def test_defuse_returns_the_cycles_python_cannot_break() -> None:
    # a function whose default argument is itself: function -> tuple -> function
    with saved_garbage() as garbage:

        def itself() -> None:
            pass

        itself.__defaults__ = (itself,)
        del itself
    survivors = defuse(garbage)
    assert {type(o).__name__ for o in survivors} == {"function", "tuple"}
    # counted as a cycle all the same
    (shape,) = cycle_shapes(survivors)
    assert shape.cycles == 1


def _reaches(graph: list[list[int]], start: int) -> set[int]:
    seen, pending = {start}, [start]
    while pending:
        for successor in graph[pending.pop()]:
            if successor not in seen:
                seen.add(successor)
                pending.append(successor)
    return seen


graphs = st.integers(1, 12).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, n - 1), max_size=3), min_size=n, max_size=n)
)


@settings(max_examples=200, deadline=None)
@given(graphs)
def test_strongly_connected_agrees_with_mutual_reachability(graph: list[list[int]]) -> None:
    reach = [_reaches(graph, node) for node in range(len(graph))]
    nodes = range(len(graph))
    expected = {
        frozenset(other for other in nodes if node in reach[other] and other in reach[node])
        for node in nodes
    }
    components = strongly_connected(graph)
    assert {frozenset(c) for c in components} == expected
    assert sorted(n for c in components for n in c) == list(range(len(graph)))
    # a cycle: two or more nodes, or one node with an edge to itself
    for component in components:
        looped = len(component) > 1 or component[0] in graph[component[0]]
        assert is_cycle(component, graph) == looped


def test_strongly_connected_handles_a_chain_far_deeper_than_the_recursion_limit() -> None:
    depth = sys.getrecursionlimit() * 20
    graph = [[node + 1] for node in range(depth - 1)] + [[0]]
    (component,) = strongly_connected(graph)
    assert len(component) == depth
