"""The explain document: cycle shapes, their paths, sizes and lines, and what grew.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from autograd_mem.schema.codec import nested


@dataclass(frozen=True)
class PathStep:
    """One hop of an example cycle: an object's type and the reference it leaves by.

    ``edge`` reads on from the type: ``.me`` (an attribute), ``['y']`` (a dict key),
    ``[0]`` (an index), ``.__closure__['f']`` (a closure variable), ``.f_locals['e']``
    (a frame's local); ``?`` when nothing names the reference.
    """

    type: str
    edge: str


@dataclass(frozen=True)
class SourceLine:
    """Where an object was allocated: the most recent frame of the user's code."""

    file: str
    line: int
    function: str


@dataclass(frozen=True)
class CycleShape:
    """All the garbage cycles of one shape (same types, same labelled references).

    ``path`` is one example cycle; it returns to its first step's type. ``objects``
    counts the garbage objects these cycles kept, themselves included, and
    ``bytes_held`` what freeing them freed (every buffer once); both are totals
    over the window. A shape whose ``cycles`` is 0 is garbage no cycle reached.
    """

    types: tuple[str, ...]
    path: tuple[PathStep, ...]
    cycles: int
    objects: int
    bytes_held: int
    allocated_at: SourceLine | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        # Read back from JSON, the nested parts arrive as plain mappings.
        path = tuple(nested(PathStep, step, "path") for step in self.path)
        object.__setattr__(self, "types", tuple(self.types))
        object.__setattr__(self, "path", path)
        if self.allocated_at is not None:
            object.__setattr__(
                self, "allocated_at", nested(SourceLine, self.allocated_at, "allocated_at")
            )


@dataclass(frozen=True)
class TypeGrowth:
    """Live objects of one type at the start and at the end of the window."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class ExplainReport:
    """What the collector found, from a rerun with ``gc.DEBUG_SAVEALL``, and what grew."""

    collections: int  # the collections that found garbage
    garbage_objects: int
    garbage_by_type: Mapping[str, int]
    array_bytes_held: int  # numpy arrays' own buffers among what that garbage held
    example_cycle: tuple[str, ...]  # type names along one reference cycle, first repeated last
    shapes: tuple[CycleShape, ...] = ()  # by bytes_held, largest first
    bytes_held: int = 0  # everything the garbage held, all shapes together
    growth: tuple[TypeGrowth, ...] = ()  # types whose live count grew most, largest first

    def __post_init__(self) -> None:
        shapes = tuple(nested(CycleShape, s, "shapes") for s in self.shapes)
        growth = tuple(nested(TypeGrowth, g, "growth") for g in self.growth)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "growth", growth)
