"""What the measured child and the runner agree on, beyond the result document itself.

A module of its own so that the runner can read how a child ended without importing
the child (and the engine and numpy it pulls in).
"""

from __future__ import annotations

import math
import mmap
import os
import struct
from array import array

from autograd_mem.probes import gc_probe

# The parent's pid, given to the child so that it can tell whether its parent died
# before the child asked the kernel to signal it on that death (see ``guard``).
PARENT_PID_VARIABLE = "AGMEM_PARENT_PID"

# How much of a workload's traceback the child's result document carries, for when its
# stderr cannot be read (a workload that closed fds 1 and 2).
TRACEBACK_TAIL_CHARACTERS = 4_000

# The child's flight record: a file of the scratch folder that the child maps and writes
# as it goes (a store into a mapped page: no system call, no tracked object), and that
# the parent reads at each tick and after the child ended, whatever way it ended (an
# ``os._exit``, a signal). Float64 cells: a header, then the collector's record
# (``gc_probe.GcRecorder``, of fixed size). Counts are exact up to 2**53.
FLIGHT_FILE = "flight"
ITERATIONS_DONE, WINDOW_START_MONOTONIC, BASELINE_RSS_BYTES = range(3)
_HEADER_CELLS = 8
FLIGHT_BYTES = 8 * (_HEADER_CELLS + gc_probe.RECORD_CELLS)


def create_flight_record(folder: str | os.PathLike[str]) -> None:
    """Make the zeroed record; the runner does it before starting the child."""
    with open(os.path.join(folder, FLIGHT_FILE), "wb") as handle:
        handle.write(bytes(FLIGHT_BYTES))


def map_flight_record(folder: str | os.PathLike[str]) -> memoryview | None:
    """The child's writable view of its record (float64 cells), or None when the folder has
    none (a child started by hand, or by a test)."""
    try:
        fd = os.open(os.path.join(folder, FLIGHT_FILE), os.O_RDWR)
    except OSError:
        return None
    try:
        mapping = mmap.mmap(fd, FLIGHT_BYTES)
    finally:
        os.close(fd)
    return memoryview(mapping).cast("d")


def collector_cells(flight: memoryview) -> memoryview:
    """The part of a flight record that holds the collector's record."""
    return flight[_HEADER_CELLS:]


def read_flight_record(path: str | os.PathLike[str]) -> memoryview | None:
    """The parent's copy of a record as it is now, or None when it is missing or cut short."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(FLIGHT_BYTES + 1)
    except OSError:
        return None
    if len(data) != FLIGHT_BYTES:
        return None
    return memoryview(array("d", data))


def read_flight_cell(fd: int, cell: int) -> float:
    """One cell of the child's flight record, read by the parent through an open descriptor."""
    data = os.pread(fd, 8, 8 * cell)
    if len(data) < 8:
        return 0.0
    value = float(struct.unpack("d", data)[0])
    return value if math.isfinite(value) else 0.0
