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

import contextlib
import gc
import sys
import types
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.probes import cycles, growth, hints, payload
from autograd_mem.probes.labels import Labeller, TypeCache
from autograd_mem.result import (
    CycleShape,
    ExplainReport,
    PathStep,
    SourceLine,
    TypeGrowth,
)

# Distinct shapes tallied one by one. A workload making cycles that all differ (a dict
# keyed by a fresh string each time) would otherwise grow the tally without bound;
# beyond this many, cycles are tallied by their types alone.
MAX_SHAPES = 500

# Longest example path kept whole. The shortest cycle through a ring of 100,000 nodes
# is the ring: its path keeps the first hops and the last, and says how many it skips.
MAX_PATH_STEPS = 10


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


_Emptier = tuple[str, tuple[str, ...], bool]


def _emptier(cls: type) -> _Emptier:
    """How to empty an instance of ``cls``: its kind, its slots, whether it has a ``__dict__``."""
    for kind, bases in _KINDS:
        if issubclass(cls, bases):
            return kind, (), False
    slots: tuple[str, ...] = ()
    if cls.__module__ != "builtins":
        slots = tuple(
            name
            for klass in cls.__mro__
            for name in getattr(klass, "__slots__", ())
            if name not in ("__dict__", "__weakref__")
        )
    kind = "exception" if issubclass(cls, BaseException) else "object"
    return kind, slots, cls.__dictoffset__ != 0


_KINDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("list", list),
    ("clear", (dict, set)),
    ("cell", types.CellType),
    ("frame", types.FrameType),
    ("traceback", types.TracebackType),
    ("none", (tuple, frozenset, str, bytes, type)),
)


def _defuse(obj: Any, plan: _Emptier) -> None:
    """Empty a garbage container or instance so it no longer keeps anything (or a cycle) alive.

    ``plan`` is what :func:`_emptier` found for its type, worked out once per type: a
    collection of 10,000 Variables asks the class about its slots once, not 10,000 times.
    """
    kind, slots, has_dict = plan
    if kind == "list":
        del obj[:]
    elif kind == "clear":
        obj.clear()
    elif kind == "cell":
        with contextlib.suppress(ValueError):
            del obj.cell_contents
    elif kind == "frame":
        with contextlib.suppress(RuntimeError):
            obj.clear()
    elif kind == "traceback":
        obj.tb_next = None
    elif kind != "none":
        _empty_instance(obj, kind, slots, has_dict)


def _empty_instance(obj: Any, kind: str, slots: tuple[str, ...], has_dict: bool) -> None:
    if kind == "exception":
        obj.__traceback__ = obj.__context__ = obj.__cause__ = None
    for name in slots:
        with contextlib.suppress(AttributeError, TypeError):
            delattr(obj, name)
    if has_dict:
        try:
            instance_dict = object.__getattribute__(obj, "__dict__")
        except (AttributeError, TypeError):
            return
        if isinstance(instance_dict, dict):
            instance_dict.clear()


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
    """One collection's garbage, as the graph code sees it, and the tracebacks sampled from it."""

    found: list[Any]
    graph: cycles.Graph
    ownership: cycles.Ownership
    external: list[int]
    traced: dict[int, hints.Frames]

    def members(self, component: int) -> list[Any]:
        return [self.found[i] for i in self.ownership.components[component]]


@dataclass
class GarbageTally:
    """Context manager for the explain pass: ``DEBUG_SAVEALL``, ``tracemalloc`` and a tally of
    each collection's garbage, by type and by cycle shape, plus the growth of live types."""

    collections: int = 0
    garbage_objects: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    array_bytes_held: int = 0
    bytes_held: int = 0
    shapes: dict[Any, ShapeTally] = field(default_factory=dict)
    growth: list[tuple[str, int, int]] = field(default_factory=list)
    _labeller: Labeller = field(repr=False, default_factory=Labeller)
    _emptiers: TypeCache[_Emptier] = field(repr=False, default_factory=lambda: TypeCache(_emptier))
    _sampler: hints.TracebackSampler = field(repr=False, default_factory=hints.TracebackSampler)
    _live_at_start: dict[str, int] = field(repr=False, default_factory=dict)
    _garbage_before: int = 0  # length of gc.garbage when the pass began: not ours
    _old_debug: int = 0
    _failure: BaseException | None = field(default=None, repr=False)

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
                    self._explain(found, traced)
            except Exception as exc:
                self._failure = exc
            finally:
                # Even after a failure: kept, the garbage would pile up in gc.garbage.
                for obj in found:
                    _defuse(obj, self._emptiers.get(type(obj)))
                del gc.garbage[self._garbage_before :]

    def _count(self, found: list[Any]) -> None:
        self.collections += 1
        self.garbage_objects += len(found)
        # A loop, not Counter.update(generator): update's isinstance(…, Mapping) on a
        # generator fills the ABCs' caches with weakrefs the growth count would see.
        by_type = self.by_type
        for obj in found:
            name = type_group(obj)
            by_type[name] = by_type.get(name, 0) + 1

    def _explain(self, found: list[Any], traced: dict[int, hints.Frames]) -> None:
        """Tally one collection's garbage by shape: cycles, objects and bytes held."""
        sizer = payload.Sizer()
        references = payload.scan(found, sizer.ndarray)
        graph = references.graph
        ownership = cycles.attribute(graph)
        component_of, owner = ownership.component_of, ownership.owner
        collection = _Collection(
            found, graph, ownership, _external_references(graph, component_of), traced
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
        for holder, count in objects.items():
            shape = self._shape_of(collection, holder)
            shape.cycles += 1 if ownership.cyclic[holder] else 0
            shape.objects += count
            shape.bytes_held += held[holder]
        self.array_bytes_held += sizer.array_bytes
        self.bytes_held += sum(held.values())
        self._sampler.wanted_types = {
            key for shape in self.shapes.values() if shape.allocated_at is None
            for key in shape.type_ids
        }

    def _shape_of(self, collection: _Collection, component: int) -> ShapeTally:
        """The tally of a component's shape, made (with its example) the first time it is seen;
        a shape still without a site takes it from this cycle when it was traced."""
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
        elif shape.allocated_at is not None or not collection.traced:
            return shape
        shape.allocated_at = hints.allocation_site(members, collection.traced)
        return shape

    def report(self) -> ExplainReport:
        shapes = sorted(
            (s.to_result() for s in self.shapes.values()),
            key=lambda s: (-s.bytes_held, -s.objects, s.types),
        )
        first_cycle = next((s for s in shapes if s.path), None)
        example = () if first_cycle is None else (
            *(step.type for step in first_cycle.path), first_cycle.path[0].type
        )
        return ExplainReport(
            collections=self.collections,
            garbage_objects=self.garbage_objects,
            garbage_by_type=dict(sorted(self.by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
            array_bytes_held=self.array_bytes_held,
            example_cycle=example,
            shapes=tuple(shapes),
            bytes_held=self.bytes_held,
            growth=tuple(TypeGrowth(type=t, start=s, end=e) for t, s, e in self.growth),
        )


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
