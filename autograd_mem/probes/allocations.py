"""Where the memory still allocated at the end of the window was allocated, by ``tracemalloc``.

The explain pass starts ``tracemalloc`` when the window opens, so every trace alive at
its end is an allocation of the window that was never freed: what ``tracemalloc``'s
``Snapshot.compare_to`` against an empty start, or ``memray --leaks``, would list.

- :func:`top_lines` groups those traces by the user's line of each traceback
  (:mod:`.sites`): bytes and count per line, largest first.
- :func:`type_rows` gives each growing type (:mod:`.growth`) its bytes and its line.
  Its objects made in the window carry a traceback; the blocks of each traceback (the
  object's own and what was allocated with it, such as a ``bytearray``'s buffer or an
  instance's values) are shared among the growing types allocated there, in proportion
  to ``sys.getsizeof``. Objects older than the window have no trace and keep their
  ``sys.getsizeof``.

Traces whose innermost frame is agmem's own machinery (the explain pass reading
collections, the window's bookkeeping) are left out: they are not the workload's.
"""

from __future__ import annotations

import gc
import itertools
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograd_mem.probes import growth, native, sites

# How many lines a report lists.
TOP_LINES = 10

# Objects of one growing type whose tracebacks are read (evenly spread over them, each
# standing for its share): bounds the cost for a type with a million live objects.
SAMPLED_OBJECTS = 2_000

Key = tuple[sites.Frame, ...]  # a traceback's frames, most recent first


def _key(traceback: tracemalloc.Traceback) -> Key:
    return tuple((frame.filename, frame.lineno) for frame in reversed(traceback))


def window_traces(snapshot: tracemalloc.Snapshot) -> dict[Key, tuple[int, int]]:
    """``(bytes, count)`` per traceback of the traces alive in ``snapshot``, agmem's left out."""
    traces: dict[Key, tuple[int, int]] = {}
    for stat in snapshot.statistics("traceback"):
        key = _key(stat.traceback)
        if key and not sites.made_by_agmem(list(key)):
            traces[key] = (stat.size, stat.count)
    return traces


@dataclass(frozen=True)
class Line:
    """One line's bytes still allocated at the end, and how many blocks."""

    site: sites.Site
    bytes: int
    count: int


def top_lines(traces: dict[Key, tuple[int, int]], limit: int = TOP_LINES) -> list[Line]:
    """The lines holding the most bytes at the end, by the user's frame of each traceback."""
    by_line: dict[sites.Frame, list[int]] = {}
    for key, (size, count) in traces.items():
        totals = by_line.setdefault(sites.user_frame(list(key)), [0, 0])
        totals[0] += size
        totals[1] += count
    ranked = sorted(by_line.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [Line(sites.site(frame), size, count) for frame, (size, count) in ranked]


@dataclass(frozen=True)
class TypeRow:
    """A growing type: counts and bytes at the start and end, and the line that grew it most."""

    type: str
    start: int
    end: int
    bytes_start: int
    bytes_end: int
    allocated_at: sites.Site | None
    allocated_in: sites.Site | None


Linked = dict[type, list[tuple[int, Any]]]  # per type: (id, traceback) of its new objects


def link_new_objects(cap: int = SAMPLED_OBJECTS) -> Linked:
    """While ``tracemalloc`` still traces: the traceback of each live object made in the
    window, up to ``cap`` per type, by ``id()`` (objects themselves are not kept).

    Every tracked object and every untracked one they refer to is asked, through ``map``
    (an object older than the window has no trace, and asking allocates nothing). This
    is the only step that must run traced; the census that follows runs untraced.
    """
    linked: Linked = {}
    tracked = gc.get_objects()
    for start in range(0, len(tracked), growth.BATCH):
        batch = tracked[start : start + growth.BATCH]
        candidates = batch + gc.get_referents(*batch)
        del batch
        found = list(map(tracemalloc.get_object_traceback, candidates))
        pairs = zip(itertools.compress(candidates, found), filter(None, found), strict=True)
        missed = sites.untraced_by_mistake(candidates)
        for obj, traceback in itertools.chain(pairs, missed):
            group = linked.get(type(obj))
            if group is None:
                group = linked[type(obj)] = []
            if len(group) < cap:
                group.append((id(obj), traceback))
    return linked


def with_native(
    traces: dict[Key, tuple[int, int]], end: growth.Census, linked: Linked
) -> dict[Key, tuple[int, int]]:
    """``traces`` with, on each new tensor's traceback, the bytes it holds outside Python's
    allocator (its storage, and what its autograd graph saved: :mod:`.native`), each
    storage once: what the lines that made tensors still hold, which ``tracemalloc``
    alone reads as a few hundred bytes of tensor headers."""
    sizer = native.NativeSizer()
    if sizer.tensor_type is None:
        return traces
    merged = dict(traces)
    for cls, found in linked.items():
        if sizer.tensor_type not in cls.__mro__:
            continue
        tracebacks = dict(found)
        for obj in end.objects.get(cls.__name__, ()):
            traceback = tracebacks.get(id(obj))
            held = sizer.bytes_of(obj) if traceback is not None else 0
            if held:
                key = tuple(_frames(traceback))
                size, count = merged.get(key, (0, 0))
                merged[key] = (size + held, count)
    return merged


def _frames(traceback: Any) -> list[sites.Frame]:
    if isinstance(traceback, list):
        return traceback
    return [(frame.filename, frame.lineno) for frame in reversed(traceback)]


@dataclass
class _Sample:
    """What a growing type's new objects say, each weighing for ``weight`` objects."""

    # Per traceback of its objects made in the window: [objects, their getsizeof].
    at: dict[Key, list[int]]
    new_sizes: int = 0  # getsizeof of its objects made in the window
    own_objects: int = 0  # made by agmem itself (reading collections), left out
    own_sizes: int = 0


def _sample(objects: list[Any], tracebacks: dict[int, Any]) -> _Sample:
    """The type's new objects among ``objects`` (those with a traceback), by traceback.

    When the type had more new objects than were linked, each linked one stands for its
    share of them (the new ones are spotted from a sample spread over all).
    """
    sample = _Sample({})
    new = [obj for obj in objects if id(obj) in tracebacks]
    if not new:
        return sample
    weight = 1
    if len(tracebacks) >= SAMPLED_OBJECTS:
        unlinked = len(objects) - len(new)  # old ones, and new ones past the cap
        weight = max(1, (len(new) + unlinked) // max(1, len(new)))
        weight = 1 if unlinked == 0 else weight
    for obj in new:
        frames = _frames(tracebacks[id(obj)])
        size = growth.sizes_of([obj]) * weight
        if sites.made_by_agmem(frames):
            sample.own_objects += weight
            sample.own_sizes += size
            continue
        entry = sample.at.setdefault(tuple(frames), [0, 0])
        entry[0] += weight
        entry[1] += size
        sample.new_sizes += size
    return sample


def type_rows(
    names: Sequence[str],
    start: growth.Census,
    end: growth.Census,
    traces: dict[Key, tuple[int, int]],
    linked: Linked,
) -> list[TypeRow]:
    """Each growing type's row, with bytes from ``tracemalloc`` for what the window made.

    A traceback's bytes are shared among the types whose new objects it allocated, by
    their ``sys.getsizeof``; those objects' ``sys.getsizeof`` gives way to that share.
    Objects agmem made itself are left out; a type that then did not grow, or of which
    no new object was traced, is dropped.
    """
    by_name: dict[str, dict[int, Any]] = {}
    for cls, found in linked.items():
        by_name.setdefault(cls.__name__, {}).update(found)
    samples = {name: _sample(end.objects.get(name, []), by_name.get(name, {})) for name in names}
    weights: dict[Key, int] = {}
    for sample in samples.values():
        for key, (_, size) in sample.at.items():
            weights[key] = weights.get(key, 0) + size
    rows = []
    for name, sample in samples.items():
        by_traceback = {
            key: traces.get(key, (0, 0))[0] * size // max(1, weights[key])
            for key, (_, size) in sample.at.items()
        }
        count = end.counts[name] - sample.own_objects
        if count <= start.counts.get(name, 0) or not sample.at:
            # No new object of the workload's: what grew was made while agmem read a
            # collection (its tracing paused), so it is agmem's.
            continue
        bytes_end = (end.sizes[name] - sample.own_sizes - sample.new_sizes
                     + sum(by_traceback.values()))
        rows.append(_row(name, start, count, bytes_end, by_traceback))
    # Most bytes grown first, by the figures shown (the choice of types was by getsizeof).
    rows.sort(key=lambda row: (-(row.bytes_end - row.bytes_start), -(row.end - row.start)))
    return rows


def _row(name: str, start: growth.Census, count: int, bytes_end: int,
         by_traceback: dict[Key, int]) -> TypeRow:
    """One type's row; its line is the user's line with the most bytes."""
    by_line: dict[sites.Frame, tuple[int, Key]] = {}
    for key, size in by_traceback.items():
        frame = sites.user_frame(list(key))
        total, example = by_line.get(frame, (0, key))
        by_line[frame] = (total + size, example if total >= size else key)
    at = inner = None
    if by_line:
        frame = max(by_line, key=lambda f: (by_line[f][0], f))
        at, inner = sites.sites(list(by_line[frame][1]))
    return TypeRow(
        type=name,
        start=start.counts.get(name, 0),
        end=count,
        bytes_start=start.sizes.get(name, 0),
        bytes_end=bytes_end,
        allocated_at=at,
        allocated_in=inner,
    )
