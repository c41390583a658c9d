"""Tracing paused, not stopped: what is allocated meanwhile has no trace, the rest keep theirs."""

from __future__ import annotations

import tracemalloc

from autograd_mem.probes.tracing import Tracing


def test_paused_allocations_are_untraced_and_earlier_traces_survive():
    tracing = Tracing(4)
    tracing.start()
    try:
        earlier = bytearray(100_000)
        with tracing.paused():
            before = tracemalloc.get_traced_memory()[0]
            meanwhile = [bytearray(100_000) for _ in range(3)]
            during = tracemalloc.get_traced_memory()[0] - before
            assert tracemalloc.get_object_traceback(earlier) is not None  # still readable
        assert during < 1_000  # not 300,000
        assert tracemalloc.get_object_traceback(earlier) is not None
        # freeing what was made untraced is nothing to tracemalloc
        before = tracemalloc.get_traced_memory()[0]
        del meanwhile
        assert abs(tracemalloc.get_traced_memory()[0] - before) < 1_000
        after = bytearray(100_000)
        assert tracemalloc.get_object_traceback(after) is not None  # tracing again
    finally:
        tracing.stop()
    assert not tracemalloc.is_tracing()


def test_someone_elses_tracing_is_left_alone():
    tracemalloc.start()
    try:
        tracing = Tracing(4)
        tracing.start()
        with tracing.paused():
            made = bytearray(10_000)
        assert tracemalloc.get_object_traceback(made) is not None
        tracing.stop()
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()
