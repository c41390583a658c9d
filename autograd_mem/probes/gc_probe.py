"""The cyclic collector as the child sees it: its generation layout, and every collection timed.

This module imports nothing outside the standard library, so that the layout detection
can be run (and checked) on interpreters that have no numpy installed.
"""

from __future__ import annotations

import gc
import sys
import sysconfig
import time
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GENERATIONAL = "generational"
INCREMENTAL = "incremental"
FREE_THREADED = "free-threaded"

# CPython numbers collections 0, 1 and 2 in gc.callbacks' ``generation`` and in
# gc.get_stats(), whatever the collector; a layout says which label each one counts under.
RAW_GENERATIONS = 3


@dataclass(frozen=True)
class GcLayout:
    """How this interpreter's collector is organised, and how raw generations fold into labels.

    ``slot_of_generation[g]`` is the index in ``labels`` under which a collection that
    CPython reports as generation ``g`` is counted, or ``None`` when the layout has no
    generations to count under (free-threaded builds).
    """

    name: str
    labels: tuple[str, ...]
    slot_of_generation: tuple[int | None, ...]

    def slot(self, raw_generation: int) -> int:
        """The label index a collection of this raw generation counts under (raw if none)."""
        slot = self.slot_of_generation[raw_generation]
        return raw_generation if slot is None else slot

    def fold(self, per_raw_generation: Sequence[int]) -> tuple[int, ...]:
        """Sum per-raw-generation figures into one figure per label."""
        totals = [0] * len(self.labels)
        for generation, value in enumerate(per_raw_generation):
            slot = self.slot_of_generation[generation] if generation < RAW_GENERATIONS else None
            if slot is not None:
                totals[slot] += value
        return tuple(totals)


# The labels are also the schema's (schema.run.GC_LABELS, which reads documents); this
# module imports nothing of agmem, and tests/probes/test_gc_probe.py holds the two equal.
_LAYOUTS = {
    GENERATIONAL: GcLayout(GENERATIONAL, ("0", "1", "2"), (0, 1, 2)),
    # 3.14.0-3.14.4: "there are now only two generations: young and old"; gc.collect(1)
    # and the automatic collections that follow a young one scan an *increment* of the
    # old generation, and generation 2 is a full collection. Both touch the old
    # generation, so 1 and 2 count as "old".
    INCREMENTAL: GcLayout(INCREMENTAL, ("young", "old"), (0, 1, 1)),
    # Free-threaded builds have a single, non-generational collector.
    FREE_THREADED: GcLayout(FREE_THREADED, (), (None, None, None)),
}


def detect_layout(
    version_info: Sequence[Any] | None = None, gil_disabled: bool | None = None
) -> GcLayout:
    """The collector layout of the running interpreter (or of the one described by the arguments).

    The facts, from CPython's documentation: free-threaded builds (``Py_GIL_DISABLED``)
    have a non-generational collector; 3.14.0 to 3.14.4 shipped the incremental
    collector with a young and an old generation (gh-108362), which 3.14.5 replaced by
    a forward port of 3.13's generational one (gh-148726); every other CPython has
    three generations. Arguments let tests inject a version and build flag.
    """
    if version_info is None:
        version_info = sys.version_info
    if gil_disabled is None:
        gil_disabled = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    if gil_disabled:
        return _LAYOUTS[FREE_THREADED]
    major, minor, micro = (int(part) for part in tuple(version_info)[:3])
    if (major, minor) == (3, 14) and micro <= 4:
        return _LAYOUTS[INCREMENTAL]
    return _LAYOUTS[GENERATIONAL]


# The fields of a gc.get_stats() entry that a reading keeps, in the order it keeps them.
STATS_FIELDS = ("collections", "collected", "uncollectable")


def new_stats_reading() -> array:
    """A zeroed buffer for :func:`read_stats_into`: one int per field per raw generation."""
    return array("q", bytes(8 * len(STATS_FIELDS) * RAW_GENERATIONS))


def read_stats_into(reading: array) -> None:
    """Store ``gc.get_stats()`` into a preallocated buffer, keeping no object the collector tracks.

    Why not keep ``gc.get_stats()``'s own list of dicts, or tuples made from it: a
    reading taken just before a measured window would leave tracked objects alive
    through it, and every tracked object alive moves the collector's next automatic
    collection by one allocation.
    Everything made here (the list, its dicts, the iterators) is freed before return.
    """
    for generation, stats in enumerate(gc.get_stats()[:RAW_GENERATIONS]):
        for field_index, name in enumerate(STATS_FIELDS):
            reading[field_index * RAW_GENERATIONS + generation] = stats.get(name, 0)


def stats_of(reading: array) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A buffer filled by :func:`read_stats_into`: (collections, collected, uncollectable),
    each a tuple by raw generation."""
    columns = [
        tuple(reading[i * RAW_GENERATIONS : (i + 1) * RAW_GENERATIONS])
        for i in range(len(STATS_FIELDS))
    ]
    return columns[0], columns[1], columns[2]


def stats_delta(
    before: tuple[tuple[int, ...], ...], after: tuple[tuple[int, ...], ...]
) -> tuple[tuple[int, ...], ...]:
    """Element-wise ``after - before`` of two :func:`stats_of` readings."""
    return tuple(
        tuple(a - b for a, b in zip(aft, bef, strict=True))
        for aft, bef in zip(after, before, strict=True)
    )


@dataclass(frozen=True)
class Collection:
    """One collection seen by the recorder: its start in seconds from the recorder's origin."""

    generation: int
    collected: int
    uncollectable: int
    start_seconds: float
    pause_seconds: float


@dataclass(frozen=True)
class Bucket:
    """The collections that started within one bucket of time, folded together."""

    start_seconds: float
    collections: tuple[int, ...]  # per raw generation
    collected: int
    uncollectable: int
    pause_seconds_sum: float
    pause_seconds_max: float


# What became of the observer, as kept in its record (see GcRecorder.state).
NOT_STARTED, WATCHING, STOPPED, LOST = 0, 1, 2, 3

# The record's fixed size: BUCKETS buckets of time (their width doubles, pairs merging,
# whenever a collection falls past the last) and the LONGEST longest pauses, exactly.
BUCKETS = 256
LONGEST = 32
FIRST_BUCKET_SECONDS = 0.001
# Header cells, then BUCKETS rows of _BUCKET_CELLS, then LONGEST rows of _LONGEST_CELLS.
(_ORIGIN, _WIDTH, _STATE, _PENDING, _USED, _KEPT, _MIN_KEPT, _LAST, _PAUSE_SUM, _PAUSE_MAX,
 _FORMATTED) = range(11)
_COUNT, _COLLECTED, _UNCOLLECTABLE = 12, 15, 18  # each one cell per raw generation
_HEADER_CELLS = 24
_BUCKET_CELLS = 7  # count per raw generation (3), collected, uncollectable, pause sum, max
_LONGEST_CELLS = 5  # pause, start, generation, collected, uncollectable
_FIRST_LONGEST = _HEADER_CELLS + BUCKETS * _BUCKET_CELLS
RECORD_CELLS = _FIRST_LONGEST + LONGEST * _LONGEST_CELLS
RECORD_BYTES = 8 * RECORD_CELLS


def new_record() -> memoryview:
    """A zeroed record in this process's memory (a measured child maps one from a file instead,
    so that its parent can read it whatever way the child ends)."""
    return memoryview(array("d", bytes(RECORD_BYTES)))


class GcRecord:
    """A collector record read back (in the child after its window, or by the parent from the
    child's file, whatever way the child ended): the figures, never the recording."""

    __slots__ = ("cells",)

    def __init__(self, cells: memoryview) -> None:
        self.cells = cells

    @property
    def formatted(self) -> bool:
        """Whether a recorder ever wrote this record (a child that died at start-up left zeros)."""
        return self.cells[_FORMATTED] == 1.0

    @property
    def state(self) -> int:
        """NOT_STARTED, WATCHING, STOPPED, or LOST (the program removed the observer)."""
        return int(self.cells[_STATE])

    @property
    def origin_seconds(self) -> float:
        """The monotonic clock when recording started: every ``start_seconds`` counts from it."""
        return float(self.cells[_ORIGIN])

    @property
    def last_seen_seconds(self) -> float:
        """The end of the last collection seen, from the origin (0 when none was)."""
        return float(self.cells[_LAST])

    @property
    def bucket_seconds(self) -> float:
        return float(self.cells[_WIDTH])

    @property
    def pause_seconds_sum(self) -> float:
        return float(self.cells[_PAUSE_SUM])

    @property
    def pause_seconds_max(self) -> float:
        return float(self.cells[_PAUSE_MAX])

    def per_raw_generation(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Collections, collected and uncollectable per raw generation: exact totals."""
        return tuple(  # type: ignore[return-value]
            tuple(int(self.cells[first + g]) for g in range(RAW_GENERATIONS))
            for first in (_COUNT, _COLLECTED, _UNCOLLECTABLE)
        )

    def buckets(self) -> list[Bucket]:
        """The buckets that hold at least one collection, in time order."""
        cells, width = self.cells, self.bucket_seconds
        found = []
        for bucket in range(int(cells[_USED])):
            row = _HEADER_CELLS + bucket * _BUCKET_CELLS
            counts = tuple(int(cells[row + g]) for g in range(RAW_GENERATIONS))
            if sum(counts):
                found.append(Bucket(bucket * width, counts, int(cells[row + 3]),
                                    int(cells[row + 4]), cells[row + 5], cells[row + 6]))
        return found

    def longest(self) -> list[Collection]:
        """The longest pauses kept (at most LONGEST), in the order they happened."""
        cells = self.cells
        rows = [_FIRST_LONGEST + slot * _LONGEST_CELLS for slot in range(int(cells[_KEPT]))]
        kept = [
            Collection(int(cells[r + 2]), int(cells[r + 3]), int(cells[r + 4]), cells[r + 1],
                       cells[r])
            for r in rows
        ]
        return sorted(kept, key=lambda c: c.start_seconds)


class GcRecorder(GcRecord):
    """Folds every collection between :meth:`start` and :meth:`stop` into a record of fixed size.

    The record (``cells``, float64) holds exact totals per raw generation, the sum and
    maximum of the pauses, BUCKETS buckets of time with the same figures, and the
    LONGEST longest pauses each in full. Its size never changes: a run of hours costs
    what a run of a second does, and the callback stores numbers into it without making
    any object the collector tracks, so recording a collection never shifts the next.
    Given a file-backed ``cells`` (``mmap``), every store is visible to another process
    at once: what was recorded survives a child that ends by ``os._exit`` or a signal.

    The callback list is the one ``gc.callbacks`` named at :meth:`start`: the collector
    keeps calling that list even if a program rebinds ``gc.callbacks``. A program that
    empties it removes the observer; :meth:`stop` then records the loss (``state`` is
    LOST) instead of failing, and the figures end at the last collection seen.

    Also a context manager, for code that does not count allocations; a measured window
    calls :meth:`start` and :meth:`stop` itself, because ``with`` keeps a bound
    ``__exit__`` (a tracked object) alive for the whole block.
    """

    __slots__ = ("_after", "_before", "_callback", "_callbacks", "_clock", "_reads_stats")

    def __init__(self, cells: memoryview | None = None) -> None:
        super().__init__(cells if cells is not None else new_record())
        self._clock = time.monotonic
        self._reads_stats = True
        self._before = new_stats_reading()
        self._after = new_stats_reading()
        self._callbacks: list[Any] = gc.callbacks
        # One bound method, kept, so that the very object appended is the one removed.
        self._callback = self._on_collection
        self._clear()
        # Called once now, harmlessly (a start without a stop): CPython 3.10 makes a frame
        # object (tracked, and kept for reuse) on a function's first call, which must not
        # happen in the middle of a measured window.
        self._callback("start", {})
        self._fold(0, 0, 0, 0.0, 0.0)
        self._merge_pairs()
        self._shortest_kept()
        self._clear()

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        now = self._clock()
        cells = self.cells
        if phase == "start":
            cells[_PENDING] = now
            return
        began = cells[_PENDING]
        self._fold(info["generation"], info["collected"], info["uncollectable"],
                   began - cells[_ORIGIN], now - began)

    def _fold(self, generation: int, collected: int, uncollectable: int, at: float,
              pause: float) -> None:
        cells = self.cells
        cells[_COUNT + generation] += 1
        cells[_COLLECTED + generation] += collected
        cells[_UNCOLLECTABLE + generation] += uncollectable
        cells[_PAUSE_SUM] += pause
        cells[_LAST] = at + pause
        if pause > cells[_PAUSE_MAX]:
            cells[_PAUSE_MAX] = pause
        while at >= BUCKETS * cells[_WIDTH]:
            self._merge_pairs()
        bucket = int(at / cells[_WIDTH]) if at > 0 else 0
        row = _HEADER_CELLS + bucket * _BUCKET_CELLS
        cells[row + generation] += 1
        cells[row + 3] += collected
        cells[row + 4] += uncollectable
        cells[row + 5] += pause
        if pause > cells[row + 6]:
            cells[row + 6] = pause
        if bucket >= cells[_USED]:
            cells[_USED] = bucket + 1
        if cells[_KEPT] < LONGEST or pause > cells[_MIN_KEPT]:
            self._keep(generation, collected, uncollectable, at, pause)

    def _merge_pairs(self) -> None:
        """Double the buckets' width: bucket k takes in buckets 2k and 2k + 1."""
        cells = self.cells
        for bucket in range(BUCKETS):
            row = _HEADER_CELLS + bucket * _BUCKET_CELLS
            if bucket < BUCKETS // 2:
                left = _HEADER_CELLS + 2 * bucket * _BUCKET_CELLS
                right = left + _BUCKET_CELLS
                for cell in range(6):
                    cells[row + cell] = cells[left + cell] + cells[right + cell]
                # Not max(): before 3.13 its call packs a tuple, a tracked object, and an
                # allocation the collector counts would shift the program's next collection.
                longer = cells[left + 6]
                if cells[right + 6] > longer:
                    longer = cells[right + 6]
                cells[row + 6] = longer
            else:
                for cell in range(_BUCKET_CELLS):
                    cells[row + cell] = 0.0
        cells[_WIDTH] *= 2
        cells[_USED] = (cells[_USED] + 1) // 2

    def _keep(self, generation: int, collected: int, uncollectable: int, at: float,
              pause: float) -> None:
        """Keep this collection among the longest: in a free row, else over the shortest kept."""
        cells = self.cells
        kept = int(cells[_KEPT])
        slot = kept if kept < LONGEST else self._shortest_kept()
        row = _FIRST_LONGEST + slot * _LONGEST_CELLS
        cells[row], cells[row + 1], cells[row + 2] = pause, at, generation
        cells[row + 3], cells[row + 4] = collected, uncollectable
        if kept < LONGEST:
            cells[_KEPT] = kept + 1
        if cells[_KEPT] == LONGEST:
            cells[_MIN_KEPT] = cells[_FIRST_LONGEST + self._shortest_kept() * _LONGEST_CELLS]

    def _shortest_kept(self) -> int:
        cells = self.cells
        shortest = 0
        for slot in range(1, LONGEST):
            if cells[_FIRST_LONGEST + slot * _LONGEST_CELLS] < cells[
                _FIRST_LONGEST + shortest * _LONGEST_CELLS
            ]:
                shortest = slot
        return shortest

    def _clear(self) -> None:
        """Zero every figure (the warm-up calls above leave none behind)."""
        for cell in range(RECORD_CELLS):
            self.cells[cell] = 0.0
        self.cells[_WIDTH] = FIRST_BUCKET_SECONDS
        self.cells[_FORMATTED] = 1.0

    def start(self, read_stats: bool = True) -> None:
        """Read the collector's statistics (unless ``read_stats`` is false), then watch every
        collection; its clock's origin is now.

        A measured window passes ``read_stats=False``: it starts right after a collection,
        and ``gc.get_stats()``'s list and dicts, though freed at once, pass through
        CPython's free lists and shift the collections the workload then makes (seen:
        +12 objects collected over 10 collections of ``seed`` strong on 3.11). Appending
        the callback alone shifts nothing.
        """
        if self._callback is None:
            raise RuntimeError("this GcRecorder was released; make a new one")
        self._reads_stats = read_stats
        if read_stats:
            read_stats_into(self._before)
        self._callbacks = gc.callbacks
        self.cells[_ORIGIN] = self._clock()
        self.cells[_STATE] = WATCHING
        self._callbacks.append(self._callback)

    def stop(self) -> None:
        """Stop watching (noting LOST if the program removed the observer), then read the
        collector's statistics again if ``start`` did."""
        if self.detach():
            self.cells[_STATE] = STOPPED
        elif self.cells[_STATE] == WATCHING:
            self.cells[_STATE] = LOST
        if self._reads_stats:
            read_stats_into(self._after)

    def detach(self) -> bool:
        """Take the callback out of the collector's list; False when it was no longer there.

        Also what a forked copy of the measured process does first (``measure.guard``):
        its collections are its own, not the measured process's.
        """
        callbacks = self._callbacks
        for index in range(len(callbacks) - 1, -1, -1):
            if callbacks[index] is self._callback:
                del callbacks[index]
                return True
        return False

    def release(self) -> None:
        """Drop the kept callback once recording is over; what was recorded stays readable.

        The bound method refers back to this recorder: a reference cycle. Dropping it
        lets reference counting free the recorder, so agmem's own bookkeeping never
        turns up among the garbage an explain pass reports as the workload's.
        """
        self._callback = None

    def __enter__(self) -> GcRecorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stats_before(self) -> tuple[tuple[int, ...], ...]:
        """``gc.get_stats()`` when recording started, in :func:`stats_of`' shape."""
        return stats_of(self._before)

    @property
    def stats_after(self) -> tuple[tuple[int, ...], ...]:
        """``gc.get_stats()`` when recording stopped, in :func:`stats_of`' shape."""
        return stats_of(self._after)

def iteration_at(end_times: Sequence[float], moment: float) -> int:
    """Index of the iteration in progress at ``moment``, given each iteration's end time.

    An iteration that ended exactly at ``moment`` is over, so the answer is the number of
    iterations that ended at or before it.
    """
    return bisect_right(end_times, moment)


def _self_check(rounds: int = 20_000) -> dict[str, Any]:
    """Make cyclic garbage under a recorder; the callbacks' counts must equal get_stats' deltas.

    Stdlib only, so ``python gc_probe.py`` proves layout detection and the recorder on
    any installed interpreter (``tests/probes/test_gc_probe.py`` runs it on each).
    """
    layout = detect_layout()

    class Node:
        pass

    gc.collect()
    recorder = GcRecorder()
    with recorder:
        for _ in range(rounds):
            a, b = Node(), Node()
            a.other, b.other = b, a
    from_callbacks = [layout.fold(column) for column in recorder.per_raw_generation()]
    delta = stats_delta(recorder.stats_before, recorder.stats_after)
    from_stats = [layout.fold(column) for column in delta]
    return {
        "version": sys.version.split()[0],
        "layout": layout.name,
        "labels": list(layout.labels),
        "threshold": list(gc.get_threshold()),
        "collections_from_callbacks": list(from_callbacks[0]),
        "collections_from_stats": list(from_stats[0]),
        "collected_from_callbacks": list(from_callbacks[1]),
        "collected_from_stats": list(from_stats[1]),
    }


if __name__ == "__main__":  # pragma: no cover - run as a script on other interpreters
    import json

    print(json.dumps(_self_check()))
