"""Cycle shapes tallied over collections: one reader of the garbage for ``--explain`` and pytest.

Each collection's garbage, while it still exists, is split into cycles
(:mod:`.cycles`), each cycle given a *shape* (its types and labelled references,
:mod:`.labels`) and the bytes it held (:mod:`.payload`); the first cycle of a new shape
also gets an example path, a hint and the line that allocated it (:mod:`.hints`). Only
counts and strings are kept, so nothing here outlives the collection. The explain pass
(:class:`~.explain.ExplainPass`) and the pytest plugin both tally through
:meth:`CycleTally.add`, each from a reader of the one garbage watcher (:mod:`.watcher`);
they differ only in how a source line is found.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.cycles import hints, payload
from autograd_mem.cycles import scc as cycles
from autograd_mem.cycles.labels import Labeller
from autograd_mem.cycles.watcher import Collection, GarbageReader
from autograd_mem.probes.sites import Site
from autograd_mem.schema.explain import CycleShape, PathStep, SourceLine

# Distinct shapes tallied one by one. A workload making cycles that all differ (a dict
# keyed by a fresh string each time) would otherwise grow the tally without bound;
# beyond this many, cycles are tallied by their types alone.
MAX_SHAPES = 500

# Longest example path kept whole. The shortest cycle through a ring of 100,000 nodes
# is the ring: its path keeps the first hops and the last, and says how many it skips.
MAX_PATH_STEPS = 10

# Where some of a cycle's objects (its example path's first) were allocated, or None.
SiteFinder = Callable[[Iterable[Any]], "tuple[Site, Site | None] | None"]

_FINALIZED_TYPES = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)


def has_finalizer(cls: type) -> bool:
    """Whether the collector runs a finalizer for instances of ``cls`` before saving them."""
    return issubclass(cls, _FINALIZED_TYPES) or getattr(cls, "__del__", None) is not None


@dataclass
class ShapeTally:
    """One shape's running totals over the pass, and its example (strings only)."""

    types: tuple[str, ...]
    path: tuple[tuple[str, str], ...]
    hint: str | None
    allocated_at: Site | None = None
    allocated_in: Site | None = None
    cycles: int = 0
    objects: int = 0
    bytes_held_at_most: int = 0  # the most one collection found of this shape
    bytes_freed_total: int = 0

    def to_result(self) -> CycleShape:
        return CycleShape(
            types=self.types,
            path=tuple(PathStep(type=t, edge=e) for t, e in self.path),
            cycles=self.cycles,
            objects=self.objects,
            bytes_held_at_most=self.bytes_held_at_most,
            bytes_freed_total=self.bytes_freed_total,
            allocated_at=source_line(self.allocated_at),
            allocated_in=source_line(self.allocated_in),
            hint=self.hint,
        )


def source_line(site: Site | None) -> SourceLine | None:
    return None if site is None else SourceLine(site.file, site.line, site.function)


@dataclass
class _Pending:
    """One collection's figures per shape, estimated, until what freeing it freed is known."""

    shapes: list[ShapeTally]
    estimates: list[int]
    native: list[int]  # bytes tracemalloc cannot see (torch storages), part of the estimates
    finalizer_objects: list[int]
    at_most_before: list[int]  # each shape's bytes_held_at_most before this collection
    document_at_most_before: int


def _external_references(graph: cycles.Graph, component_of: list[int]) -> list[int]:
    """For each object, how many references it gets from garbage outside its own component."""
    counts = [0] * len(graph)
    for source, targets in enumerate(graph):
        home = component_of[source]
        for target in targets:
            if component_of[target] != home:
                counts[target] += 1
    return counts


@dataclass
class _Collection:
    """One collection's garbage, as the graph code sees it, and how to find where it was made."""

    found: list[Any]
    graph: cycles.Graph
    ownership: cycles.Ownership
    external: list[int]
    site_of: SiteFinder | None

    def members(self, component: int) -> list[Any]:
        return [self.found[i] for i in self.ownership.components[component]]

    def held(self, component: int) -> Iterator[Any]:
        """The garbage a cycle kept alive besides itself: an engine graph's input Variable,
        made by the user's line, hangs off the cycle its output makes with its Function."""
        ownership = self.ownership
        for other, members in enumerate(ownership.components):
            if other != component and ownership.owner[other] == component:
                yield from (self.found[i] for i in members)


# Labelling a cycle (reading every reference between its members by name) is most of
# the cost of reading garbage. Cycles alike in size, member types and references are
# labelled until this many of them all had one shape; later ones of that kind take it
# unlabelled, and one in CHECK_EVERY is labelled again to check. Kinds whose labelled
# cycles ever differ (``A.x`` and ``A.y``) are labelled one by one from then on.
LABELLED_PER_KIND = 8
CHECK_EVERY = 64
_MIXED = object()


class _ShapeKeys:
    """Each cycle's shape key, labelled or, for a kind of cycle known to have one shape, not."""

    def __init__(self) -> None:
        self._kinds: dict[Any, list[Any]] = {}  # kind -> [shape key or _MIXED, cycles seen]

    def key_of(
        self, nodes: list[int], collection: _Collection, labeller: Labeller
    ) -> tuple[Any, cycles.LabelledCycle | None]:
        """The cycle's shape key, and its labelling when it was labelled."""
        found, graph = collection.found, collection.graph
        kind = (len(nodes), frozenset([type(found[n]) for n in nodes]),
                sum([len(graph[n]) for n in nodes]))
        known = self._kinds.get(kind)
        if known is not None and known[0] is not _MIXED:
            known[1] += 1
            if known[1] > LABELLED_PER_KIND and known[1] % CHECK_EVERY:
                return known[0], None
        labelled = cycles.label_cycle(nodes, found, graph, labeller)
        key = cycles.shape_key(labelled)
        if known is None:
            self._kinds[kind] = [key, 1]
        elif known[0] is not _MIXED and known[0] != key:
            known[0] = _MIXED
        return key, labelled


def shape_order(shape: CycleShape) -> tuple[int, int, int, tuple[str, ...]]:
    """Largest first: most bytes held at once, then freed in all, then most objects."""
    return (-shape.bytes_held_at_most, -shape.bytes_freed_total, -shape.objects, shape.types)


@dataclass
class CycleTally:
    """Shapes tallied over collections, with the bytes held by all the garbage read.

    Bytes are first estimated from the objects (``sys.getsizeof``, and the untracked
    objects that die with them, :mod:`.payload`); :meth:`freed` replaces one collection's
    estimates with what freeing each shape's garbage really freed, and adds what its
    finalizers freed. ``bytes_held_at_most`` is the most one collection found;
    ``bytes_freed_total`` the sum over collections.
    """

    shapes: dict[Any, ShapeTally] = field(default_factory=dict)
    array_bytes_held: int = 0
    bytes_held_at_most: int = 0
    bytes_freed_total: int = 0
    _labeller: Labeller = field(repr=False, default_factory=Labeller)
    _keys: _ShapeKeys = field(repr=False, default_factory=lambda: _ShapeKeys())
    _pending: _Pending | None = field(default=None, repr=False)
    _groups: list[list[Any]] = field(default_factory=list, repr=False)

    def take_groups(self) -> list[list[Any]]:
        """The last collection's garbage, one list per shape (in the order :meth:`freed`
        expects), handed over: the tally keeps no reference to it."""
        groups, self._groups = self._groups, []
        return groups

    def freed(self, bytes_per_group: list[int | None], finalized: int | None) -> None:
        """Replace the last collection's estimates with what freeing each group freed
        (None: keep the estimate), and share out what its finalizers freed among the
        shapes with finalizable objects, by their number."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        # Measured: what tracemalloc saw freed, and the native bytes it cannot see.
        measured = [
            estimate if freed is None else max(0, freed) + native
            for estimate, native, freed in zip(
                pending.estimates, pending.native, bytes_per_group, strict=False
            )
        ]
        # With no finalizable object among the garbage, what tracemalloc saw freed during
        # the collection is the interpreter's free lists, emptied by a full collection.
        finalizers = sum(pending.finalizer_objects)
        finalized = (finalized or 0) if finalizers else 0
        total = 0
        for i, shape in enumerate(pending.shapes):
            held = measured[i] if i < len(measured) else pending.estimates[i]
            if finalizers:
                held += finalized * pending.finalizer_objects[i] // finalizers
            shape.bytes_freed_total += held - pending.estimates[i]
            shape.bytes_held_at_most = max(pending.at_most_before[i], held)
            total += held
        self.bytes_freed_total += total - sum(pending.estimates)
        self.bytes_held_at_most = max(pending.document_at_most_before, total)

    def add(self, found: list[Any], site_of: SiteFinder | None, *, group: bool = False) -> int:
        """Tally one collection's garbage by shape; return how many cycles it held.

        ``site_of`` finds where objects were made (None: nowhere this collection).
        ``group``: keep the garbage split by shape for :meth:`take_groups`, to be freed
        shape by shape and measured (:meth:`freed`); otherwise the estimates stand.
        """
        sizer = payload.Sizer()
        references = payload.scan(found, sizer.ndarray)
        graph = references.graph
        ownership = cycles.attribute(graph)
        component_of, owner = ownership.component_of, ownership.owner
        collection = _Collection(
            found, graph, ownership, _external_references(graph, component_of), site_of
        )
        objects: dict[int, int] = {}
        held: dict[int, int] = {}
        native: dict[int, int] = {}
        for index in range(len(found)):
            holder = owner[component_of[index]]
            objects[holder] = objects.get(holder, 0) + 1
        order = [node for members in ownership.components for node in members]
        dying = payload.dying_untracked(references, order, lambda i: owner[component_of[i]])
        for obj, holder in itertools.chain(
            ((obj, owner[component_of[i]]) for i, obj in enumerate(found)), dying
        ):
            outside = sizer.native(obj)
            held[holder] = held.get(holder, 0) + sizer.size(obj) + outside
            if outside:
                native[holder] = native.get(holder, 0) + outside
        found_cycles = 0
        slot_of: dict[int, int] = {}  # a holder's shape's slot in this collection's lists
        slot_of_shape: dict[int, int] = {}
        pending = _Pending([], [], [], [], [], self.bytes_held_at_most)
        for holder, count in objects.items():
            shape = self._shape_of(collection, holder)
            found_cycles += 1 if ownership.cyclic[holder] else 0
            shape.cycles += 1 if ownership.cyclic[holder] else 0
            shape.objects += count
            slot = slot_of_shape.get(id(shape))
            if slot is None:
                slot = slot_of_shape[id(shape)] = len(pending.shapes)
                pending.shapes.append(shape)
                pending.estimates.append(0)
                pending.native.append(0)
                pending.at_most_before.append(shape.bytes_held_at_most)
            slot_of[holder] = slot
            pending.estimates[slot] += held[holder]
            pending.native[slot] += native.get(holder, 0)
        if group:
            self._group(collection, slot_of, pending)
        for shape, estimate in zip(pending.shapes, pending.estimates, strict=True):
            shape.bytes_freed_total += estimate
            shape.bytes_held_at_most = max(shape.bytes_held_at_most, estimate)
        self.array_bytes_held += sizer.array_bytes
        self.bytes_freed_total += sum(pending.estimates)
        self.bytes_held_at_most = max(self.bytes_held_at_most, sum(pending.estimates))
        self._pending = pending
        return found_cycles

    def _group(self, collection: _Collection, slot_of: dict[int, int], pending: _Pending) -> None:
        """The garbage in one list per shape, and each shape's finalizable objects counted."""
        groups: list[list[Any]] = [[] for _ in pending.shapes]
        finalizers = [0] * len(pending.shapes)
        finalizable: dict[type, bool] = {}
        ownership = collection.ownership
        owner, component_of = ownership.owner, ownership.component_of
        for index, obj in enumerate(collection.found):
            slot = slot_of[owner[component_of[index]]]
            groups[slot].append(obj)
            cls = type(obj)
            known = finalizable.get(cls)
            if known is None:
                known = finalizable[cls] = has_finalizer(cls)
            if known:
                finalizers[slot] += 1
        pending.finalizer_objects = finalizers
        self._groups = groups

    def results(self) -> list[CycleShape]:
        """Every shape as a result, largest first."""
        return sorted((s.to_result() for s in self.shapes.values()), key=shape_order)

    def _shape_of(self, collection: _Collection, component: int) -> ShapeTally:
        """The tally of a component's shape, made (with its example) the first time it is seen;
        a shape still without a site takes it from this cycle when it can be found."""
        ownership = collection.ownership
        nodes = ownership.components[component]
        if not ownership.cyclic[component]:
            key: Any = ("not on a cycle", cycles.type_key(collection.found[nodes[0]]))
            labelled = None
        else:
            key, labelled = self._keys.key_of(nodes, collection, self._labeller)
            if key not in self.shapes and len(self.shapes) >= MAX_SHAPES:
                if labelled is None:
                    labelled = cycles.label_cycle(
                        nodes, collection.found, collection.graph, self._labeller
                    )
                key = ("more shapes", cycles.cycle_types(labelled))
                labelled = None
        shape = self.shapes.get(key)
        if shape is not None and shape.allocated_at is not None:
            return shape
        members = collection.members(component)
        if shape is None:
            if labelled is None and ownership.cyclic[component] and key[0] != "more shapes":
                labelled = cycles.label_cycle(
                    nodes, collection.found, collection.graph, self._labeller
                )
            path = [] if labelled is None else cycles.example_path(
                labelled, [collection.external[i] for i in nodes]
            )
            shape = self.shapes[key] = _new_shape(members, labelled, path)
            # The path's objects first: the site of the object the path starts from.
            members = [*(obj for obj, _ in path), *members]
        if collection.site_of is not None:
            found = collection.site_of(_chain(members, collection.held(component)))
            if found is not None:
                shape.allocated_at, shape.allocated_in = found
        return shape


def _chain(first: list[Any], then: Iterator[Any]) -> Iterator[Any]:
    yield from first
    yield from then


def _new_shape(
    members: list[Any], labelled: cycles.LabelledCycle | None, path: list[tuple[Any, str]]
) -> ShapeTally:
    """A shape's example, read from its first cycle: its path and hint."""
    if labelled is None:
        names = tuple(sorted({cycles.type_name(obj) for obj in members}))
        return ShapeTally(names, (), None)
    steps = [(cycles.type_name(obj), label) for obj, label in path]
    if len(steps) > MAX_PATH_STEPS:
        skipped = len(steps) - (MAX_PATH_STEPS - 1)
        steps = [*steps[: MAX_PATH_STEPS - 2], ("…", f"{skipped:,} more steps"), steps[-1]]
    return ShapeTally(
        types=cycles.cycle_types(labelled),
        path=tuple(steps),
        hint=hints.hint_for(path),
    )


class ShapeReader(GarbageReader):
    """A garbage reader (:mod:`.watcher`) tallying each collection by shape into ``tally``,
    its garbage freed shape by shape, so that each shape's bytes are what freeing it freed
    (``tracemalloc``'s figure, when it traces; the estimate otherwise).

    The pytest plugin and ``--explain`` both read through this: ``site_of`` says how a
    source line is found (:func:`.hints.allocation_site`, or :func:`.hints.first_site`
    for one-frame tracebacks); ``paused`` wraps the reading (``Tracing.paused``, so
    agmem's own allocations are not traced). After the block: ``cycles`` found, and
    ``tally.results()``.
    """

    def __init__(
        self,
        tally: CycleTally,
        site_of: SiteFinder | None,
        paused: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self.tally = tally
        self.site_of = site_of
        self.paused = paused
        self.cycles = 0
        self._finalized: int | None = None

    def read(self, collection: Collection) -> list[list[Any]]:
        self._finalized = collection.finalized_bytes
        if not collection.garbage:
            # Finalizers may have freed all this collection found, but a full collection
            # also empties the interpreter's free lists: with no finalizable object to
            # show for them, the bytes cannot be told apart, and are not claimed.
            return []
        with self.paused():
            self.count(collection.garbage)
            self.cycles += self.tally.add(collection.garbage, self.site_of, group=True)
            return self.tally.take_groups()

    def count(self, found: list[Any]) -> None:
        """A subclass's own count of each collection's garbage (nothing here)."""

    def freed(self, bytes_per_group: list[int | None]) -> None:
        self.tally.freed(bytes_per_group, self._finalized)
