"""Measures one test body in-process: tracemalloc peak, engine census, the collector's garbage.

How the body is isolated from the tests around it, and why in-process rather than in a
fresh interpreter: each figure is measured so that earlier tests cannot pollute it.

- Live engine objects: the engine's census counts Variables and Functions constructed
  and not yet freed. Its counts are read before and after the body *without* collecting,
  so a graph the body left to the cyclic collector is still counted. The census is read
  only when the engine is already imported: without it there are none, and measuring a
  suite that does not use the engine must not import it (nor numpy).
- Collected objects: ``gc.collect()`` runs just before the body, so the collector starts
  with no garbage from setup or earlier tests. Then ``gc.callbacks`` add up what every
  collection during the body freed, and one more ``gc.collect()`` after the body counts
  the cycles it left behind (they would be collected later, on some other test's time).
- Cycles: ``gc.DEBUG_SAVEALL`` is on during the body and that last collection, so each
  collection's garbage is read (``probes.shapes``, as ``--explain`` reads it) while it
  still exists; it is then
  emptied and dropped at once, so memory stays bounded by one collection's garbage.
- Peak growth: ``tracemalloc``'s peak (reset before the body) minus its current size at
  the start. It covers Python objects and numpy's buffers, which numpy reports to
  ``tracemalloc``. RSS would not do: memory freed by earlier tests stays in the
  allocator's pools and is reused without the RSS moving. What agmem itself allocates to
  read a collection's cycles is left out (the peak is read before, and reset after).

A fresh interpreter per test would add a second or more of start-up to every test and
measure nothing more; ``agmem run`` and ``agmem check`` are the tools for RSS.
"""

from __future__ import annotations

import gc
import importlib
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from autograd_mem.cycles import hints
from autograd_mem.cycles.defuse import defuse
from autograd_mem.cycles.shapes import CycleTally
from autograd_mem.probes.gc_probe import GENERATIONAL, detect_layout
from autograd_mem.schema.explain import CycleShape
from autograd_mem.schema.pytest_session import BodyFigures

# Frames tracemalloc keeps per allocation when the plugin starts it. One: every frame more
# slows every traced allocation (4 frames made an engine test's body twice as slow as 1),
# and a cycle's source line is looked for among several of its objects, one of which the
# test's own line usually made (an engine graph's input Variable).
TRACEBACK_FRAMES = 1

def engine_census() -> tuple[int, int]:
    """Live engine Variables and Functions now; (0, 0) when the engine was never imported."""
    census = sys.modules.get("autograd_mem.engine.census")
    if census is None:
        return 0, 0
    return census.live_variables(), census.live_functions()


class _GarbageWatch:
    """A ``gc.callbacks`` entry: counts each collection and reads its garbage's cycles.

    ``DEBUG_SAVEALL`` is set in the collection's ``start`` callback and taken off in its
    ``stop`` callback, so it is on only while a collection runs: between collections the
    body sees its own debug flags, and a body that empties ``gc.callbacks`` turns the
    saving off with the reading (its figures are then marked, its outcome is its own).
    A body that sets debug flags of its own keeps its garbage to itself.

    Reading cycles costs far more than making them (a Python graph walk against the C
    allocations of the body, every step of it traced by tracemalloc), so a budget of
    garbage objects bounds it: the first collections are read up to the budget, a part
    of a larger one as far as the budget goes (the cycles among a part of the garbage are
    real cycles), and then the collector frees the rest of the body's garbage itself.
    """

    def __init__(self, budget: int | None) -> None:
        self.collected = 0
        self.collections = 0
        self.cycles: int | None = 0
        self.complete = True
        self.tally = CycleTally()
        self.peak_bytes = 0  # tracemalloc's peak before each collection, at its highest
        self.watched = True  # the callback saw every collection until the end
        self.oldest_generation = -1  # the oldest generation a collection ran
        self._budget = budget  # garbage objects still to read; None: no limit
        self._reading = True
        self._saving = False  # DEBUG_SAVEALL is on for the collection under way
        self._flags = 0  # the debug flags the body runs with, outside collections
        self._garbage_start = 0
        self._garbage_list_bytes = 0  # gc.garbage's own size when installed
        self._read_bytes = 0  # what reading cycles kept allocated (the tally's shapes)
        self._found: list[Any] = []
        self._kept: list[Any] = []  # garbage defuse could not break up, until the end
        # The collector's own list: a body that rebinds ``gc.callbacks`` does not change
        # the list the collector calls.
        self._callbacks = gc.callbacks

    def install(self) -> None:
        self._flags = gc.get_debug()
        self._garbage_list_bytes = sys.getsizeof(gc.garbage)
        self._callbacks.append(self._on_gc)

    @property
    def own_bytes(self) -> int:
        """What agmem holds of tracemalloc's current size: the tally's shapes and the growth
        of gc.garbage's own array (DEBUG_SAVEALL's), left out of the body's peak."""
        return self._read_bytes + max(sys.getsizeof(gc.garbage) - self._garbage_list_bytes, 0)

    def traced_peak(self) -> int:
        """tracemalloc's peak since its last reset, less what agmem holds of it."""
        return tracemalloc.get_traced_memory()[1] - self.own_bytes

    @property
    def watching(self) -> bool:
        """False once the body removed the callback (cleared ``gc.callbacks``)."""
        return any(callback == self._on_gc for callback in self._callbacks)

    def uninstall(self) -> None:
        if self.watching:
            self._callbacks.remove(self._on_gc)
        else:
            self.watched = False
        if self._kept:
            # Cycles defuse could not break: collected now, uncounted, as they were
            # counted when first found. A collection moves what it saves to the next
            # generation, so collecting that one finds them.
            self._kept = []
            gc.collect(min(self.oldest_generation + 1, 2))

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start(info["generation"])
            return
        self.collected += info["collected"]
        self.collections += 1
        if not self._saving:
            if self.cycles is not None and not self._reading:
                self.complete = self.complete and info["collected"] == 0
            return
        self._saving = False
        gc.set_debug(self._flags)
        # The collection's own peak (a finalizer it ran may have allocated).
        self.peak_bytes = max(self.peak_bytes, self.traced_peak())
        found = gc.garbage[self._garbage_start :]
        if found:
            self._read(found)
            self._found = found
            # Freed by a callback appended now, which runs after every other callback of
            # this collection: one the body installed may want to read gc.garbage too.
            self._callbacks.append(self._free)
        else:
            tracemalloc.reset_peak()

    def _start(self, generation: int) -> None:
        self.oldest_generation = max(self.oldest_generation, generation)
        self.peak_bytes = max(self.peak_bytes, self.traced_peak())
        flags = gc.get_debug()
        if flags != self._flags:
            # The body set debug flags of its own: what gc.garbage holds is its to read,
            # and from now on the cycles are not all counted.
            self._flags = flags
            self.cycles = None
        self._saving = self.cycles is not None and self._reading
        if self._saving:
            self._garbage_start = len(gc.garbage)
            gc.set_debug(flags | gc.DEBUG_SAVEALL)

    def _read(self, found: list[Any]) -> None:
        part = found if self._budget is None else found[: self._budget]
        # Every object is traced (one frame each), so its traceback is read when needed.
        site_of = hints.first_site if tracemalloc.is_tracing() else None
        before = tracemalloc.get_traced_memory()[0]
        self.cycles = (self.cycles or 0) + self.tally.add(part, site_of)
        self._read_bytes += tracemalloc.get_traced_memory()[0] - before
        if self._budget is not None:
            self.complete = self.complete and len(part) == len(found)
            self._budget -= len(part)

    def shapes(self) -> tuple[CycleShape, ...]:
        """The cycles' shapes, largest first; none when the cycles could not be counted.
        Garbage on no cycle (a part of a collection beyond the budget) is no shape here."""
        if self.cycles is None:
            return ()
        return tuple(shape for shape in self.tally.results() if shape.cycles)

    def _free(self, phase: str, info: dict[str, int]) -> None:
        if self._free in self._callbacks:  # another callback may have emptied the list
            self._callbacks.remove(self._free)
        found, self._found = self._found, []
        ours = {id(obj) for obj in found}
        gc.garbage[:] = [obj for obj in gc.garbage if id(obj) not in ours]
        self._kept.extend(defuse(found))
        del found  # the last references: reference counting frees the garbage here
        if self._budget is not None and self._budget <= 0:
            # Read all it may: the collector frees the rest of the body's garbage itself.
            self._reading = False
        tracemalloc.reset_peak()


def young_generation() -> int | None:
    """The oldest generation a test's own objects sit in, as long as only younger collections
    ran during it; None when every collection is a full one (free-threaded builds).

    Generational collectors (3.10-3.13, 3.14.5+): a collection of generations 0 and 1
    promotes its survivors to 2, so a test during which no collection of generation 1 or
    2 ran has all its objects in generations 0 and 1.
    """
    # The incremental collector of 3.14.0-3.14.4 scans an increment of the old generation
    # with every young collection, so nothing short of a full one isolates a test there.
    return 1 if detect_layout().name == GENERATIONAL else None


class BodyProbe:
    """Measures the body run inside ``measuring()``; the figures are in ``result`` after.

    ``cycle_budget``: how many garbage objects the probe reads cycles in (None: all).
    ``full``: a full collection before and after the body (``--agmem-full``). By default
    only the young generations are collected around it, which is what costs little: a
    full collection walks every object the session holds (30 ms on boltons' suite, more
    than most of its tests take). The body's garbage is all found either way: a full
    collection follows the body when one of its own collections moved its objects on.
    """

    def __init__(
        self, cycle_budget: int | None = None, full: bool = False, retained_lines: bool = False
    ) -> None:
        self.cycle_budget = cycle_budget
        # Under a max_retained budget: snapshots before and after, for the line that
        # allocated what the call kept (a snapshot costs a walk of every trace).
        self.retained_lines = retained_lines
        self.young = None if full else young_generation()
        self.result: BodyFigures | None = None

    def _collect_before(self) -> None:
        """Collect the young generations, or all of them when the body could set off a full
        collection, which would find garbage older than the body and charge it.

        A full collection comes once more than ``threshold[2]`` collections of generation
        1 ran since the last one (``gc.get_count()[2]``, which this collection raises by
        one): short of that, the body must run a collection of generation 1 of its own
        (thousands of objects) before the collector walks the old generation. The full
        collection resets the count, so it comes once in about ten tests.
        """
        if self.young is None or gc.get_count()[2] >= gc.get_threshold()[2]:
            gc.collect()
        else:
            gc.collect(self.young)

    def _collect_after(self, oldest_collected: int) -> None:
        """Collect the generations the body's objects can be in: generation 0 when no
        collection ran during the body, one older for each generation its own collections
        moved them on to, all of them once that is past the young ones."""
        generation = oldest_collected + 1
        if self.young is None or generation > self.young:
            gc.collect()
        else:
            gc.collect(generation)

    @contextmanager
    def measuring(self) -> Iterator[None]:
        self._collect_before()
        variables, functions = engine_census()
        started_tracing = not tracemalloc.is_tracing()
        if started_tracing:
            tracemalloc.start(TRACEBACK_FRAMES)
        tracemalloc.reset_peak()
        # Taken before the start is read and alive to the end: its own bytes cancel out.
        snapshot = tracemalloc.take_snapshot() if self.retained_lines else None
        start_bytes, _ = tracemalloc.get_traced_memory()
        watch = _GarbageWatch(self.cycle_budget)
        watch.install()
        raised = True
        try:
            yield
            raised = False
        finally:
            try:
                peak_bytes = max(watch.peak_bytes, watch.traced_peak())
                after_variables, after_functions = engine_census()
                oldest_during_the_body = watch.oldest_generation
                # The body's leftover cycles, collected now so the next test starts clean;
                # the watch is still installed and counts them.
                if watch.watching:
                    self._collect_after(oldest_during_the_body)
                retained = tracemalloc.get_traced_memory()[0] - watch.own_bytes - start_bytes
                retained_at = _top_line(snapshot) if snapshot is not None and retained > 0 else ""
            finally:
                watch.uninstall()
                if started_tracing:
                    tracemalloc.stop()
            self.result = BodyFigures(
                peak_growth_bytes=max(peak_bytes - start_bytes, 0),
                live_variables=after_variables - variables,
                live_functions=after_functions - functions,
                collected=watch.collected,
                collections=watch.collections,
                cycles=watch.cycles,
                cycles_complete=watch.complete,
                shapes=watch.shapes(),
                body_raised=raised,
                collector_watched=watch.watched,
                older_garbage_possible=(
                    self.young is not None and oldest_during_the_body >= self.young
                ),
                retained_bytes=retained,
                retained_at=retained_at,
            )


def _top_line(before: tracemalloc.Snapshot) -> str:
    """``file:line`` that allocated most of what is traced now and was not before."""
    grown = [
        stat for stat in tracemalloc.take_snapshot().compare_to(before, "lineno")
        if stat.size_diff > 0 and stat.traceback[0].filename != tracemalloc.__file__
    ]
    if not grown:
        return ""
    frame = max(grown, key=lambda stat: stat.size_diff).traceback[0]
    return f"{frame.filename}:{frame.lineno}"


def prepare_process() -> None:
    """Import what a first test would otherwise be charged for, once per process.

    numpy 2 imports ``numpy.random`` on first use of ``np.random``: 0.6 MiB and thousands
    of objects, which the first test to touch it would be charged (and one collection
    more). ``agmem run``'s child seeds numpy's generator before measuring, so its figures
    never include it; this does the same, and only when the session already imported
    numpy (the plugin never imports it for a suite that does not use it).
    """
    if "numpy" in sys.modules:
        importlib.import_module("numpy.random")


def _nothing() -> None:
    pass


def _one_cycle() -> None:
    holder: dict[str, Any] = {}
    holder["self"] = holder


# What the warm-up measures: an empty body, and one that leaves a cycle, so every path of
# the probe (the callback, the cycle reader, tracemalloc's tracebacks) has run once.
WARM_UP_BODIES: tuple[Callable[[], None], ...] = (_nothing, _one_cycle, _nothing)
