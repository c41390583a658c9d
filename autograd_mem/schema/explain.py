"""The explain document: cycle shapes, their paths, sizes and lines, what grew, and where.

Bytes are what was allocated (``tracemalloc``'s figures) wherever the explain pass
could measure them. Two figures never mix: ``bytes_held_at_most`` is the most that
was waiting for the collector at once (the most one collection found), and
``bytes_freed_total`` what the collector freed over the whole window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.schema.codec import nested
from autograd_mem.schema.rules import (
    BYTES,
    COUNT,
    SECONDS,
    SIGNED_BYTES,
    Each,
    Nested,
    OrNone,
    String,
    Table,
    ruled,
)

_SOURCE_LINE = OrNone(Nested())  # a SourceLine, or None where no frame was traced


@dataclass(frozen=True)
class PathStep:
    """One hop of an example cycle: an object's type and the reference it leaves by.

    ``edge`` reads on from the type: ``.me`` (an attribute), ``['y']`` (a dict key),
    ``[0]`` (an index), ``.__closure__['f']`` (a closure variable), ``.f_locals['e']``
    (a frame's local); ``?`` when nothing names the reference.
    """

    type: str = ruled(String())
    edge: str = ruled(String())


@dataclass(frozen=True)
class SourceLine:
    """Where an object was allocated: a frame's file, line and function.

    ``allocated_at`` is the innermost frame of the user's code (the first outside the
    standard library, site-packages and agmem; the innermost frame when none is);
    ``allocated_in``, beside it, the innermost frame of all when that is another one.
    """

    file: str = ruled(String())
    line: int = ruled(COUNT)
    function: str = ruled(String())


def _source_line(value: Any, where: str) -> SourceLine | None:
    return None if value is None else nested(SourceLine, value, where)


@dataclass(frozen=True)
class CycleShape:
    """All the garbage cycles of one shape (same types, same labelled references).

    ``path`` is one example cycle; it returns to its first step's type. ``objects``
    counts the garbage objects these cycles kept, themselves included (a total over
    the window). ``bytes_held_at_most``: the most one collection found of this shape,
    what was waiting for the collector at once; ``bytes_freed_total``: what freeing
    it freed over the window, what its finalizers freed included. A shape whose
    ``cycles`` is 0 is garbage no cycle reached.
    """

    types: tuple[str, ...] = ruled(Each(String()))
    path: tuple[PathStep, ...] = ruled(Each(Nested()))
    cycles: int = ruled(COUNT)
    objects: int = ruled(COUNT)
    bytes_held_at_most: int = ruled(BYTES)
    bytes_freed_total: int = ruled(BYTES)
    allocated_at: SourceLine | None = field(default=None, metadata={"rule": _SOURCE_LINE})
    allocated_in: SourceLine | None = field(default=None, metadata={"rule": _SOURCE_LINE})
    hint: str | None = ruled(OrNone(String()), None)

    def __post_init__(self) -> None:
        # Read back from JSON, the nested parts arrive as plain mappings.
        path = tuple(nested(PathStep, step, "path") for step in self.path)
        object.__setattr__(self, "types", tuple(self.types))
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "allocated_at", _source_line(self.allocated_at, "allocated_at"))
        object.__setattr__(self, "allocated_in", _source_line(self.allocated_in, "allocated_in"))


@dataclass(frozen=True)
class TypeGrowth:
    """Live objects of one type at the start and at the end of the window, and their bytes.

    Objects the collector does not track (``bytes``, ``bytearray``, ``str``, numpy
    arrays) are counted as what tracked objects refer to. Bytes of the objects made in
    the window are ``tracemalloc``'s (their blocks, and what was allocated with them on
    the same line); of older ones, ``sys.getsizeof``. ``allocated_at`` is the line that
    allocated most of the growth (None: no new object of the type was traced).
    """

    type: str = ruled(String())
    start: int = ruled(COUNT)
    end: int = ruled(COUNT)
    bytes_start: int = ruled(BYTES)
    bytes_end: int = ruled(BYTES)
    allocated_at: SourceLine | None = field(default=None, metadata={"rule": _SOURCE_LINE})
    allocated_in: SourceLine | None = field(default=None, metadata={"rule": _SOURCE_LINE})

    def __post_init__(self) -> None:
        object.__setattr__(self, "allocated_at", _source_line(self.allocated_at, "allocated_at"))
        object.__setattr__(self, "allocated_in", _source_line(self.allocated_in, "allocated_in"))


@dataclass(frozen=True)
class TopLine:
    """A line by the bytes still allocated at the end of the window by allocations it made
    during the window (``tracemalloc``; the user's line of each traceback), and how many."""

    file: str = ruled(String())
    line: int = ruled(COUNT)
    function: str = ruled(String())
    bytes: int = ruled(BYTES)
    count: int = ruled(COUNT)


@dataclass(frozen=True)
class WaitingGarbage:
    """What one more collection found once the window had ended: cycles the collector
    had not reached yet, held when the run ended."""

    garbage_objects: int = ruled(COUNT, 0)
    cycles: int = ruled(COUNT, 0)
    bytes_held: int = ruled(BYTES, 0)
    shapes: tuple[CycleShape, ...] = ruled(Each(Nested()), ())

    def __post_init__(self) -> None:
        shapes = tuple(nested(CycleShape, s, "waiting.shapes") for s in self.shapes)
        object.__setattr__(self, "shapes", shapes)


@dataclass(frozen=True)
class PeakMoment:
    """What held the memory at the largest traced moment of the window, sampled.

    A leak held by a function's locals is gone by the window's end; at its peak it held
    the memory. ``traced_bytes``: ``tracemalloc``'s size at the largest sample (its
    traces are kept); ``peak_bytes``: ``tracemalloc``'s own peak as the samples saw it
    (a spike between two samples makes it the larger); ``seconds``: when the sample was
    taken, from the window's start; ``lines``: the lines by bytes then, as ``top_lines``.
    All zero and empty when no sample found the traced size above one step (256 KiB).
    """

    traced_bytes: int = ruled(BYTES, 0)
    peak_bytes: int = ruled(BYTES, 0)
    seconds: float = ruled(SECONDS, 0.0)
    lines: tuple[TopLine, ...] = ruled(Each(Nested()), ())

    def __post_init__(self) -> None:
        lines = tuple(nested(TopLine, t, "peak.lines") for t in self.lines)
        object.__setattr__(self, "lines", lines)


@dataclass(frozen=True)
class ImportsApart:
    """Modules imported for the first time during the window: set-up, not growth.

    Their objects are left out of ``growth`` (made untraced, while a module was being
    imported) and their allocations out of ``top_lines``. ``modules``: entries
    ``sys.modules`` gained over those imports; ``bytes``: what the allocators held more
    after them than before (glibc's ``mallinfo2`` and pymalloc's allocated blocks,
    summed over the outermost imports; None where they cannot be read); ``seconds``:
    time spent in them.
    """

    modules: int = ruled(COUNT, 0)
    bytes: int | None = ruled(OrNone(SIGNED_BYTES), 0)
    seconds: float = ruled(SECONDS, 0.0)


@dataclass(frozen=True)
class ExplainReport:
    """What the collector found, from a rerun with ``gc.DEBUG_SAVEALL``, and what grew."""

    collections: int = ruled(COUNT)  # the collections that found garbage
    garbage_objects: int = ruled(COUNT)
    garbage_by_type: Mapping[str, int] = ruled(Table(COUNT))
    # numpy arrays' own buffers among all the garbage held (waiting too)
    array_bytes_held: int = ruled(BYTES)
    # type names along one reference cycle (the window's, else one still waiting), first last too
    example_cycle: tuple[str, ...] = ruled(Each(String()))
    # by bytes_held_at_most, largest first
    shapes: tuple[CycleShape, ...] = ruled(Each(Nested()), ())
    # All shapes together: the most one collection found, and the total freed (what
    # finalizers freed of objects that did not outlive them included).
    bytes_held_at_most: int = ruled(BYTES, 0)
    bytes_freed_total: int = ruled(BYTES, 0)
    # types whose live count grew, most bytes first
    growth: tuple[TypeGrowth, ...] = ruled(Each(Nested()), ())
    # lines by bytes still allocated at the end
    top_lines: tuple[TopLine, ...] = ruled(Each(Nested()), ())
    # found after the window
    waiting: WaitingGarbage = field(default_factory=WaitingGarbage, metadata={"rule": Nested()})
    # what held memory at the traced peak; first-time imports, apart
    peak: PeakMoment = field(default_factory=PeakMoment, metadata={"rule": Nested()})
    imports: ImportsApart = field(default_factory=ImportsApart, metadata={"rule": Nested()})

    def __post_init__(self) -> None:
        shapes = tuple(nested(CycleShape, s, "shapes") for s in self.shapes)
        growth = tuple(nested(TypeGrowth, g, "growth") for g in self.growth)
        top_lines = tuple(nested(TopLine, t, "top_lines") for t in self.top_lines)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "growth", growth)
        object.__setattr__(self, "top_lines", top_lines)
        object.__setattr__(self, "waiting", nested(WaitingGarbage, self.waiting, "waiting"))
        object.__setattr__(self, "peak", nested(PeakMoment, self.peak, "peak"))
        object.__setattr__(self, "imports", nested(ImportsApart, self.imports, "imports"))
