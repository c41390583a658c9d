"""Emptying saved garbage so reference counting frees it at once, without another collection.

With ``gc.DEBUG_SAVEALL`` the collector keeps what it found in ``gc.garbage``; dropping
it from there is not enough, since its cycles still hold it. Emptying its lists, dicts,
sets and cells, clearing its frames and tracebacks, and emptying instances' slots and
``__dict__`` breaks every cycle through them: reference counting then frees it all the
moment the last outside reference goes. Both the explain pass and the pytest plugin
free each collection's garbage this way, so their memory stays bounded by one collection.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import operator
import types
from collections.abc import Callable, Sequence
from typing import Any

from autograd_mem.cycles.scc import is_cycle, strongly_connected


def _clear_cell(cell: types.CellType) -> None:
    with contextlib.suppress(ValueError):  # an empty cell
        del cell.cell_contents


def _cut_traceback(traceback: types.TracebackType) -> None:
    traceback.tb_next = None


# The builtin containers Python can empty, and how.
_EMPTIERS: dict[type, Callable[[Any], Any]] = {
    list: list.clear,
    dict: dict.clear,
    set: set.clear,
    types.CellType: _clear_cell,
    types.TracebackType: _cut_traceback,
}
_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python


def defuse(garbage: Sequence[Any]) -> list[Any]:
    """Break the garbage's cycles so reference counting frees it; return what still survives.

    Every cycle that is left runs through objects this could not empty (tuples,
    functions, types, C extensions' objects): those on such a cycle are returned, for
    the caller to keep until it may collect them without counting them twice.

    Class by class, through ``map``: a Python loop over the objects cost seven times what
    the collector spends freeing them (400,000 of an engine chain's objects: 3 s against
    0.4 s, both under tracemalloc). And every class's plan before emptying anything: a
    class that dies with its module has its ``__dict__`` among the garbage, and once that
    is emptied, ``__module__`` or ``__slots__`` no longer reads right.
    """
    kinds = list(map(type, garbage))
    plans = [(cls, _plan(cls)) for cls in dict.fromkeys(kinds)]
    unemptied: list[Any] = []
    for cls, plan in plans:
        members = list(itertools.compress(garbage, map(operator.is_, kinds, itertools.repeat(cls))))
        if not _empty_all(plan, members):
            unemptied += members
    del plans
    ids = set(map(id, unemptied))
    # The usual case, checked at C speed: what is left (a graph's tuples pointing at its
    # emptied Variables) refers to nothing else that is left, so no cycle remains.
    if not any(map(ids.__contains__, map(id, gc.get_referents(*unemptied)))):
        return []
    index = dict(zip(map(id, unemptied), range(len(unemptied)), strict=True))
    find = index.get
    graph = [
        [p for p in map(find, map(id, gc.get_referents(obj))) if p is not None]
        for obj in unemptied
    ]
    return [
        unemptied[member]
        for component in strongly_connected(graph)
        if is_cycle(component, graph)
        for member in component
    ]


# How to empty a class's instances: "frame", an emptier, or slot descriptors plus whether
# they have a __dict__, the builtin emptiers of their bases, and whether that is everything.
_Plan = tuple[str, Callable[[Any], Any] | None, tuple[Any, ...], bool, tuple[Any, ...], bool]


def _plan(cls: type) -> _Plan:
    """What :func:`_empty_all` will do to instances of ``cls``, read before anything is emptied."""
    if cls is types.FrameType:
        return "frame", None, (), False, (), False
    emptier = _EMPTIERS.get(cls)
    if emptier is not None:
        return "builtin", emptier, (), False, (), True
    if cls.__module__ == "builtins" and not issubclass(cls, BaseException):
        return "none", None, (), False, (), False  # a tuple, a function, a type...
    slots = []
    for base in cls.__mro__:
        names = getattr(base, "__slots__", ())
        for name in (names,) if isinstance(names, str) else names:
            member = base.__dict__.get(name)
            if isinstance(member, types.MemberDescriptorType):
                slots.append(member)
    bases = tuple(e for base, e in _EMPTIERS.items() if issubclass(cls, base))
    # A class written in C somewhere in its MRO may hold references no slot shows.
    complete = not any(b is not object and not b.__flags__ & _HEAP_TYPE for b in cls.__mro__)
    return "instance", None, tuple(slots), bool(cls.__dictoffset__), bases, complete


def _empty_all(plan: _Plan, members: list[Any]) -> bool:
    """Empty every object of one class; False when some may still hold references."""
    kind, emptier, slots, has_dict, bases, complete = plan
    if kind == "frame":
        return all(map(_cleared_frame, members))
    if kind == "builtin":
        collections.deque(map(emptier, members), maxlen=0)  # type: ignore[arg-type]
        return True
    if kind == "none":
        return False
    try:
        _empty_instances(members, slots, has_dict, bases)
    except Exception:  # a slot or __dict__ that does not behave as Python's own
        return False
    return complete


def _empty_instances(
    members: list[Any], slots: tuple[Any, ...], has_dict: bool, bases: tuple[Any, ...]
) -> None:
    if isinstance(members[0], BaseException):
        collections.deque(map(_forget_traceback, members), maxlen=0)
    for member in slots:
        # The slot's own descriptor, so a class's __setattr__ cannot refuse it.
        collections.deque(map(member.__set__, members, itertools.repeat(None)), maxlen=0)
    if has_dict:
        collections.deque(map(dict.clear, map(vars, members)), maxlen=0)
    for emptier in bases:  # a subclass of list, dict or set
        collections.deque(map(emptier, members), maxlen=0)


def _forget_traceback(error: BaseException) -> None:
    error.__traceback__ = error.__context__ = error.__cause__ = None


def _cleared_frame(frame: types.FrameType) -> bool:
    try:
        frame.clear()
    except RuntimeError:  # a frame still executing keeps its locals
        return False
    return True
