"""Bytes held by garbage: what freeing it frees, each buffer counted once.

A cycle's garbage is not all it holds. A ``bytearray``, a numpy array or a string is
not tracked by the collector (it can refer to nothing, so it can be on no cycle), so it
never appears among the garbage: it dies when the garbage does, by reference
counting. Which of them die is decided here the way CPython will decide it, by
simulating reference counting: an untracked object the garbage refers to dies when
the garbage holds every reference it has (``sys.getrefcount``). One also held by a
live object survives and is not counted, however large; a buffer shared by many
garbage objects is counted once, when its last holder dies.

Sizes are ``sys.getsizeof`` (which for ``bytes``, ``bytearray``, ``array.array`` and
a numpy array that owns its data includes the buffer; a numpy view counts its header
and leads to its ``base``, counted once), and for a torch Tensor its header plus its
storage's bytes and those of the tensors its autograd graph saved, once per storage
(:mod:`~autograd_mem.probes.native`). torch is looked at only when the workload
imported it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_mem.probes.native import NativeSizer


def _refcounts(objects_by_id: dict[int, Any]) -> dict[int, int]:
    return {key: sys.getrefcount(value) for key, value in objects_by_id.items()}


def _own_references() -> int:
    """What :func:`_refcounts` reads for an object referred to by nothing but its dict.

    Measured, not assumed: the interpreter's own temporary references differ between
    versions (3.14 borrows some that 3.13 counted).
    """
    return _refcounts({0: object()})[0]


_OWN_REFERENCES = _own_references()


def _untracked_referents(obj: Any, ndarray: type | None) -> list[Any]:
    """What an object refers to that the collector does not track, and a numpy view's base."""
    found = [r for r in gc.get_referents(obj) if not gc.is_tracked(r)]
    if ndarray is not None and isinstance(obj, ndarray) and obj.base is not None:
        base = obj.base
        if not gc.is_tracked(base):
            found.append(base)
    return found


@dataclass
class Scan:
    """One read of the garbage's references: the graph among the garbage, and the untracked
    objects it reaches (``untracked``, by id), with each source's references to them
    (``out_edges``: a garbage object's key is ``-1 - index``, an untracked one's its id)."""

    graph: list[list[int]]
    untracked: dict[int, Any]
    out_edges: dict[int, list[int]]


def scan(garbage: Sequence[Any], ndarray: type | None) -> Scan:
    """Read every garbage object's referents once, for both the cycles and the payload.

    Untracked objects are kept in ``untracked`` only (one reference each, which
    :func:`dying_untracked` allows for); the edges hold ids.
    """
    index = {id(obj): i for i, obj in enumerate(garbage)}
    find, referents, tracked = index.get, gc.get_referents, gc.is_tracked
    graph: list[list[int]] = []
    untracked: dict[int, Any] = {}
    out_edges: dict[int, list[int]] = {}
    for position, obj in enumerate(garbage):
        inside: list[int] = []
        loose: list[int] = []
        for referent in referents(obj):
            key = id(referent)
            target = find(key)
            if target is not None:
                inside.append(target)
            elif not tracked(referent):
                loose.append(key)
                if key not in untracked:
                    untracked[key] = referent
        graph.append(inside)
        if loose:
            out_edges[-1 - position] = loose
    pending = list(untracked.values())
    while pending:
        obj = pending.pop()
        targets = _untracked_referents(obj, ndarray)
        if targets:
            out_edges[id(obj)] = [id(t) for t in targets]
            for target in targets:
                if id(target) not in untracked:
                    untracked[id(target)] = target
                    pending.append(target)
    return Scan(graph, untracked, out_edges)


def dying_untracked(
    found: Scan, order: Sequence[int], owner_of: Callable[[int], int]
) -> list[tuple[Any, int]]:
    """The untracked objects that die with the garbage, each with the owner that held it first.

    ``order`` lists garbage indices so that a cycle comes before what it refers to;
    ``owner_of`` maps a garbage index to the cycle that owns it.
    """
    counts = _refcounts(found.untracked)
    out_edges = found.out_edges
    held_by_dying: dict[int, int] = {}
    first_owner: dict[int, int] = {}
    dead: list[tuple[Any, int]] = []
    for index in order:
        if -1 - index not in out_edges:
            continue
        work = [(-1 - index, owner_of(index))]
        while work:
            source, holder = work.pop()
            for key in out_edges.get(source, ()):
                first = first_owner.setdefault(key, holder)
                held = held_by_dying[key] = held_by_dying.get(key, 0) + 1
                if held == counts[key] - _OWN_REFERENCES:
                    dead.append((found.untracked[key], first))
                    work.append((key, first))
    return dead


class Sizer:
    """Bytes of one collection's dying objects; a torch storage is counted once per collection."""

    def __init__(self) -> None:
        numpy = sys.modules.get("numpy")
        self.ndarray: type | None = getattr(numpy, "ndarray", None) if numpy else None
        # A tensor's storage, and what its autograd graph saved (probes.native).
        self._native = NativeSizer()
        self.array_bytes = 0  # numpy arrays' own buffers, the ``array_bytes_held`` figure

    def size(self, obj: Any) -> int:
        """``sys.getsizeof`` (a torch Tensor's storage apart: see :meth:`native`)."""
        try:
            size = sys.getsizeof(obj)
        except Exception:  # a __sizeof__ that raises: the object's fixed part at least
            size = type(obj).__basicsize__
        if self.ndarray is not None and isinstance(obj, self.ndarray) and obj.base is None:
            self.array_bytes += obj.nbytes
        return size

    def native(self, obj: Any) -> int:
        """Bytes ``tracemalloc`` never sees: a torch Tensor's storage and what its autograd
        graph saved for backward (:mod:`~autograd_mem.probes.native`), once per storage
        (torch allocates it itself; numpy reports its buffers to ``tracemalloc``).

        Asked once per object: a storage is counted for the first tensor seen on it.
        """
        return self._native.bytes_of(obj)
