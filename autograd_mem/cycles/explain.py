"""Why the collector collected, and where the memory is: the explain pass around the window.

- The garbage watcher (:mod:`.watcher`, ``gc.DEBUG_SAVEALL``) hands each collection's
  garbage over while it still exists; it is tallied by *shape* (its types and labelled
  references, :mod:`.shapes`), the first cycle of a shape giving an example path, a
  hint and the user's line that allocated it (:mod:`.hints`); then it is freed shape by
  shape, and what that frees, by ``tracemalloc``, is the shape's bytes (what its
  finalizers freed during the collection added).
- After the window, one more collection finds what was still waiting for the collector:
  a part of the report of its own (a window whose collections never ran holds it all).
- The live objects are counted by type before and after the window, the untracked ones
  among them (:mod:`~autograd_mem.probes.growth`), and ``tracemalloc``'s traces at the
  end name the lines still holding memory (:mod:`~autograd_mem.probes.allocations`).
- What held memory at the traced peak is sampled while the window runs
  (:mod:`~autograd_mem.probes.peak`): a leak held by a function's locals is gone by the
  end, not at the peak.
- Modules imported for the first time run untraced, and are set-up, not growth: their
  objects are left out of what grew, and reported apart
  (:mod:`~autograd_mem.probes.imports`). A program that says where its set-up ends
  (``autograd_mem.setup_done()``) has the count and the tracing start again there
  (:meth:`ExplainPass.setup_done`).

``tracemalloc`` traces the whole window, and is paused while agmem reads a collection
(:mod:`~autograd_mem.probes.tracing`). Kept garbage would inflate the main measurement's
memory, and tracing slows every allocation: which is why this is a pass of its own.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.cycles import hints
from autograd_mem.cycles.shapes import CycleTally, ShapeReader, source_line
from autograd_mem.cycles.watcher import Collection, GarbageWatcher
from autograd_mem.probes import allocations, sites
from autograd_mem.probes import growth as growth_probe
from autograd_mem.probes.imports import UntracedImports
from autograd_mem.probes.peak import PeakSampler
from autograd_mem.probes.tracing import Tracing
from autograd_mem.schema.explain import (
    ExplainReport,
    ImportsApart,
    PeakMoment,
    TopLine,
    TypeGrowth,
    WaitingGarbage,
)


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
class Part:
    """What the collections of one part of the pass found: the window's, or the final one's."""

    tally: CycleTally = field(default_factory=CycleTally)
    collections: int = 0
    garbage_objects: int = 0
    cycles: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def count(self, found: list[Any]) -> None:
        self.collections += 1
        self.garbage_objects += len(found)
        # A loop, not Counter.update(generator): update's isinstance(…, Mapping) on a
        # generator fills the ABCs' caches with weakrefs the growth count would see.
        by_type = self.by_type
        for obj in found:
            name = type_group(obj)
            by_type[name] = by_type.get(name, 0) + 1


class _PartReader(ShapeReader):
    """Each collection's garbage to the part being read (the window's, then the final
    collection's), counted by type and tallied by shape."""

    def __init__(self, part: Part, tracing: Tracing) -> None:
        super().__init__(part.tally, hints.allocation_site, tracing.paused)
        self.part = part

    def switch_to(self, part: Part) -> None:
        self.part, self.tally, self.cycles = part, part.tally, 0

    def count(self, found: list[Any]) -> None:
        self.part.count(found)

    def read(self, collection: Collection) -> list[list[Any]]:
        groups = super().read(collection)
        self.part.cycles = self.cycles
        return groups


@dataclass
class ExplainPass:
    """Context manager for the explain pass around the window; call :meth:`end_window` last
    inside it. Then :meth:`report` gives what it found.

    On entry: the live objects are counted, the watcher installed, ``tracemalloc``
    started (it traces everything the window allocates but first-time imports), the
    peak sampler started. :meth:`end_window` reads the peak's lines, collects once
    more, for what was still waiting, then counts the live objects again and reads
    ``tracemalloc``'s traces for the lines that still hold memory.
    """

    count_growth: bool = True  # False: shapes only (the growth counts walk every live object)
    window: Part = field(default_factory=Part)
    waiting: Part = field(default_factory=Part)
    growth: list[allocations.TypeRow] = field(default_factory=list)
    top_lines: list[allocations.Line] = field(default_factory=list)
    peak: PeakMoment = field(default_factory=PeakMoment)
    imports: ImportsApart = field(default_factory=ImportsApart)
    _start: growth_probe.Census = field(default_factory=growth_probe.Census, repr=False)
    _reader: _PartReader | None = field(default=None, repr=False)
    _watcher: GarbageWatcher | None = field(default=None, repr=False)
    _tracing: Tracing = field(default_factory=lambda: Tracing(hints.TRACEBACK_FRAMES))
    _sampler: PeakSampler | None = field(default=None, repr=False)
    _imports: UntracedImports | None = field(default=None, repr=False)
    _set_up: bool = field(default=False, repr=False)

    def __enter__(self) -> ExplainPass:
        self._reader = _PartReader(self.window, self._tracing)
        self._watcher = GarbageWatcher(self._reader)
        if self.count_growth:
            self._start = growth_probe.take_census(self, *sites.caches(), ids=True)
        self._watcher.__enter__()
        # Started untraced: a thread's start allocates (its ident, its lock) in it.
        self._sampler = PeakSampler(self._tracing).__enter__()
        self._tracing.start()
        self._imports = UntracedImports(self._tracing).__enter__()
        return self

    def _end_sampling(self) -> None:
        """The sampler and the imports' watch ended; the peak's traces read into lines."""
        imports, self._imports = self._imports, None
        if imports is not None:
            imports.__exit__(None, None, None)
            self.imports = ImportsApart(imports.modules, imports.kept_bytes, imports.seconds)
        sampler, self._sampler = self._sampler, None
        if sampler is None:
            return
        sampler.sample()  # the window's end may be its largest moment
        sampler.__exit__(None, None, None)
        kept = sampler.peak
        if not kept.traces or not tracemalloc.is_tracing():
            return
        with self._tracing.paused():
            lines = allocations.top_lines(allocations.window_traces(kept.snapshot()))
        self.peak = PeakMoment(
            traced_bytes=kept.traced_bytes,
            peak_bytes=max(kept.peak_bytes, kept.traced_bytes, self._watched_peak()),
            seconds=kept.seconds,
            lines=tuple(_top_line(line) for line in lines),
        )
        kept.traces = []

    def setup_done(self) -> None:
        """The program's set-up is over: what is alive now is counted as the start, and
        tracing starts again (the set-up's traces forgotten), as does the peak's sampling.
        Only the first call counts; ignored inside a pause (agmem's reading, an import)."""
        if self._set_up or self._sampler is None or self._tracing.depth:
            return
        self._set_up = True
        enabled = gc.isenabled()
        gc.disable()  # the count's own allocations must not start a collection
        try:
            self._tracing.stop()
            if self.count_growth:
                self._start = growth_probe.take_census(self, *sites.caches(), ids=True)
            self._sampler.restart()
            self._tracing.start()
        finally:
            if enabled:
                gc.enable()

    def _watched_peak(self) -> int:
        """The watcher's peak, seen at each collection (its own saved garbage left out);
        none after a set-up mark, since it counts from before the mark."""
        if self._watcher is None or self._set_up:
            return 0
        return self._watcher.peak_traced_bytes

    def end_window(self, *, count_first: bool = False) -> None:
        """The window is over: what one more collection finds was still waiting for the
        collector; what is alive and was not in the start count grew.

        ``count_first``: count what grew before that collection, not after. For a
        program, whose globals become garbage the moment it ends (its functions refer
        to them): what they hold is what the program kept to its end, as it would be
        at ``python``'s exit.
        """
        assert self._reader is not None
        enabled = gc.isenabled()
        gc.disable()  # agmem's own allocations from here on must not start a collection
        try:
            self._end_sampling()
            self._reader.switch_to(self.waiting)
            if not count_first:
                gc.collect()
            if self.count_growth:
                self._count_growth()
        finally:
            if enabled:
                gc.enable()
        if count_first:
            gc.collect()
        self._tracing.stop()

    def _count_growth(self) -> None:
        # All agmem's own work: untraced (tracing paused), or it takes ten times as long.
        with self._tracing.paused():
            traces = allocations.window_traces(tracemalloc.take_snapshot())
            linked = allocations.link_new_objects()
            end = growth_probe.take_census(
                self, traces, linked, *sites.caches(), keep=True, before=self._start
            )
            names = growth_probe.grown_types(self._start, end)
            self.growth = allocations.type_rows(names, self._start, end, traces, linked)
            self.top_lines = allocations.top_lines(allocations.with_native(traces, end, linked))
            del end

    def __exit__(self, *exc: object) -> None:
        if self._sampler is not None:
            self._sampler.__exit__(*exc)
            self._sampler = None
        if self._imports is not None:
            self._imports.__exit__(*exc)
            self._imports = None
        self._tracing.stop()
        watcher, self._watcher = self._watcher, None
        if watcher is None:
            return
        try:
            watcher.__exit__(*exc)
        except RuntimeError as failure:
            raise RuntimeError(
                "the explain pass could not analyse a collection"
            ) from failure.__cause__

    def report(self) -> ExplainReport:
        window, waiting = self.window, self.waiting
        shapes = window.tally.results()
        waiting_shapes = waiting.tally.results()
        first_cycle = next((s for s in (*shapes, *waiting_shapes) if s.path), None)
        example = () if first_cycle is None else (
            *(step.type for step in first_cycle.path), first_cycle.path[0].type
        )
        return ExplainReport(
            collections=window.collections,
            garbage_objects=window.garbage_objects,
            garbage_by_type=dict(sorted(window.by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
            array_bytes_held=window.tally.array_bytes_held + waiting.tally.array_bytes_held,
            example_cycle=example,
            shapes=tuple(shapes),
            bytes_held_at_most=window.tally.bytes_held_at_most,
            bytes_freed_total=window.tally.bytes_freed_total,
            growth=tuple(_type_growth(row) for row in self.growth),
            top_lines=tuple(_top_line(line) for line in self.top_lines),
            waiting=WaitingGarbage(
                garbage_objects=waiting.garbage_objects,
                cycles=waiting.cycles,
                bytes_held=waiting.tally.bytes_freed_total,
                shapes=tuple(waiting_shapes),
            ),
            peak=self.peak,
            imports=self.imports,
        )


def _top_line(line: allocations.Line) -> TopLine:
    return TopLine(line.site.file, line.site.line, line.site.function, line.bytes, line.count)


def _type_growth(row: allocations.TypeRow) -> TypeGrowth:
    return TypeGrowth(
        type=row.type, start=row.start, end=row.end,
        bytes_start=row.bytes_start, bytes_end=row.bytes_end,
        allocated_at=source_line(row.allocated_at), allocated_in=source_line(row.allocated_in),
    )
