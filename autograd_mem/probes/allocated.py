"""Bytes the allocators hold for live blocks right now: what "memory retained" is read from.

Why not RSS: memory a program freed often stays resident (glibc keeps freed chunks,
pymalloc keeps partly used arenas), so a leak can hide in space freed earlier: a
numpy job keeping 12 MiB after its work raised its end RSS by 3.8 MiB. Why not
``tracemalloc``: it traces every allocation, which made a JSON job run six times
slower and would charge its tables to the measured program's peak.

The allocators already keep the figure, for free: glibc's ``mallinfo2`` (bytes in
use in its arenas plus its mmap'd chunks: numpy's buffers, sqlite's pages, large
Python objects) and pymalloc's own count of bytes in allocated blocks (small
Python objects), which ``sys._debugmallocstats`` prints. Reading both takes about a
millisecond and nothing runs while the program does. Where either is missing (not
glibc, ``PYTHONMALLOC=malloc`` makes pymalloc's part zero, which is then right; a
free-threaded build's mimalloc) the reading is ``None`` and the metric is not shown
rather than half of it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import sys
import tempfile
from collections.abc import Callable

_PYMALLOC_LINE = re.compile(rb"# bytes in allocated blocks\s*=\s*([\d,]+)")


class _MallInfo2(ctypes.Structure):
    # glibc >= 2.33's struct mallinfo2: the same fields as mallinfo, as size_t.
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]


def _find_mallinfo2() -> Callable[[], _MallInfo2] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        function = libc.mallinfo2
    except (OSError, AttributeError):  # not glibc, or glibc before 2.33
        return None
    function.restype = _MallInfo2
    function.argtypes = []
    return function


_MALLINFO2 = _find_mallinfo2()


def malloc_bytes() -> int | None:
    """Bytes malloc has handed out and not had back (arenas and mmap'd chunks), or None."""
    if _MALLINFO2 is None:
        return None
    info = _MALLINFO2()
    return int(info.uordblks + info.hblkhd)


def pymalloc_bytes() -> int | None:
    """Bytes in pymalloc's allocated blocks, or None where CPython does not report them.

    ``sys._debugmallocstats`` writes to the C stream ``stderr``: file descriptor 2 is
    pointed at a temporary file for the millisecond it takes, then restored.
    """
    if sys.implementation.name != "cpython" or not hasattr(sys, "_debugmallocstats"):
        return None
    if os.environ.get("PYTHONMALLOC", "").startswith("malloc"):
        return 0  # every block goes through malloc, which malloc_bytes counts
    sys.stderr.flush()
    with tempfile.TemporaryFile() as scratch:
        saved = os.dup(2)
        try:
            os.dup2(scratch.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        scratch.seek(0)
        match = _PYMALLOC_LINE.search(scratch.read())
    return None if match is None else int(match.group(1).replace(b",", b""))


def allocated_bytes() -> int | None:
    """Everything the process's allocators hold for live blocks, or None if not readable here."""
    heap = malloc_bytes()
    if heap is None:
        return None
    small = pymalloc_bytes()
    return None if small is None else heap + small


def allocated_since(start: int | None) -> int | None:
    """Bytes allocated now above ``start`` (an earlier ``allocated_bytes``): what was retained."""
    now = allocated_bytes()
    return None if now is None or start is None else now - start
