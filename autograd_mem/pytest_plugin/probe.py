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
from dataclasses import dataclass
from typing import Any

from autograd_mem.cycles import hints
from autograd_mem.cycles.defuse import defuse
from autograd_mem.cycles.shapes import CycleTally
from autograd_mem.schema.explain import CycleShape

# Frames tracemalloc keeps per allocation when the plugin starts it. One: every frame more
# slows every traced allocation (4 frames made an engine test's body twice as slow as 1),
# and a cycle's source line is looked for among several of its objects, one of which the
# test's own line usually made (an engine graph's input Variable).
TRACEBACK_FRAMES = 1

# A bit of the collector's debug flags that CPython does not use (its flags are 1, 2, 4
# and 32), set with DEBUG_SAVEALL so the probe can tell its flags from a body's: a body
# that sets its own (even DEBUG_SAVEALL alone, which equals the probe's) clears the bit,
# and then the garbage is the body's to read and the probe leaves gc.garbage alone.
_AGMEM_FLAG = 1 << 16


@dataclass(frozen=True)
class BodyMeasurement:
    """What one test body did to memory."""

    peak_growth_bytes: int
    live_variables: int  # left alive by the body (after minus before)
    live_functions: int
    collected: int  # freed by the collector during the body and just after it
    collections: int
    # Garbage cycles among what the collector freed; None when they could not be counted
    # (the body set the collector's debug flags itself, so its garbage is its own).
    cycles: int | None = 0
    # False when the body left more garbage than the probe reads (``cycle_budget``):
    # ``cycles`` is then a lower bound, and ``shapes`` are those of the garbage read.
    cycles_complete: bool = True
    shapes: tuple[CycleShape, ...] = ()  # the cycles' shapes, largest first
    body_raised: bool = False

    @property
    def live_objects(self) -> int:
        """Engine Variables + Functions the body left alive."""
        return self.live_variables + self.live_functions

    @property
    def largest_shape(self) -> CycleShape | None:
        return self.shapes[0] if self.shapes else None


def engine_census() -> tuple[int, int]:
    """Live engine Variables and Functions now; (0, 0) when the engine was never imported."""
    census = sys.modules.get("autograd_mem.engine.census")
    if census is None:
        return 0, 0
    return census.live_variables(), census.live_functions()


class _GarbageWatch:
    """A ``gc.callbacks`` entry: counts each collection and reads its garbage's cycles.

    Reading cycles costs far more than making them (a Python graph walk against the C
    allocations of the body, every step of it traced by tracemalloc), so a budget of
    garbage objects bounds it: the first collections are read up to the budget, a part
    of a larger one as far as the budget goes (the cycles among a part of the garbage are
    real cycles), and then ``DEBUG_SAVEALL`` goes off for the rest of the body.
    """

    def __init__(self, budget: int | None) -> None:
        self.collected = 0
        self.collections = 0
        self.cycles: int | None = 0
        self.complete = True
        self.tally = CycleTally()
        self.peak_bytes = 0  # tracemalloc's peak before each collection, at its highest
        self._budget = budget  # garbage objects still to read; None: no limit
        self._reading = True
        self._flags = 0
        self._old_flags = 0
        self._garbage_start = 0
        self._garbage_bytes = 0
        self._found: list[Any] = []
        self._kept: list[Any] = []  # garbage defuse could not break up, until the end

    def install(self) -> None:
        self._old_flags = gc.get_debug()
        self._flags = self._old_flags | gc.DEBUG_SAVEALL | _AGMEM_FLAG
        gc.set_debug(self._flags)
        gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        gc.callbacks.remove(self._on_gc)
        if gc.get_debug() == self._flags:  # else the body set its own: leave them
            gc.set_debug(self._old_flags)
        if self._kept:
            # Cycles defuse could not break: collected now, uncounted, as they were
            # counted when first found.
            self._kept = []
            gc.collect()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._garbage_start = len(gc.garbage)
            self._garbage_bytes = sys.getsizeof(gc.garbage)
            self.peak_bytes = max(self.peak_bytes, tracemalloc.get_traced_memory()[1])
            return
        self.collected += info["collected"]
        self.collections += 1
        if gc.get_debug() != self._flags:
            # The body set debug flags of its own: what gc.garbage holds is its to read,
            # and from now on the cycles are not all counted. (A collection after it put
            # the probe's flags back saves garbage for the probe again, to free.)
            self.cycles = None
            return
        if not self._reading:
            self.complete = self.complete and info["collected"] == 0
            return
        # The collection's own peak (a finalizer it ran may have allocated), less the
        # growth of gc.garbage, which is DEBUG_SAVEALL's and not the body's.
        saved_bytes = sys.getsizeof(gc.garbage) - self._garbage_bytes
        self.peak_bytes = max(self.peak_bytes, tracemalloc.get_traced_memory()[1] - saved_bytes)
        found = gc.garbage[self._garbage_start :]
        if found:
            if self.cycles is not None:
                self._read(found)
            self._found = found
            # Freed by a callback appended now, which runs after every other callback of
            # this collection: one the body installed may want to read gc.garbage too.
            gc.callbacks.append(self._free)
        else:
            tracemalloc.reset_peak()

    def _read(self, found: list[Any]) -> None:
        part = found if self._budget is None else found[: self._budget]
        # Every object is traced (one frame each), so its traceback is read when needed.
        site_of = hints.first_site if tracemalloc.is_tracing() else None
        self.cycles = (self.cycles or 0) + self.tally.add(part, site_of)
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
        gc.callbacks.remove(self._free)
        found, self._found = self._found, []
        ours = {id(obj) for obj in found}
        gc.garbage[:] = [obj for obj in gc.garbage if id(obj) not in ours]
        self._kept.extend(defuse(found))
        del found  # the last references: reference counting frees the garbage here
        if self._budget is not None and self._budget <= 0:
            # Read all it may: the collector frees the rest of the body's garbage itself.
            self._reading = False
            self._flags = self._old_flags
            gc.set_debug(self._flags)
        tracemalloc.reset_peak()


class BodyProbe:
    """Measures the body run inside ``measuring()``; the figures are in ``result`` after.

    ``cycle_budget``: how many garbage objects the probe reads cycles in (None: all).
    """

    def __init__(self, cycle_budget: int | None = None) -> None:
        self.cycle_budget = cycle_budget
        self.result: BodyMeasurement | None = None

    @contextmanager
    def measuring(self) -> Iterator[None]:
        gc.collect()
        variables, functions = engine_census()
        started_tracing = not tracemalloc.is_tracing()
        if started_tracing:
            tracemalloc.start(TRACEBACK_FRAMES)
        tracemalloc.reset_peak()
        start_bytes, _ = tracemalloc.get_traced_memory()
        watch = _GarbageWatch(self.cycle_budget)
        watch.install()
        raised = True
        try:
            yield
            raised = False
        finally:
            try:
                peak_bytes = max(watch.peak_bytes, tracemalloc.get_traced_memory()[1])
                after_variables, after_functions = engine_census()
                # The body's leftover cycles, collected now so the next test starts clean;
                # the watch is still installed and counts them.
                gc.collect()
            finally:
                watch.uninstall()
                if started_tracing:
                    tracemalloc.stop()
            self.result = BodyMeasurement(
                peak_growth_bytes=max(peak_bytes - start_bytes, 0),
                live_variables=after_variables - variables,
                live_functions=after_functions - functions,
                collected=watch.collected,
                collections=watch.collections,
                cycles=watch.cycles,
                cycles_complete=watch.complete,
                shapes=watch.shapes(),
                body_raised=raised,
            )


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
