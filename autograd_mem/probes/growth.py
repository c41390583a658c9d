"""What is alive that isn't garbage: the types whose live count grew over the window.

A leak that is no cycle (a global list that grows, a cache that never evicts) leaves
nothing for the collector to find; it shows as objects that stay alive. Counting the
live objects by type before and after the window, like objgraph's ``show_growth``,
names them. ``gc.get_objects()`` walks every tracked object, so this runs in the explain
pass only, once before and once after the window: never inside the measured run, and
never with a collection forced inside the window. Objects the collector does not track
(``bytes``, ``bytearray``, numpy arrays, strings) are not counted; the containers that
hold them are.
"""

from __future__ import annotations

import gc
import types
from typing import Any

# How many growing types a report lists.
GROWTH_TYPES = 10

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


def count_by_type(*own: Any) -> dict[str, int]:
    """Live tracked objects per type name, leaving out ``own`` and all they reach.

    The counts come back as a plain dict of strings to ints, which the collector does
    not track: holding it does not change the next count.
    """
    leave_out = _reachable_ids(own)
    leave_out.add(id(own))
    objects = gc.get_objects()
    leave_out.add(id(objects))
    counts: dict[str, int] = {}
    for obj in objects:
        if id(obj) not in leave_out:
            name = type(obj).__name__
            counts[name] = counts.get(name, 0) + 1
    del objects
    return counts


def top_growth(
    start: dict[str, int], end: dict[str, int], limit: int = GROWTH_TYPES
) -> list[tuple[str, int, int]]:
    """``(type, start, end)`` for the types that grew most, largest growth first."""
    grown = [(name, start.get(name, 0), count) for name, count in end.items()
             if count > start.get(name, 0)]
    grown.sort(key=lambda row: (-(row[2] - row[1]), row[0]))
    return grown[:limit]
