"""The census counts live Variables and Functions; the seed loop's acceptance figures."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref
from typing import Any

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import census


def live_on_heap() -> tuple[int, int]:
    """Variables and Functions found by walking the heap: the census's independent check."""
    objects = gc.get_objects()
    return (
        sum(isinstance(o, am.Variable) for o in objects),
        sum(isinstance(o, am.Function) for o in objects),
    )


def seed_loop() -> None:
    """The seed notebook's last cell: 10 iterations, size 10,000, depth 3."""
    for _ in range(10):
        x = am.Variable(np.random.randn(10000))
        y = F.square(F.square(F.square(x)))  # noqa: F841 - kept alive as in the notebook


@pytest.mark.parametrize(("mode", "variables", "functions"), [("strong", 40, 30), ("weak", 4, 3)])
def test_seed_loop_leaves_the_documented_objects_alive(
    mode: str, variables: int, functions: int
) -> None:
    # given: no engine object alive and the collector off, as in a fresh notebook
    gc.collect()
    before = census.snapshot()[:2]
    gc.disable()
    try:
        # when: the seed loop runs (inline, so its last x and y stay bound, as in the notebook)
        with am.reference_mode(mode):
            for _ in range(10):
                x = am.Variable(np.random.randn(10000))
                y = F.square(F.square(F.square(x)))
        counted = census.snapshot()[:2]
        walked = live_on_heap()
    finally:
        del x, y
        gc.enable()
        gc.collect()

    # then: strong leaves every iteration's cycle, weak only the last graph
    assert before == (0, 0)
    assert counted == (variables, functions)
    assert walked == (variables, functions)


def test_census_is_back_to_zero_once_graphs_are_collected() -> None:
    # given: strong graphs left as garbage cycles
    with am.reference_mode("strong"):
        seed_loop()
    # when: the collector runs
    gc.collect()
    # then
    assert census.snapshot()[:2] == (0, 0)


def test_weak_graph_is_freed_at_once_when_its_last_output_goes() -> None:
    gc.collect()
    gc.disable()
    try:
        # given: a weak-mode graph, with weakrefs to every node
        with am.reference_mode("weak"):
            x = am.Variable(np.ones(3))
            y = F.square(F.square(F.square(x)))
        nodes = [weakref.ref(x), weakref.ref(y)]
        f = y.creator
        while f is not None:
            nodes.append(weakref.ref(f))
            nodes.extend(weakref.ref(v) for v in f.inputs)
            f = f.inputs[0].creator
        del f
        # when: the input and then the last output are dropped, collector still off
        del x
        assert all(node() is not None for node in nodes)
        del y
        # then: reference counting alone freed everything
        assert [node() for node in nodes] == [None] * len(nodes)
        assert census.snapshot()[:2] == (0, 0)
    finally:
        gc.enable()


def test_strong_graph_survives_until_the_collector_reports_it() -> None:
    gc.collect()
    gc.disable()
    try:
        # given: a strong-mode graph
        with am.reference_mode("strong"):
            x = am.Variable(np.ones(3))
            y = F.square(F.square(F.square(x)))
        output_ref, creator_ref = weakref.ref(y), weakref.ref(y.creator)
        # when: its input and last output are dropped
        del x, y
        # then: the cycles keep it alive ...
        assert output_ref() is not None and creator_ref() is not None
        assert census.snapshot()[:2] == (4, 3)
        # ... until the collector finds them
        collected = gc.collect()
        assert collected > 0
        assert output_ref() is None and creator_ref() is None
        assert census.snapshot()[:2] == (0, 0)
    finally:
        gc.enable()


def test_high_water_mark_sees_a_peak_inside_an_iteration() -> None:
    gc.collect()
    census.reset_max()
    # given/when: a graph of 1 + 5 Variables and 5 Functions, dropped before the snapshot
    x = am.Variable(np.ones(2))
    y = x
    for _ in range(5):
        y = F.neg(y)
    del x, y
    live_variables, live_functions, max_variables, max_functions = census.snapshot()
    # then: nothing is alive, the marks remember the peak
    assert (live_variables, live_functions) == (0, 0)
    assert (max_variables, max_functions) == (6, 5)


def test_reset_max_starts_a_new_window_at_the_live_counts() -> None:
    # given: a peak of 3 Variables, then 1 left alive
    kept = am.Variable(np.ones(1))
    transient = [am.Variable(np.ones(1)) for _ in range(2)]
    del transient
    # when
    census.reset_max()
    # then
    assert census.snapshot() == (1, 0, 1, 0)
    del kept


def test_census_counts_subclasses_and_no_grad_calls() -> None:
    class Parameter(am.Variable):
        __slots__ = ()

    class Double(am.Function):
        def __init__(self, factor: float) -> None:  # DeZero-style: no super().__init__()
            self.factor = factor

        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * self.factor

        def backward(self, gy: am.Variable) -> am.Variable:
            return gy * self.factor

    gc.collect()
    p = Parameter(np.ones(2))
    with am.no_grad():
        q = Double(2.0)(p)
    y = Double(2.0)(p)
    assert census.snapshot()[:2] == (3, 1)  # p, q, y; only y's Function is recorded
    del p, q, y
    assert census.snapshot()[:2] == (0, 0)


def test_live_readers_agree_with_the_snapshot_and_the_heap() -> None:
    # given: two Variables and one Function alive
    gc.collect()
    x = am.Variable(np.ones(2))
    y = F.square(x)
    # when
    counted = (census.live_variables(), census.live_functions())
    # then
    assert counted == (2, 1)
    assert counted == census.snapshot()[:2] == live_on_heap()
    del x, y
    assert (census.live_variables(), census.live_functions()) == (0, 0)


def test_live_readers_allocate_no_gc_tracked_object() -> None:
    # given: a collector that runs at every gc-tracked allocation, and counts its runs
    keep = [am.Variable(np.ones(1)) for _ in range(3)]
    live_variables, live_functions = census.live_variables, census.live_functions
    runs = []

    def count_run(phase: str, info: dict) -> None:
        if phase == "start":
            runs.append(info["generation"])

    threshold = gc.get_threshold()
    gc.collect()
    gc.callbacks.append(count_run)
    gc.set_threshold(1)
    try:
        # when: the readers are called many times
        for _ in range(1000):
            live_variables()
            live_functions()
        runs_during_readers = len(runs)
        # and, to show the probe can see an allocation: snapshot builds a tuple
        for _ in range(1000):
            census.snapshot()
        runs_during_snapshots = len(runs) - runs_during_readers
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(count_run)
    # then
    assert runs_during_readers == 0
    assert runs_during_snapshots > 0
    del keep


@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))],
    ids=["copy", "deepcopy", "pickle"],
)
def test_copies_of_a_variable_are_counted(duplicate: Any) -> None:
    # given: one Variable alive
    gc.collect()
    original = am.Variable(np.ones(2))
    # when: it is duplicated the ways users duplicate objects
    duplicated = duplicate(original)
    # then: the census sees both, as the heap does, and forgets the copy when it goes
    assert (census.live_variables(), census.live_functions()) == live_on_heap() == (2, 0)
    del duplicated
    assert census.live_variables() == 1
    del original


def test_a_deep_copied_graph_is_counted() -> None:
    # given: a strong graph of three Variables and two Functions
    gc.collect()
    with am.reference_mode("strong"):
        x = am.Variable(np.ones(2))
        y = F.square(F.square(x))
    # when
    copied = copy.deepcopy(y)
    # then: the copy's Variables and Functions count like the originals
    assert (census.live_variables(), census.live_functions()) == live_on_heap() == (6, 4)
    del x, y, copied
    gc.collect()
    assert (census.live_variables(), census.live_functions()) == (0, 0)
