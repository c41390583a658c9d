"""Native memory without torch: the C heap in use (glibc mallinfo2) against what the test
itself allocated with malloc, and numpy's buffers against their nbytes."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from autograd_mem.probes import allocated, native

pytestmark = pytest.mark.skipif(
    allocated.malloc_bytes() is None, reason="the C library has no mallinfo2 (glibc 2.33+)"
)

MIB = 1 << 20


@pytest.fixture()
def libc():
    library = ctypes.CDLL(None)
    library.malloc.restype = ctypes.c_void_p
    library.malloc.argtypes = [ctypes.c_size_t]
    library.free.argtypes = [ctypes.c_void_p]
    return library


@pytest.mark.parametrize(("blocks", "block_bytes"), [(1, 48 * MIB), (512, 64 * 1024)])
def test_bytes_allocated_with_malloc_are_counted_until_freed(libc, blocks, block_bytes):
    # given: one large block (served by mmap) or many small ones (served by the arena)
    before = allocated.malloc_bytes()
    pointers = [libc.malloc(block_bytes) for _ in range(blocks)]
    assert all(pointers)
    # when: read while they are held, then after they are freed
    held = allocated.malloc_bytes() - before
    for pointer in pointers:
        libc.free(pointer)
    after = allocated.malloc_bytes() - before
    # then: the reading grew by what malloc handed out (each block's header aside)
    requested = blocks * block_bytes
    assert requested <= held <= requested * 1.02 + 64 * 1024
    assert abs(after) <= 64 * 1024


def test_a_numpy_buffer_is_in_the_heap_and_in_nbytes():
    # given: numpy's data buffers come from malloc (too large for Python's allocator)
    before = allocated.malloc_bytes()
    arrays = [np.ones(1 << 20) for _ in range(8)]  # 8 MiB each
    held = allocated.malloc_bytes() - before
    # then: the independent measure is the arrays' own size
    expected = sum(a.nbytes for a in arrays)
    assert expected <= held <= expected * 1.02 + 64 * 1024


def test_the_sizer_counts_nothing_without_torch_tensors():
    sizer = native.NativeSizer()
    assert sizer.total([np.ones(1000), b"x" * 1000, object()]) == 0
