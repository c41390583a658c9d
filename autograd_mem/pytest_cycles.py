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
  that no other cycle claimed first, plus of what those objects alone refer to outside
  the collector's view (each once): a numpy array that owns its buffer counts it (numpy's
  ``__sizeof__`` adds its ``nbytes``), as do ``bytes``, ``bytearray`` and ``array``. A
  referent something else also refers to is not counted: freeing the cycle leaves it.
- Where made: ``tracemalloc.get_object_traceback`` of one of the cycle's objects (or of
  what it held), its most recent frame outside agmem's own package (the engine's
  constructors are not where a user made a graph); ``None`` when tracemalloc traced none.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import operator
import os
import sys
import tracemalloc
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
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
    index = dict(zip(map(id, garbage), range(len(garbage)), strict=True))
    graph = reference_graph(garbage, index)
    cycles = [c for c in strongly_connected(graph) if is_cycle(c, graph)]
    payload = _Payload(garbage, index)
    tally: dict[tuple[str, ...], list[Any]] = {}
    for component, owned in zip(cycles, _owned(cycles, graph), strict=True):
        start = min(component, key=lambda i: (_is_builtin(garbage[i]), _type_name(garbage[i])))
        types = tuple(_type_name(garbage[i]) for i in cycle_through(start, component, graph))
        counts = tally.get(types)
        if counts is None:
            # Asked once per shape: a traceback lookup per cycle would cost more than the rest.
            site = allocated_at(_near(start, component, owned, garbage))
            counts = tally[types] = [0, 0, 0, site]
        counts[0] += 1
        counts[1] += len(owned)
        counts[2] += payload.bytes_of(owned)
    return [
        ShapeSummary(types, cycles_, objects, bytes_held, site)
        for types, (cycles_, objects, bytes_held, site) in tally.items()
    ]


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
        order[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        # One iterator per node, not a (node, position) tuple per edge: fewer allocations,
        # each of which tracemalloc traces while a test is measured.
        work = [(root, iter(graph[root]))]
        while work:
            node, successors = work[-1]
            for successor in successors:
                if order[successor] < 0:
                    order[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack[successor] = True
                    work.append((successor, iter(graph[successor])))
                    break
                if on_stack[successor] and order[successor] < low[node]:
                    low[node] = order[successor]
            else:
                work.pop()
                if work and low[node] < low[work[-1][0]]:
                    low[work[-1][0]] = low[node]
                if low[node] == order[node]:
                    components.append(_pop_component(stack, on_stack, node))
    return components


def _pop_component(stack: list[int], on_stack: list[bool], root: int) -> list[int]:
    component = []
    while True:
        member = stack.pop()
        on_stack[member] = False
        component.append(member)
        if member == root:
            return component


def reference_graph(garbage: Sequence[Any], index: dict[int, int]) -> Graph:
    """For each garbage object, the positions (in ``garbage``) of the garbage it refers to."""
    find = index.get
    return [
        [p for p in map(find, map(id, gc.get_referents(obj))) if p is not None]
        for obj in garbage
    ]


def is_cycle(component: list[int], graph: Graph) -> bool:
    """Two or more objects, or one that refers to itself."""
    return len(component) > 1 or component[0] in graph[component[0]]


def cycle_through(start: int, component: list[int], graph: Graph) -> list[int]:
    """A shortest path from ``start`` back to itself inside its component, start repeated."""
    members = set(component)
    came_from: dict[int, int] = {}
    queue = collections.deque([start])
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


def _owned(cycles: list[list[int]], graph: Graph) -> list[list[int]]:
    """The garbage each cycle is counted with: its own objects, then the garbage it reaches
    that no other cycle claimed first, so that each object is counted once."""
    owner = [-1] * len(graph)
    for number, component in enumerate(cycles):
        for member in component:
            owner[member] = number
    owned: list[list[int]] = [list(component) for component in cycles]
    for number, component in enumerate(cycles):
        pending = list(component)
        while pending:
            for successor in graph[pending.pop()]:
                if owner[successor] == -1:
                    owner[successor] = number
                    owned[number].append(successor)
                    pending.append(successor)
    return owned


def _near(
    start: int, component: list[int], owned: list[int], garbage: Sequence[Any]
) -> Iterator[Any]:
    """The cycle's objects, its first object first, then what it held, then their referents."""
    yield garbage[start]
    yield from (garbage[i] for i in component if i != start)
    yield from (garbage[i] for i in owned[len(component) :])
    for i in component:
        yield from gc.get_referents(garbage[i])


# --- names and sizes -----------------------------------------------------------------


def _type_name(obj: Any) -> str:
    return type(obj).__name__


def _is_builtin(obj: Any) -> bool:
    return type(obj).__module__ == "builtins"


class _Payload:
    """Bytes held by some garbage objects: their own sizes and what they alone refer to."""

    def __init__(self, garbage: Sequence[Any], index: dict[int, int]) -> None:
        self._garbage = garbage
        self._index = index
        self._counted: set[int] = set()  # objects outside the garbage already counted
        # How many references the garbage holds to each object outside it.
        self._references = collections.Counter(
            key for key in map(id, gc.get_referents(*garbage)) if key not in index
        )

    def bytes_of(self, positions: Iterable[int]) -> int:
        total = 0
        index, counted, references = self._index, self._counted, self._references
        for position in positions:
            obj = self._garbage[position]
            total += sys.getsizeof(obj)
            referents = gc.get_referents(obj)
            # By index, never bound to a name: a binding would be one more reference.
            for at in range(len(referents)):
                key = id(referents[at])
                if key in index or key in counted:
                    continue
                if sys.getrefcount(referents[at]) - _LIST_AND_CALL <= references[key]:
                    # Only the garbage holds it: freeing the cycle frees it too.
                    counted.add(key)
                    total += self._outside_bytes(referents[at])
        return total

    def _outside_bytes(self, referent: Any) -> int:
        # sys.getsizeof counts the buffer of what owns one: a numpy array that owns its
        # data (numpy's __sizeof__ adds its nbytes), bytes, bytearray, array.array. A
        # view counts its header only: its buffer is its owner's, counted when the garbage
        # holds the owner itself (a view of an array that lives on frees nothing more).
        return sys.getsizeof(referent)


def _references_from_a_list_and_a_call() -> int:
    """What ``sys.getrefcount(items[at])`` counts beyond other holders, for an object only
    the list ``items`` holds: ``bytes_of`` reads counts the same way. Interpreters differ
    in whether the call's argument holds a reference of its own, so it is measured."""
    referents = [object()]
    at = 0
    return sys.getrefcount(referents[at])


_LIST_AND_CALL = _references_from_a_list_and_a_call()


def allocated_at(candidates: Iterable[Any]) -> SourceLine | None:
    """Where the first of ``candidates`` that tracemalloc traced was allocated, preferring
    one made outside agmem's package (an engine Variable is made inside the engine; the
    graph's input, by the user's line). Several candidates, because not every object has a
    traceback: one reused from a free list was allocated before tracing, and 3.11 cannot
    find an instance with a managed ``__dict__`` (fixed in 3.12)."""
    inside_agmem = None
    for tried, candidate in enumerate(candidates):
        if tried == _ALLOCATION_TRIES:
            break
        traceback = tracemalloc.get_object_traceback(candidate)
        if not traceback:
            continue
        # A Traceback lists its frames oldest first.
        for frame in reversed(traceback):
            if not frame.filename.startswith(_AGMEM_DIR):
                return SourceLine(frame.filename, frame.lineno)
        if inside_agmem is None:
            inside_agmem = SourceLine(traceback[-1].filename, traceback[-1].lineno)
    return inside_agmem


def defuse(garbage: Sequence[Any]) -> list[Any]:
    """Break the garbage's cycles so reference counting frees it; return what still survives.

    Lists, dicts, sets and cells are emptied, frames cleared, instances' slots and
    ``__dict__`` emptied. Every cycle that is left runs through objects this could not
    empty (tuples, functions, types, C extensions' objects): those on such a cycle are
    returned, for the caller to keep until it may collect them without counting them twice.

    Class by class, through ``map``: a Python loop over the objects cost seven times what
    the collector spends freeing them (400,000 of an engine chain's objects: 3 s against
    0.4 s, both under tracemalloc).
    """
    kinds = list(map(type, garbage))
    unemptied: list[Any] = []
    for cls in dict.fromkeys(kinds):
        members = list(itertools.compress(garbage, map(operator.is_, kinds, itertools.repeat(cls))))
        if not _empty_all(cls, members):
            unemptied += members
    ids = set(map(id, unemptied))
    # The usual case, checked at C speed: what is left (a graph's tuples pointing at its
    # emptied Variables) refers to nothing else that is left, so no cycle remains.
    if not any(map(ids.__contains__, map(id, gc.get_referents(*unemptied)))):
        return []
    index = dict(zip(map(id, unemptied), range(len(unemptied)), strict=True))
    graph = reference_graph(unemptied, index)
    return [
        unemptied[member]
        for component in strongly_connected(graph)
        if is_cycle(component, graph)
        for member in component
    ]


def _clear_cell(cell: types.CellType) -> None:
    with contextlib.suppress(ValueError):  # an empty cell
        del cell.cell_contents


# The builtin containers Python can empty, and how.
_EMPTIERS: dict[type, Callable[[Any], Any]] = {
    list: list.clear,
    dict: dict.clear,
    set: set.clear,
    types.CellType: _clear_cell,
}
_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python


def _empty_all(cls: type, members: list[Any]) -> bool:
    """Empty every object of class ``cls``; False when some may still hold references."""
    if cls is types.FrameType:
        return all(map(_cleared_frame, members))
    emptier = _EMPTIERS.get(cls)
    if emptier is not None:
        collections.deque(map(emptier, members), maxlen=0)
        return True
    if cls.__module__ == "builtins":
        return False  # a tuple, a function, a type...: Python cannot empty them
    try:
        _empty_instances(cls, members)
    except Exception:  # a slot or __dict__ that does not behave as Python's own
        return False
    # A class written in C somewhere in its MRO may hold references no slot shows.
    return not any(b is not object and not b.__flags__ & _HEAP_TYPE for b in cls.__mro__)


def _empty_instances(cls: type, members: list[Any]) -> None:
    for base in cls.__mro__:
        slots = getattr(base, "__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            member = base.__dict__.get(name)
            if isinstance(member, types.MemberDescriptorType):
                # The slot's own descriptor, so a class's __setattr__ cannot refuse it.
                collections.deque(
                    map(member.__set__, members, itertools.repeat(None)), maxlen=0
                )
    if cls.__dictoffset__:
        collections.deque(map(dict.clear, map(vars, members)), maxlen=0)
    for base, emptier in _EMPTIERS.items():
        if issubclass(cls, base):  # a subclass of list, dict or set
            collections.deque(map(emptier, members), maxlen=0)


def _cleared_frame(frame: types.FrameType) -> bool:
    try:
        frame.clear()
    except RuntimeError:  # a frame still executing keeps its locals
        return False
    return True
