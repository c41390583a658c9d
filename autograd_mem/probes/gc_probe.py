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
    """One collection seen by the recorder, in the child's monotonic clock."""

    generation: int
    collected: int
    uncollectable: int
    start_seconds: float
    pause_seconds: float


class GcRecorder:
    """Times every collection through ``gc.callbacks`` between :meth:`start` and :meth:`stop`.

    The callback stores into ``array`` columns: floats and small ints are not tracked by
    the collector, so recording a collection allocates nothing that would advance the
    collector's own counts and shift the next collection. The ``gc.get_stats()``
    readings around the span go into preallocated buffers for the same reason. The
    iteration a collection happened in is not recorded here but derived afterwards from
    its start time and the iterations' end times (:meth:`collections`), which keeps the
    hot path free of it.

    Also a context manager, for code that does not count allocations; a measured window
    calls :meth:`start` and :meth:`stop` itself, because ``with`` keeps a bound
    ``__exit__`` (a tracked object) alive for the whole block.
    """

    __slots__ = (
        "_after",
        "_before",
        "_callback",
        "_reads_stats",
        "_started",
        "collected",
        "generation",
        "pause",
        "start_seconds",
        "uncollectable",
    )

    def __init__(self) -> None:
        self.generation = array("b")
        self.collected = array("q")
        self.uncollectable = array("q")
        self.start_seconds = array("d")
        self.pause = array("d")
        self._started = 0.0
        self._reads_stats = True
        self._before = new_stats_reading()
        self._after = new_stats_reading()
        # One bound method, kept, so that the very object appended is the one removed.
        self._callback = self._on_collection
        # Called once now, harmlessly: CPython 3.10 makes a frame object (a tracked
        # object, which it then keeps for reuse) on a function's first call, and that
        # must not happen in the middle of a measured window.
        self._callback("start", {})

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._started = now
            return
        self.generation.append(info["generation"])
        self.collected.append(info["collected"])
        self.uncollectable.append(info["uncollectable"])
        self.start_seconds.append(self._started)
        self.pause.append(now - self._started)

    def start(self, read_stats: bool = True) -> None:
        """Read the collector's statistics (unless ``read_stats`` is false), then watch every
        collection.

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
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        """Stop watching, then read the collector's statistics again if ``start`` did."""
        gc.callbacks.remove(self._callback)
        if self._reads_stats:
            read_stats_into(self._after)

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

    def collections(self) -> list[Collection]:
        return [
            Collection(g, c, u, s, p)
            for g, c, u, s, p in zip(
                self.generation,
                self.collected,
                self.uncollectable,
                self.start_seconds,
                self.pause,
                strict=True,
            )
        ]

    def per_raw_generation(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Collections, collected and uncollectable per raw generation, from the callbacks alone."""
        counts = [0] * RAW_GENERATIONS
        collected = [0] * RAW_GENERATIONS
        uncollectable = [0] * RAW_GENERATIONS
        for g, c, u in zip(self.generation, self.collected, self.uncollectable, strict=True):
            counts[g] += 1
            collected[g] += c
            uncollectable[g] += u
        return tuple(counts), tuple(collected), tuple(uncollectable)


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
