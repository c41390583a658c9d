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
- Cycles: each collection's garbage is read while it still exists, through the one
  garbage watcher (``cycles.watcher``, ``DEBUG_SAVEALL`` on only while a collection runs)
  and the shape reader ``--explain`` uses (``cycles.shapes``); it is then freed at once,
  so memory stays bounded by one collection's garbage.
- Peak growth: ``tracemalloc``'s peak (reset before the body) minus its current size at
  the start. It covers Python objects and numpy's buffers, which numpy reports to
  ``tracemalloc``. RSS would not do: memory freed by earlier tests stays in the
  allocator's pools and is reused without the RSS moving. What agmem itself allocates to
  read a collection's cycles is left out (the watcher's ``own_bytes`` and ``peak_bytes``).

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

from autograd_mem.cycles.shapes import CycleTally, ShapeReader
from autograd_mem.cycles.watcher import GarbageWatcher
from autograd_mem.probes.gc_probe import GENERATIONAL, detect_layout
from autograd_mem.pytest_plugin.origin import RETAINED_FRAMES, cycle_site, retained_line
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
        self, cycle_budget: int | None = None, full: bool = False,
        retained_limit: int | None = None,
    ) -> None:
        self.cycle_budget = cycle_budget
        # Under a max_retained budget: deeper tracebacks, and over it a snapshot, for the
        # project's line that allocated what the call kept (a snapshot walks every trace).
        self.retained_limit = retained_limit
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
        # Every object is traced, so its traceback is read when needed.
        reader = ShapeReader(CycleTally(), cycle_site)
        watcher = GarbageWatcher(reader, budget=self.cycle_budget)
        watcher.__enter__()
        free_lists = _emptied_free_lists()
        started_tracing = not tracemalloc.is_tracing()
        if started_tracing:
            # Deeper under max_retained: its failure walks out to the project's line.
            deep = self.retained_limit is not None
            tracemalloc.start(RETAINED_FRAMES if deep else TRACEBACK_FRAMES)
        tracemalloc.reset_peak()
        # When tracing was on before the call, what it holds is told apart by a snapshot,
        # taken before the start is read and alive to the end: its own bytes cancel out.
        snapshot = (
            tracemalloc.take_snapshot()
            if self.retained_limit is not None and not started_tracing else None
        )
        start_bytes = tracemalloc.get_traced_memory()[0] - watcher.own_bytes
        raised = True
        try:
            yield
            raised = False
        finally:
            try:
                peak_bytes = watcher.peak_bytes()
                after_variables, after_functions = engine_census()
                oldest_during_the_body = watcher.oldest_generation
                # The body's leftover cycles, collected now so the next test starts clean;
                # the watcher is still installed and counts them.
                if watcher.watching:
                    self._collect_after(oldest_during_the_body)
                retained = tracemalloc.get_traced_memory()[0] - watcher.own_bytes - start_bytes
                over = self.retained_limit is not None and retained > self.retained_limit
                retained_at = retained_line(snapshot) if over else ""
            finally:
                watcher.__exit__(None, None, None)
                if started_tracing:
                    tracemalloc.stop()
                del free_lists
            self.result = self._figures(
                watcher, reader, (after_variables - variables, after_functions - functions),
                peak_bytes - start_bytes, raised, retained, retained_at,
                oldest_during_the_body,
            )

    def _figures(
        self, watcher: GarbageWatcher, reader: ShapeReader, live: tuple[int, int],
        peak_growth_bytes: int, raised: bool, retained: int, retained_at: str, oldest: int,
    ) -> BodyFigures:
        cycles = None if watcher.flags_taken else reader.cycles
        shapes = () if cycles is None else tuple(
            shape for shape in reader.tally.results() if shape.cycles
        )
        return BodyFigures(
            peak_growth_bytes=max(peak_growth_bytes, 0),
            live_variables=live[0],
            live_functions=live[1],
            collected=watcher.collected,
            collections=watcher.collections_run,
            cycles=cycles,
            cycles_complete=watcher.complete,
            shapes=shapes,
            body_raised=raised,
            collector_watched=watcher.watched,
            older_garbage_possible=self.young is not None and oldest >= self.young,
            retained_bytes=retained,
            retained_at=retained_at,
        )


# CPython keeps up to 80 freed lists and 80 freed dicts (3.10-3.14) and hands them out
# again without allocating, so tracemalloc never sees them made: a cycle of lists a test
# built from them had no "made at" line (95 of boltons' 197 cycle shapes under the young
# detail). A full collection empties these free lists, a young one does not; so the
# probe takes what they hold before tracing starts and gives it back after the call.
FREE_LIST_LENGTH = 80


def _emptied_free_lists() -> tuple[list[list[Any]], list[dict[Any, Any]]]:
    """The lists and dicts the free lists held (and fresh ones past them), kept aside."""
    return [[] for _ in range(FREE_LIST_LENGTH)], [{} for _ in range(FREE_LIST_LENGTH)]


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
