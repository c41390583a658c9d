"""Cycle shapes tallied over collections: one reader of the garbage for ``--explain`` and pytest.

Each collection's garbage, while it still exists, is split into cycles
(:mod:`.cycles`), each cycle given a *shape* (its types and labelled references,
:mod:`.labels`) and the bytes it held (:mod:`.payload`); the first cycle of a new shape
also gets an example path, a hint and the line that allocated it (:mod:`.hints`). Only
counts and strings are kept, so nothing here outlives the collection. The explain pass
(:class:`~.explain.GarbageTally`) and the pytest plugin (``pytest_probe``) both tally
through :meth:`CycleTally.add`; they differ only in how a source line is found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.cycles import hints, payload
from autograd_mem.cycles import scc as cycles
from autograd_mem.cycles.labels import Labeller
from autograd_mem.schema.explain import CycleShape, PathStep, SourceLine

# Distinct shapes tallied one by one. A workload making cycles that all differ (a dict
# keyed by a fresh string each time) would otherwise grow the tally without bound;
# beyond this many, cycles are tallied by their types alone.
MAX_SHAPES = 500

# Longest example path kept whole. The shortest cycle through a ring of 100,000 nodes
# is the ring: its path keeps the first hops and the last, and says how many it skips.
MAX_PATH_STEPS = 10

# Where some of a cycle's objects (its example path's first) were allocated, or None.
SiteFinder = Callable[[Iterable[Any]], "tuple[str, int, str] | None"]


@dataclass
class ShapeTally:
    """One shape's running totals over the pass, and its example (strings only)."""

    types: tuple[str, ...]
    path: tuple[tuple[str, str], ...]
    hint: str | None
    type_ids: frozenset[int]  # the member types' ids, for sampling tracebacks while unsited
    allocated_at: tuple[str, int, str] | None = None
    cycles: int = 0
    objects: int = 0
    bytes_held: int = 0

    def to_result(self) -> CycleShape:
        return CycleShape(
            types=self.types,
            path=tuple(PathStep(type=t, edge=e) for t, e in self.path),
            cycles=self.cycles,
            objects=self.objects,
            bytes_held=self.bytes_held,
            allocated_at=None if self.allocated_at is None else SourceLine(*self.allocated_at),
            hint=self.hint,
        )


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


def shape_order(shape: CycleShape) -> tuple[int, int, tuple[str, ...]]:
    """Largest first: most bytes held, then most objects."""
    return (-shape.bytes_held, -shape.objects, shape.types)


@dataclass
class CycleTally:
    """Shapes tallied over collections, with the bytes held by all the garbage read."""

    shapes: dict[Any, ShapeTally] = field(default_factory=dict)
    array_bytes_held: int = 0
    bytes_held: int = 0
    _labeller: Labeller = field(repr=False, default_factory=Labeller)

    def add(self, found: list[Any], site_of: SiteFinder | None) -> int:
        """Tally one collection's garbage by shape; return how many cycles it held.

        ``site_of`` finds where objects were made (None: nowhere this collection).
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
        for index, obj in enumerate(found):
            holder = owner[component_of[index]]
            objects[holder] = objects.get(holder, 0) + 1
            held[holder] = held.get(holder, 0) + sizer.size(obj)
        order = [node for members in ownership.components for node in members]
        for obj, holder in payload.dying_untracked(
            references, order, lambda i: owner[component_of[i]]
        ):
            held[holder] += sizer.size(obj)
        found_cycles = 0
        for holder, count in objects.items():
            shape = self._shape_of(collection, holder)
            found_cycles += 1 if ownership.cyclic[holder] else 0
            shape.cycles += 1 if ownership.cyclic[holder] else 0
            shape.objects += count
            shape.bytes_held += held[holder]
        self.array_bytes_held += sizer.array_bytes
        self.bytes_held += sum(held.values())
        return found_cycles

    def unsited_type_ids(self) -> set[int]:
        """Ids of the types the shapes still without a source line are made of."""
        return {
            key for shape in self.shapes.values() if shape.allocated_at is None
            for key in shape.type_ids
        }

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
            labelled = cycles.label_cycle(nodes, collection.found, collection.graph, self._labeller)
            key = cycles.shape_key(labelled)
            if key not in self.shapes and len(self.shapes) >= MAX_SHAPES:
                key = ("more shapes", cycles.cycle_types(labelled))
                labelled = None
        shape = self.shapes.get(key)
        members = collection.members(component)
        if shape is None:
            path = [] if labelled is None else cycles.example_path(
                labelled, [collection.external[i] for i in nodes]
            )
            shape = self.shapes[key] = _new_shape(members, labelled, path)
            # The path's objects first: the site of the object the path starts from.
            members = [*(obj for obj, _ in path), *members]
        elif shape.allocated_at is not None:
            return shape
        if collection.site_of is not None:
            shape.allocated_at = collection.site_of(_chain(members, collection.held(component)))
        return shape


def _chain(first: list[Any], then: Iterator[Any]) -> Iterator[Any]:
    yield from first
    yield from then


def _new_shape(
    members: list[Any], labelled: cycles.LabelledCycle | None, path: list[tuple[Any, str]]
) -> ShapeTally:
    """A shape's example, read from its first cycle: its path and hint."""
    type_ids = frozenset(id(type(obj)) for obj in members)
    if labelled is None:
        names = tuple(sorted({cycles.type_name(obj) for obj in members}))
        return ShapeTally(names, (), None, type_ids)
    steps = [(cycles.type_name(obj), label) for obj, label in path]
    if len(steps) > MAX_PATH_STEPS:
        skipped = len(steps) - (MAX_PATH_STEPS - 1)
        steps = [*steps[: MAX_PATH_STEPS - 2], ("…", f"{skipped:,} more steps"), steps[-1]]
    return ShapeTally(
        types=cycles.cycle_types(labelled),
        path=tuple(steps),
        hint=hints.hint_for(path),
        type_ids=type_ids,
    )
