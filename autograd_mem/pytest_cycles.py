"""Cycles among the garbage a test body left: how many, their shapes, bytes held, where made.

The pytest plugin hands this module each collection's garbage (saved by
``gc.DEBUG_SAVEALL``) while the objects still exist, and keeps only the small
``ShapeSummary`` records it returns, so nothing here outlives the collection.

``cycle_shapes`` is the one seam the explain forensics (``autograd_mem.probes``:
labelled edge paths, ownership, hints) replace: it is a plain honest version until they
are wired in. What it does:

- A cycle is a strongly connected component of the reference graph among the garbage
  (``gc.get_referents``, which is the collector's own ``tp_traverse``) with two or more
  objects, or one object that refers to itself.
- A cycle's shape is the type names along one real cycle through it: a shortest path from
  one of its objects back to itself, starting at an object of a non-builtin type when
  there is one (``Leaky → dict → Leaky``, not ``dict → Leaky → dict``).
- Bytes held: ``sys.getsizeof`` of the cycle's objects and of the garbage hanging off it
  that no other cycle claimed first, plus what those objects alone refer to outside the
  collector's view: numpy buffers by their owning array's ``nbytes`` (each buffer once),
  ``bytes``/``bytearray``/``array`` by ``getsizeof``. A referent something else also
  refers to is not counted, since freeing the cycle does not free it.
- Where made: ``tracemalloc.get_object_traceback`` of the shape's first object, its most
  recent frame outside agmem's own package (the engine's constructors are not where a
  user made a graph); ``None`` when tracemalloc did not trace that allocation.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tracemalloc
import types
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

# agmem's own files: a frame in them is not where a user's code made an object.
_AGMEM_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

Graph = list[list[int]]

# How many of a cycle's objects to ask tracemalloc about before giving up on a source line.
_ALLOCATION_TRIES = 32


@dataclass(frozen=True)
class SourceLine:
    """Where an object was allocated (``tracemalloc`` keeps the file and line)."""

    file: str
    line: int


@dataclass(frozen=True)
class ShapeSummary:
    """All the cycles of one shape that a test body left to the collector.

    ``types`` are the type names along one example cycle, the first repeated last.
    ``objects`` counts the garbage objects these cycles held (themselves included) and
    ``bytes_held`` what freeing them freed; both are totals over the test body.
    """

    types: tuple[str, ...]
    cycles: int
    objects: int
    bytes_held: int
    allocated_at: SourceLine | None = None

    @property
    def path(self) -> str:
        return " → ".join(self.types)


def largest_shape(shapes: Iterable[ShapeSummary]) -> ShapeSummary | None:
    """The shape that held the most bytes (then the most cycles); ``None`` without shapes."""
    return min(shapes, key=_rank, default=None)


def _rank(shape: ShapeSummary) -> tuple[int, int, tuple[str, ...]]:
    return (-shape.bytes_held, -shape.cycles, shape.types)


def merge_shapes(
    tally: dict[tuple[str, ...], ShapeSummary], shapes: Iterable[ShapeSummary]
) -> None:
    """Add one collection's shapes to a body's tally, shape by shape (keyed by types)."""
    for shape in shapes:
        known = tally.get(shape.types)
        tally[shape.types] = shape if known is None else replace(
            known,
            cycles=known.cycles + shape.cycles,
            objects=known.objects + shape.objects,
            bytes_held=known.bytes_held + shape.bytes_held,
            allocated_at=known.allocated_at or shape.allocated_at,
        )


def sorted_shapes(shapes: Iterable[ShapeSummary]) -> tuple[ShapeSummary, ...]:
    """Largest first, as ``largest_shape`` ranks them."""
    return tuple(sorted(shapes, key=_rank))


# --- the seam ------------------------------------------------------------------------


def cycle_shapes(garbage: Sequence[Any]) -> list[ShapeSummary]:
    """SEAM (explain forensics): the cycles among one collection's garbage, grouped by shape.

    Called by the pytest plugin with the objects one collection found, before they are
    freed. The explain work in ``autograd_mem.probes`` replaces this body with its own
    shapes (labelled edges, ownership, hints); the plugin only needs this signature.
    """
    index = {id(obj): position for position, obj in enumerate(garbage)}
    graph = [
        [index[id(referent)] for referent in gc.get_referents(obj) if id(referent) in index]
        for obj in garbage
    ]
    cycles = [c for c in strongly_connected(graph) if is_cycle(c, graph)]
    owner = _claim(cycles, graph)
    payload = _Payload(garbage, graph, index)
    tally: dict[tuple[str, ...], ShapeSummary] = {}
    for number, component in enumerate(cycles):
        start = min(component, key=lambda i: (_is_builtin(garbage[i]), _type_name(garbage[i])))
        owned = [i for i, claimed_by in enumerate(owner) if claimed_by == number]
        shape = ShapeSummary(
            types=tuple(_type_name(garbage[i]) for i in cycle_through(start, component, graph)),
            cycles=1,
            objects=len(owned),
            bytes_held=payload.bytes_of(owned),
            allocated_at=allocated_at(_near(start, component, owned, garbage)),
        )
        merge_shapes(tally, [shape])
    return list(tally.values())


# --- the graph -----------------------------------------------------------------------


def strongly_connected(graph: Graph) -> list[list[int]]:
    """Tarjan's strongly connected components, iteratively (a long chain would overflow the
    stack under recursion); a component comes after every component it refers to."""
    order = [-1] * len(graph)
    low = [0] * len(graph)
    on_stack = [False] * len(graph)
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(len(graph)):
        if order[root] >= 0:
            continue
        work = [(root, 0)]
        order[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, position = work[-1]
            if position < len(graph[node]):
                work[-1] = (node, position + 1)
                successor = graph[node][position]
                if order[successor] < 0:
                    order[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack[successor] = True
                    work.append((successor, 0))
                elif on_stack[successor]:
                    low[node] = min(low[node], order[successor])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def is_cycle(component: list[int], graph: Graph) -> bool:
    """Two or more objects, or one that refers to itself."""
    return len(component) > 1 or component[0] in graph[component[0]]


def cycle_through(start: int, component: list[int], graph: Graph) -> list[int]:
    """A shortest path from ``start`` back to itself inside its component, start repeated."""
    members = set(component)
    came_from: dict[int, int] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in graph[node]:
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if successor in members and successor not in came_from:
                came_from[successor] = node
                queue.append(successor)
    raise AssertionError("a strongly connected component always leads back to its start")


def _claim(cycles: list[list[int]], graph: Graph) -> list[int]:
    """Which cycle (by position in ``cycles``) each garbage object is counted with; -1 none.

    Each cycle claims its own objects first; then, cycles that others refer to first,
    each claims the unclaimed garbage it reaches, so an object is counted once.
    """
    owner = [-1] * len(graph)
    for number, component in enumerate(cycles):
        for member in component:
            owner[member] = number
    for number, component in enumerate(cycles):
        pending = list(component)
        while pending:
            for successor in graph[pending.pop()]:
                if owner[successor] == -1:
                    owner[successor] = number
                    pending.append(successor)
    return owner


def _near(
    start: int, component: list[int], owned: list[int], garbage: Sequence[Any]
) -> Iterator[Any]:
    """The cycle's objects, its first object first, then what it held, then their referents."""
    yield garbage[start]
    yield from (garbage[i] for i in component if i != start)
    members = set(component)
    yield from (garbage[i] for i in owned if i not in members)
    for i in component:
        yield from gc.get_referents(garbage[i])


# --- names and sizes -----------------------------------------------------------------


def _type_name(obj: Any) -> str:
    return type(obj).__name__


def _is_builtin(obj: Any) -> bool:
    return type(obj).__module__ == "builtins"


class _Payload:
    """Bytes held by some garbage objects: their own sizes and what they alone refer to."""

    def __init__(self, garbage: Sequence[Any], graph: Graph, index: dict[int, int]) -> None:
        self._garbage = garbage
        self._index = index
        numpy = sys.modules.get("numpy")  # never imported here: only if the tests use it
        self._ndarray = getattr(numpy, "ndarray", None)
        self._counted: set[int] = set()  # objects outside the garbage already counted
        # How many references the garbage holds to each object outside it.
        self._references = Counter(
            id(referent)
            for obj in garbage
            for referent in gc.get_referents(obj)
            if id(referent) not in index
        )

    def bytes_of(self, positions: Iterable[int]) -> int:
        total = 0
        for position in positions:
            obj = self._garbage[position]
            total += sys.getsizeof(obj)
            referents = gc.get_referents(obj)
            # By index, never bound to a name: a binding would be one more reference.
            for at in range(len(referents)):
                key = id(referents[at])
                if key in self._index or key in self._counted:
                    continue
                if _refcount_in(referents, at) <= self._references[key]:
                    # Only the garbage holds it: freeing the cycle frees it too.
                    self._counted.add(key)
                    total += self._outside_bytes(referents[at])
        return total

    def _outside_bytes(self, referent: Any) -> int:
        size = sys.getsizeof(referent)
        if (
            self._ndarray is not None
            and isinstance(referent, self._ndarray)
            and referent.base is None
        ):
            # An array that owns its buffer. A view's buffer is its owner's, counted when
            # the garbage holds the owner itself: a view of an array that lives on frees
            # nothing but itself.
            size += referent.nbytes
        return size


def _refcount_in(items: list[Any], position: int) -> int:
    """References to ``items[position]`` beyond the list's own and this call's."""
    return sys.getrefcount(items[position]) - _LIST_AND_CALL


# Calibrated on an object only the list holds, through the same function: interpreters
# differ in whether a call's argument holds a reference of its own.
_LIST_AND_CALL = 0
_LIST_AND_CALL = _refcount_in([object()], 0)


def allocated_at(candidates: Iterable[Any]) -> SourceLine | None:
    """Where the first of ``candidates`` that tracemalloc traced was allocated: its most
    recent frame outside agmem's package. Several candidates, because not every object has
    a traceback: one reused from a free list was allocated before tracing, and 3.11 cannot
    find an instance with a managed ``__dict__`` (fixed in 3.12)."""
    for tried, candidate in enumerate(candidates):
        if tried == _ALLOCATION_TRIES:
            break
        traceback = tracemalloc.get_object_traceback(candidate)
        if traceback is None or len(traceback) == 0:
            continue
        # A Traceback lists its frames oldest first.
        for frame in reversed(traceback):
            if not frame.filename.startswith(_AGMEM_DIR):
                return SourceLine(frame.filename, frame.lineno)
        return SourceLine(traceback[-1].filename, traceback[-1].lineno)
    return None


def defuse(garbage: Sequence[Any]) -> list[Any]:
    """Break the garbage's cycles so reference counting frees it; return what still survives.

    Lists, dicts, sets and cells are emptied, frames cleared, instances' attributes
    deleted. Objects that still refer to garbage afterwards (a cycle through types this
    cannot empty) are returned: the caller keeps them until it may collect them without
    counting them a second time.
    """
    for obj in garbage:
        _empty(obj)
    ids = {id(obj) for obj in garbage}
    return [obj for obj in garbage if any(id(r) in ids for r in gc.get_referents(obj))]


def _empty(obj: Any) -> None:
    if isinstance(obj, list):
        del obj[:]
    elif isinstance(obj, (dict, set)):
        obj.clear()
    elif isinstance(obj, types.CellType):
        with contextlib.suppress(ValueError):  # an empty cell
            del obj.cell_contents
    elif isinstance(obj, types.FrameType):
        with contextlib.suppress(RuntimeError):  # a frame still executing
            obj.clear()
    elif not _is_builtin(obj):
        _empty_instance(obj)


def _empty_instance(obj: Any) -> None:
    for klass in type(obj).__mro__:
        for name in getattr(klass, "__slots__", ()):
            if name not in ("__dict__", "__weakref__"):
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(obj, name)
    instance_dict = getattr(obj, "__dict__", None)
    if isinstance(instance_dict, dict):
        instance_dict.clear()
