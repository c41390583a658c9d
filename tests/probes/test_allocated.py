"""The allocators' own count of live bytes, against tracemalloc's."""

from __future__ import annotations

import tracemalloc

import pytest

from autograd_mem.probes import allocated


def test_allocated_bytes_follow_what_tracemalloc_traces() -> None:
    if allocated.allocated_bytes() is None:
        pytest.skip("the allocators' counts are not readable here (not glibc)")
    # given 2,000 buffers of 1,000 bytes (numpy-like malloc'd blocks) and 20,000 small
    # objects (pymalloc's), kept alive, traced by tracemalloc at the same time
    start = allocated.allocated_bytes()
    tracemalloc.start()
    kept = ([bytearray(1_000) for _ in range(2_000)], [(i, str(i)) for i in range(20_000)])
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    grown = allocated.allocated_since(start)
    # then the allocators counted within 10% of what tracemalloc traced
    assert grown is not None
    assert abs(grown - traced) <= 0.10 * traced, (grown, traced)
    del kept
