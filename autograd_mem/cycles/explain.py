"""Why the collector collected: a ``gc.DEBUG_SAVEALL`` pass explaining what each collection found.

With ``DEBUG_SAVEALL`` the collector appends everything it finds unreachable to
``gc.garbage`` instead of freeing it, which is what lets us see it, and also what makes
this a separate pass: kept garbage would inflate the main measurement's memory.

Each collection's garbage is read in the collector's ``stop`` callback, while it is
still there: split into cycles (:mod:`.cycles`), each cycle given a *shape* (its types
and labelled references) and the bytes it held (:mod:`.payload`); the first cycle of a
new shape also gets an example path, a hint and the user's line that allocated it
(:mod:`.hints`, from ``tracemalloc``, which runs in this pass only). Only counts and
strings are kept. Then the garbage is *defused* (its lists, dicts, sets, cells, frames
and instances emptied, which breaks every cycle through them) and dropped from
``gc.garbage``, so reference counting frees it at once and this pass's memory stays
bounded. Keeping it instead would be wrong as well as costly: a saved tuple holding a
Variable that sits in an older generation keeps that Variable reachable, and it would
never be found and counted. A cycle made only of objects that cannot be emptied would
survive and could be counted again by a later collection; none is known.

The pass also counts live objects by type before and after the window (:mod:`.growth`),
for what stays alive without being garbage.
"""

from __future__ import annotations

import functools
import gc
import sys
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.cycles import hints
from autograd_mem.cycles.defuse import defuse
from autograd_mem.cycles.shapes import CycleTally
from autograd_mem.probes import growth
from autograd_mem.schema.explain import ExplainReport, TypeGrowth


def _engine_groups() -> tuple[type, type] | None:
    engine = sys.modules.get("autograd_mem.engine")
    if engine is None:
        return None
    return engine.Function, engine.Variable


def type_group(obj: Any) -> str:
    """The name an object is tallied under: every engine Function subclass is "Function"."""
    groups = _engine_groups()
    if groups is not None:
        function, variable = groups
        if isinstance(obj, function):
            return "Function"
        if isinstance(obj, variable):
            return "Variable"
    return type(obj).__name__


@dataclass
class GarbageTally:
    """Context manager for the explain pass: ``DEBUG_SAVEALL``, ``tracemalloc`` and a tally of
    each collection's garbage, by type and by cycle shape, plus the growth of live types."""

    collections: int = 0
    garbage_objects: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    cycles: CycleTally = field(default_factory=CycleTally)
    growth: list[tuple[str, int, int]] = field(default_factory=list)
    _sampler: hints.TracebackSampler = field(repr=False, default_factory=hints.TracebackSampler)
    _live_at_start: dict[str, int] = field(repr=False, default_factory=dict)
    _garbage_before: int = 0  # length of gc.garbage when the pass began: not ours
    _old_debug: int = 0
    _failure: BaseException | None = field(default=None, repr=False)
    # Cycles defuse could not break (none is known): kept, so that a later collection
    # in the pass does not find and count them again; collected once the pass is over.
    _kept: list[Any] = field(default_factory=list, repr=False)

    def __enter__(self) -> GarbageTally:
        self._old_debug = gc.get_debug()
        self._garbage_before = len(gc.garbage)
        gc.set_debug(self._old_debug | gc.DEBUG_SAVEALL)
        gc.callbacks.append(self._on_collection)
        self._live_at_start = growth.count_by_type(self)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sampler.stop()
        self.growth = growth.top_growth(self._live_at_start, growth.count_by_type(self, exc))
        gc.callbacks.remove(self._on_collection)
        gc.set_debug(self._old_debug)
        if self._kept:
            self._kept.clear()
            gc.collect()
        if self._failure is not None and exc[0] is None:
            # The collector swallows a callback's exception (it only prints it): raised
            # here, a failed analysis fails the pass rather than leaving wrong counts.
            raise RuntimeError("the explain pass could not analyse a collection") from self._failure

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop":
            return
        found = gc.garbage[self._garbage_before :]
        if not found:
            # Not counted: the pass's own set-up collection finds nothing, and "2
            # collections" for a run with the collector off would puzzle its reader.
            return
        traced = self._sampler.sample(found)
        with self._sampler.paused():
            try:
                if self._failure is None:
                    self._count(found)
                    site_of = functools.partial(hints.allocation_site, traced=traced)
                    self.cycles.add(found, site_of if traced else None)
                    self._sampler.wanted_types = self.cycles.unsited_type_ids()
            except Exception as exc:
                self._failure = exc
            finally:
                # Even after a failure: kept, the garbage would pile up in gc.garbage.
                del gc.garbage[self._garbage_before :]
                self._kept += defuse(found)

    def _count(self, found: list[Any]) -> None:
        self.collections += 1
        self.garbage_objects += len(found)
        # A loop, not Counter.update(generator): update's isinstance(…, Mapping) on a
        # generator fills the ABCs' caches with weakrefs the growth count would see.
        by_type = self.by_type
        for obj in found:
            name = type_group(obj)
            by_type[name] = by_type.get(name, 0) + 1

    def report(self) -> ExplainReport:
        shapes = self.cycles.results()
        first_cycle = next((s for s in shapes if s.path), None)
        example = () if first_cycle is None else (
            *(step.type for step in first_cycle.path), first_cycle.path[0].type
        )
        return ExplainReport(
            collections=self.collections,
            garbage_objects=self.garbage_objects,
            garbage_by_type=dict(sorted(self.by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
            array_bytes_held=self.cycles.array_bytes_held,
            example_cycle=example,
            shapes=tuple(shapes),
            bytes_held=self.cycles.bytes_held,
            growth=tuple(TypeGrowth(type=t, start=s, end=e) for t, s, e in self.growth),
        )

