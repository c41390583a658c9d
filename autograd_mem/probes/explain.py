"""Why the collector collected: a ``gc.DEBUG_SAVEALL`` pass that tallies what each collection found.

With ``DEBUG_SAVEALL`` the collector appends everything it finds unreachable to
``gc.garbage`` instead of freeing it, which is what lets us see it, and also what makes
this a separate pass: kept garbage would inflate the main measurement's memory.

To keep this pass's memory bounded, each collection's garbage is tallied in the
collector's ``stop`` callback, then *defused* (its lists, dicts, sets, cells and
instances emptied, which breaks every cycle through them) and dropped from
``gc.garbage``, so reference counting frees it at once. Keeping it instead would be
wrong as well as costly: a saved tuple holding a Variable that sits in an older
generation keeps that Variable reachable, and it would never be found and counted.
A cycle made only of objects that cannot be emptied would survive and could be
counted again by a later collection; the engine's graphs have none.
"""

from __future__ import annotations

import contextlib
import gc
import types
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd_mem.result import ExplainReport

# How many garbage Variables the example-cycle search starts from before giving up.
CYCLE_SEARCH_STARTS = 64


def type_group(obj: Any) -> str:
    """The name an object is tallied under: every Function subclass is "Function"."""
    from autograd_mem.engine import Function, Variable

    if isinstance(obj, Function):
        return "Function"
    if isinstance(obj, Variable):
        return "Variable"
    return type(obj).__name__


def _owned_array(array: np.ndarray) -> np.ndarray:
    """The array that owns a view's memory, so a buffer is counted once."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def find_cycle(start: Any, members: dict[int, Any]) -> tuple[str, ...]:
    """Type names along a shortest reference cycle from ``start`` back to itself within ``members``.

    A breadth-first search over ``gc.get_referents``; the first name is repeated last.
    Function subclasses keep their own names here (``Square``): the chain is read by people.
    """
    parent: dict[int, int] = {}
    queue: deque[Any] = deque([start])
    visited = {id(start)}
    while queue:
        node = queue.popleft()
        for referent in gc.get_referents(node):
            key = id(referent)
            if key == id(start):
                chain = [node]
                while id(chain[-1]) != id(start):
                    chain.append(members[parent[id(chain[-1])]])
                chain.reverse()
                chain.append(start)
                return tuple(type(o).__name__ for o in chain)
            if key in members and key not in visited:
                visited.add(key)
                parent[key] = id(node)
                queue.append(referent)
    return ()


def _defuse(obj: Any) -> None:
    """Empty a garbage container or instance so it no longer keeps arrays (or cycles) alive."""
    if isinstance(obj, list):
        del obj[:]
    elif isinstance(obj, (dict, set)):
        obj.clear()
    elif isinstance(obj, types.CellType):
        with contextlib.suppress(ValueError):
            del obj.cell_contents
    elif isinstance(obj, types.FrameType):
        with contextlib.suppress(RuntimeError):
            obj.clear()
    elif type(obj).__module__ != "builtins":
        for klass in type(obj).__mro__:
            for name in getattr(klass, "__slots__", ()):
                if name not in ("__dict__", "__weakref__"):
                    with contextlib.suppress(AttributeError, TypeError):
                        delattr(obj, name)
        instance_dict = getattr(obj, "__dict__", None)
        if isinstance(instance_dict, dict):
            instance_dict.clear()


@dataclass
class GarbageTally:
    """Context manager: ``DEBUG_SAVEALL`` on, and a tally of each collection's garbage."""

    collections: int = 0
    garbage_objects: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    array_bytes_held: int = 0
    example_cycle: tuple[str, ...] = ()
    _garbage_before: int = 0  # length of gc.garbage when the pass began: not ours
    _old_debug: int = 0

    def __enter__(self) -> GarbageTally:
        self._old_debug = gc.get_debug()
        self._garbage_before = len(gc.garbage)
        gc.set_debug(self._old_debug | gc.DEBUG_SAVEALL)
        gc.callbacks.append(self._on_collection)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_collection)
        gc.set_debug(self._old_debug)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop":
            return
        found = gc.garbage[self._garbage_before :]
        if not found:
            # Not counted: the pass's own set-up collection finds nothing, and "2
            # collections" for a run with the collector off would puzzle its reader.
            return
        self.collections += 1
        self.garbage_objects += len(found)
        self.by_type.update(type_group(o) for o in found)
        arrays: dict[int, int] = {}
        for obj in found:
            for referent in gc.get_referents(obj):
                if isinstance(referent, np.ndarray):
                    owner = _owned_array(referent)
                    arrays[id(owner)] = owner.nbytes
        self.array_bytes_held += sum(arrays.values())
        if not self.example_cycle:
            members = {id(o): o for o in found}
            # Not every garbage Variable is on a cycle (a graph's input is only pointed
            # at by one), so try a few.
            starts = [o for o in found if type_group(o) == "Variable"][:CYCLE_SEARCH_STARTS]
            for start in starts:
                self.example_cycle = find_cycle(start, members)
                if self.example_cycle:
                    break
        for obj in found:
            _defuse(obj)
        del gc.garbage[self._garbage_before :]

    def report(self) -> ExplainReport:
        return ExplainReport(
            collections=self.collections,
            garbage_objects=self.garbage_objects,
            garbage_by_type=dict(self.by_type.most_common()),
            array_bytes_held=self.array_bytes_held,
            example_cycle=self.example_cycle,
        )
