"""What is alive that isn't garbage: the types whose live count and bytes grew over the window.

A leak that is no cycle (a global list that grows, a cache that never evicts) leaves
nothing for the collector to find; it shows as objects that stay alive. Counting the
live objects by type before and after the window, like objgraph's ``show_growth``,
names them. ``gc.get_objects()`` lists only the objects the collector tracks, and the
most common payloads (``bytes``, ``bytearray``, ``str``, numpy arrays) are untracked:
they are found as the referents of tracked containers (``gc.get_referents``), each
counted once. This walks every live object, so it runs in the explain pass only, once
before and once after the window: never inside the measured run.

A census keeps counts and ``sys.getsizeof`` sums, plain dicts of strings to ints that
the collector does not track: holding them does not change the next census. The start
census also keeps the ids of what it counted; the end census keeps the objects of each
type, for :mod:`.allocations` to read where the new ones were allocated and what
``tracemalloc`` says they took.

Set-up is not growth: an object the end census finds that was not there at the start
and that ``tracemalloc`` never traced was made while tracing was paused, that is by a
module imported for the first time (:mod:`.imports`) or by agmem reading a collection.
Those are counted apart (``untraced_new``), not as the types' growth.
"""

from __future__ import annotations

import gc
import itertools
import sys
import tracemalloc
import types
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.probes import sites
from autograd_mem.probes.native import NativeSizer

# How many growing types a report lists.
GROWTH_TYPES = 10

# Referents read per call of gc.get_referents: one C call per batch, not per object.
BATCH = 4096

_NOT_FOLLOWED = (type, types.ModuleType, types.FunctionType)


def _reachable_ids(roots: tuple[Any, ...]) -> set[int]:
    """Ids of the tracked objects reachable from ``roots``: agmem's own bookkeeping."""
    seen: set[int] = set()
    pending = list(roots)
    while pending:
        obj = pending.pop()
        # Classes, modules and functions existed before the window; following them
        # (a function's globals) would reach, and leave out, everything.
        if id(obj) in seen or isinstance(obj, _NOT_FOLLOWED):
            continue
        seen.add(id(obj))
        pending.extend(r for r in gc.get_referents(obj) if gc.is_tracked(r))
    return seen


def _size(obj: Any) -> int:
    try:
        return sys.getsizeof(obj)
    except Exception:  # a __sizeof__ that raises: the object's fixed part at least
        return type(obj).__basicsize__


def _untracked_referents(tracked: list[Any]) -> list[Any]:
    """The untracked objects the tracked ones refer to, each once."""
    found: dict[int, Any] = {}
    for start in range(0, len(tracked), BATCH):
        referents = gc.get_referents(*tracked[start : start + BATCH])
        loose = list(itertools.filterfalse(gc.is_tracked, referents))
        found.update(zip(map(id, loose), loose, strict=True))
    return list(found.values())


@dataclass
class Census:
    """Live objects per type name: how many, their ``sys.getsizeof`` sum, and (end census)
    them; (start census) the ids of all it counted; (end census, against a start) what
    was made untraced, set apart."""

    counts: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    objects: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    ids: set[int] = field(default_factory=set, repr=False)
    untraced_new: int = 0  # objects new since the start census that tracemalloc never traced
    untraced_new_bytes: int = 0  # their sys.getsizeof (and native bytes) sum


def _traced_or_old(group: list[Any], before: set[int]) -> tuple[list[Any], list[Any]]:
    """``group`` split into what was there at the start or was traced, and the rest: new
    objects without a trace (3.11's missed managed-dict instances count as traced)."""
    fresh = [obj for obj in group if id(obj) not in before]
    if not fresh:
        return group, []
    found = list(map(tracemalloc.get_object_traceback, fresh))
    untraced = [obj for obj, trace in zip(fresh, found, strict=True) if trace is None]
    missed = {id(obj) for obj, _ in sites.untraced_by_mistake(untraced)}
    untraced = [obj for obj in untraced if id(obj) not in missed]
    if not untraced:
        return group, []
    apart = set(map(id, untraced))
    return [obj for obj in group if id(obj) not in apart], untraced


def take_census(
    *own: Any, keep: bool = False, ids: bool = False, before: Census | None = None
) -> Census:
    """Live objects, tracked and the untracked ones they refer to, leaving out ``own`` and
    all it reaches. ``keep``: hold the objects too, by type (for the end census);
    ``ids``: their ids (for the start census; ``own`` keeps them out of the end one);
    ``before``: the start census, against which new untraced objects are set apart
    (see the module's docstring; ``tracemalloc`` must still hold its traces).

    Grouped by type first, then counted and sized a type at a time at C speed: the end
    census runs while ``tracemalloc`` traces, and a Python loop making an int per object
    (a count, a running sum) cost twenty times as much there.
    """
    leave_out = _reachable_ids(own)
    leave_out.add(id(own))
    leave_out.add(id(leave_out))  # a set is tracked: its ids would count as live ints
    tracked = gc.get_objects()
    leave_out.add(id(tracked))
    tracked = [obj for obj in tracked if id(obj) not in leave_out]
    del leave_out
    by_type: dict[type, list[Any]] = {}
    for obj in itertools.chain(tracked, _untracked_referents(tracked)):
        group = by_type.get(type(obj))
        if group is None:
            group = by_type[type(obj)] = []
        group.append(obj)
    del tracked
    census = Census()
    counts, sizes = census.counts, census.sizes
    # torch's tensors hold their storage (and their graphs' saved tensors) outside
    # Python's allocator: counted with them, each storage once per census.
    native = NativeSizer()
    for cls, group in by_type.items():
        name = cls.__name__
        if before is not None:
            group, apart = _traced_or_old(group, before.ids)
            census.untraced_new += len(apart)
            census.untraced_new_bytes += sizes_of(apart) + native.total(apart)
            del apart
        counts[name] = counts.get(name, 0) + len(group)
        sizes[name] = sizes.get(name, 0) + sizes_of(group) + native.total(group)
        if keep:
            census.objects.setdefault(name, []).extend(group)
        if ids:
            census.ids.update(map(id, group))
    return census


def count_by_type(*own: Any) -> dict[str, int]:
    """Live objects per type name (tracked, and the untracked ones they refer to)."""
    return take_census(*own).counts


def grown_types(start: Census, end: Census, limit: int = GROWTH_TYPES) -> list[str]:
    """The types whose count grew, most bytes grown first (then most objects)."""
    grown = [name for name, count in end.counts.items() if count > start.counts.get(name, 0)]

    def rank(name: str) -> tuple[int, int, str]:
        return (
            -(end.sizes[name] - start.sizes.get(name, 0)),
            -(end.counts[name] - start.counts.get(name, 0)),
            name,
        )

    return sorted(grown, key=rank)[:limit]


def top_growth(
    start: dict[str, int], end: dict[str, int], limit: int = GROWTH_TYPES
) -> list[tuple[str, int, int]]:
    """``(type, start, end)`` for the types whose count grew most, largest growth first."""
    grown = [(name, start.get(name, 0), count) for name, count in end.items()
             if count > start.get(name, 0)]
    grown.sort(key=lambda row: (-(row[2] - row[1]), row[0]))
    return grown[:limit]


def sizes_of(objects: list[Any]) -> int:
    """``sys.getsizeof`` summed over ``objects`` (at C speed unless one refuses to say)."""
    try:
        return sum(map(sys.getsizeof, objects))
    except Exception:  # a __sizeof__ that raises
        return sum(map(_size, objects))
