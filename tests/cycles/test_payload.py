"""Bytes held: what freeing the garbage frees, each buffer once, and nothing a live object holds."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from array import array
from collections.abc import Callable

import numpy as np

from autograd_mem.cycles.explain import ExplainPass

KEPT_ALIVE: list[object] = []
NOISE = 512  # bytes: see test_a_buffer_referred_to_twice_is_counted_once


class Holder:
    def __init__(self, *things: object) -> None:
        self.me = self
        self.things = things


def held(make: Callable[[], object]) -> tuple[int, int]:
    """(bytes_freed_total, array_bytes_held) of the garbage ``make`` leaves."""
    gc.collect()
    with ExplainPass(count_growth=False) as explained:
        make()
        gc.collect()
        explained.end_window()
    report = explained.report()
    return report.bytes_freed_total, report.array_bytes_held


def baseline() -> int:
    """What an empty Holder's cycle holds: the figures below are read above it."""
    return held(lambda: Holder())[0]


def test_a_buffer_referred_to_twice_is_counted_once():
    buffer_bytes = sys.getsizeof(bytearray(1 << 20))
    once = held(lambda: Holder(bytearray(1 << 20)))[0] - baseline()

    def twice() -> None:
        shared = bytearray(1 << 20)
        Holder(shared, shared)

    # counted once, not twice: within a block or two of one buffer (what the interpreter
    # allocates or keeps in its free lists while a group is freed, about 100 bytes on 3.10)
    assert abs(once - buffer_bytes) < NOISE
    assert abs(held(twice)[0] - baseline() - buffer_bytes) < NOISE


def test_a_buffer_a_live_object_also_holds_is_not_counted():
    def shared() -> None:
        buffer = bytearray(1 << 20)
        KEPT_ALIVE.append(buffer)
        Holder(buffer)

    try:
        assert held(shared)[0] - baseline() < NOISE
    finally:
        KEPT_ALIVE.clear()


def test_a_numpy_view_leads_to_its_base_counted_once():
    def views() -> None:
        base = np.ones(100_000)
        Holder(base[:10], base[10:20])

    total, arrays = held(views)
    assert arrays == np.ones(100_000).nbytes
    assert total - baseline() >= np.ones(100_000).nbytes - NOISE


def test_bytes_arrays_and_memoryviews_are_counted():
    def buffers() -> None:
        data = bytes(1 << 16)
        Holder(memoryview(data), array("d", bytes(1 << 16)))

    total = held(buffers)[0] - baseline()
    # tracemalloc's own count of what the two buffers (and the view) take
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = (memoryview(bytes(1 << 16)), array("d", bytes(1 << 16)))
        expected = tracemalloc.get_traced_memory()[0] - before - sys.getsizeof(made)
    finally:
        tracemalloc.stop()
    del made
    assert abs(total - expected) <= 0.02 * expected, (total, expected)
