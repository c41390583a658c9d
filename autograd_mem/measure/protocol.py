"""What the measured child and the runner agree on, beyond the result document itself.

A module of its own so that the runner can read how a child ended without importing
the child (and the probes, engine and numpy it pulls in).
"""

from __future__ import annotations

import mmap
import os
import sys

# Exit codes that say how the child ended even when its result file cannot be read.
EXIT_WORKLOAD_NOT_FOUND = 4
EXIT_WORKLOAD_RAISED = 5
# agmem itself failed in the child (a bug): one line for the user, not its traceback.
EXIT_INTERNAL_ERROR = 6

# The parent's pid, given to the child so that it can tell whether its parent died
# before the child asked the kernel to signal it on that death (see child._follow_parent).
PARENT_PID_VARIABLE = "AGMEM_PARENT_PID"

# How much of a workload's traceback the child's result document carries, for when its
# stderr cannot be read (a workload that closed fds 1 and 2).
TRACEBACK_TAIL_CHARACTERS = 4_000

# The child's count of finished iterations, for the parent's progress bar: one 8-byte
# integer in a file of the scratch folder, which the child maps and writes after every
# iteration (a store into a mapped page: no system call, no tracked object) and the
# parent reads at each tick with one pread.
PROGRESS_FILE = "progress"
_COUNTER_BYTES = 8


def create_progress_counter(folder: str | os.PathLike[str]) -> None:
    """Make the zeroed counter file; the runner does it before starting the child."""
    with open(os.path.join(folder, PROGRESS_FILE), "wb") as handle:
        handle.write(bytes(_COUNTER_BYTES))


def map_progress_counter(folder: str | os.PathLike[str]) -> memoryview | None:
    """The child's writable view of the counter (one signed 64-bit item), or None when the
    folder has none (a child started by hand, or by a test)."""
    try:
        fd = os.open(os.path.join(folder, PROGRESS_FILE), os.O_RDWR)
    except OSError:
        return None
    try:
        mapping = mmap.mmap(fd, _COUNTER_BYTES)
    finally:
        os.close(fd)
    return memoryview(mapping).cast("q")


def read_progress_counter(fd: int) -> int:
    """The parent's reading of the counter through an open descriptor: iterations done."""
    data = os.pread(fd, _COUNTER_BYTES, 0)
    if len(data) < _COUNTER_BYTES:
        return 0
    return int.from_bytes(data, sys.byteorder, signed=True)
