"""Why the collector collected: the explain pass, reading what each collection found.

The garbage watcher (:mod:`.watcher`, ``gc.DEBUG_SAVEALL``) hands each collection's
garbage over while it still exists, and frees it after: the tally splits it into
cycles, each given a *shape* (its types and labelled references) and the bytes it held
(:mod:`.shapes`); the first cycle of a new shape also gets an example path, a hint and
the user's line that allocated it (:mod:`.hints`, from ``tracemalloc``, which runs in
this pass only). Only counts and strings are kept. Kept garbage would inflate the
main measurement's memory, which is why this is a pass of its own.

The pass also counts live objects by type before and after the window (:mod:`.growth`),
for what stays alive without being garbage.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.cycles import hints
from autograd_mem.cycles.shapes import CycleTally
from autograd_mem.cycles.watcher import Collection, GarbageReader, GarbageWatcher
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


class _ShapeReader(GarbageReader):
    """The explain pass's reader: each collection's garbage tallied by type and by shape."""

    def __init__(self, tally: GarbageTally) -> None:
        self.tally = tally

    def read(self, collection: Collection) -> list[list[Any]]:
        tally = self.tally
        found = collection.garbage
        if not found:
            return []
        traced = tally._sampler.sample(found)
        with tally._sampler.paused():
            tally._count(found)
            site_of = functools.partial(hints.allocation_site, traced=traced)
            tally.cycles.add(found, site_of if traced else None)
            tally._sampler.wanted_types = tally.cycles.unsited_type_ids()
        return []


@dataclass
class GarbageTally:
    """Context manager for the explain pass: the garbage watcher (:mod:`.watcher`) with a
    tally of each collection's garbage, by type and by cycle shape, ``tracemalloc`` for
    where cycles were made, and the growth of live types."""

    collections: int = 0
    garbage_objects: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    cycles: CycleTally = field(default_factory=CycleTally)
    growth: list[tuple[str, int, int]] = field(default_factory=list)
    _sampler: hints.TracebackSampler = field(repr=False, default_factory=hints.TracebackSampler)
    _live_at_start: dict[str, int] = field(repr=False, default_factory=dict)
    _watcher: GarbageWatcher | None = field(default=None, repr=False)

    def __enter__(self) -> GarbageTally:
        self._watcher = GarbageWatcher(_ShapeReader(self))
        self._watcher.__enter__()
        self._live_at_start = growth.count_by_type(self)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sampler.stop()
        self.growth = growth.top_growth(self._live_at_start, growth.count_by_type(self, exc))
        assert self._watcher is not None
        watcher, self._watcher = self._watcher, None
        try:
            watcher.__exit__(*exc)
        except RuntimeError as failure:
            raise RuntimeError(
                "the explain pass could not analyse a collection"
            ) from failure.__cause__

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

