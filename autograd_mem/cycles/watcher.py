"""The one ``gc.DEBUG_SAVEALL`` garbage watcher: each collection's garbage read, then freed.

Shared by ``--explain`` (:mod:`.explain`) and the pytest plugin. Use::

    class MyReader(GarbageReader):
        def read(self, collection: Collection) -> list[list[Any]]:
            ...  # look at collection.garbage; keep counts and strings, never the objects
            return []  # or the garbage split into groups, each freed (and measured) alone

        def freed(self, bytes_per_group: list[int | None]) -> None:
            ...  # what freeing each group freed, by tracemalloc; None when not tracing

    with GarbageWatcher(MyReader(), budget=None) as watcher:
        ...  # the code whose collections are read

Why one protocol, written once:

- With ``DEBUG_SAVEALL`` the collector appends what it found unreachable to
  ``gc.garbage`` instead of freeing it: that is what lets a reader see it, in the
  collector's ``stop`` callback, while it still exists.
- Kept, it would be wrong as well as costly: a saved tuple holding an object of an
  older generation keeps that object reachable, so it is never found and counted. So
  after the reader, the garbage is dropped from ``gc.garbage`` and *defused*
  (:mod:`.defuse`): reference counting frees it at once, and memory stays bounded by
  one collection's garbage. Freeing happens in a callback appended for the purpose, so
  it runs after every other callback of that collection (one the watched code installed
  may read ``gc.garbage`` too).
- Finalizers (``__del__``, suspended generators and coroutines) run *before* the
  collector saves the garbage, and what they free (a generator frame's locals) is gone
  by then. When ``tracemalloc`` is tracing, the watcher reads its current size at the
  collection's start and at its end: the difference is what finalizers freed
  (:attr:`Collection.finalized_bytes`), since with ``DEBUG_SAVEALL`` the collector
  itself frees nothing.
- Sizes are what was allocated: freeing each group the reader returns is measured by
  ``tracemalloc``'s current size before and after, so a group's bytes are its objects'
  blocks (inline values and managed dicts included) and whatever died with them.
- A bit of the debug flags that CPython does not use is set beside ``DEBUG_SAVEALL``:
  code that sets its own flags clears it, and from then on the garbage is its own, the
  watcher leaves ``gc.garbage`` alone and :attr:`GarbageWatcher.flags_taken` says so.
- ``budget`` bounds the garbage objects read (reading costs far more than making
  them): the first collections are read up to it, then ``DEBUG_SAVEALL`` goes off and
  the collector frees the rest itself; :attr:`GarbageWatcher.complete` then says
  whether anything went unread.
- A reader's exception is kept and raised from ``__exit__`` (the collector would only
  print it), so a failed analysis fails the watched block instead of giving wrong counts.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.cycles.defuse import defuse

# A bit of the collector's debug flags that CPython does not use (its flags are 1, 2, 4
# and 32): see the module's docstring.
AGMEM_FLAG = 1 << 16


def traced_bytes() -> int | None:
    """``tracemalloc``'s current size, or None when it is not tracing."""
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None


class _WarmUp:
    """An instance with a __dict__ on a cycle, for :func:`_warm_up_garbage`."""

    def __init__(self) -> None:
        self.me = [self]


def _warm_up_garbage() -> list[Any]:
    made = _WarmUp()
    return [made, made.me, made.__dict__]


@dataclass
class Collection:
    """One collection's garbage, handed to a reader while it still exists.

    ``garbage`` is what the reader may look at (the first ``budget`` objects when the
    budget ran out in this collection: ``partial`` is then True). ``finalized_bytes``:
    what finalizers freed during the collection, by ``tracemalloc`` (None when not
    tracing). ``generation``: the one collected, from the collector's info.
    """

    garbage: list[Any]
    finalized_bytes: int | None
    generation: int
    partial: bool = False


class GarbageReader:
    """What a watcher hands each collection to: override :meth:`read`, and :meth:`freed`."""

    def read(self, collection: Collection) -> list[list[Any]]:
        """Read one collection's garbage; return it split into groups to free one at a time
        (each freed and measured alone, in order), or ``[]`` to free it all at once.

        Keep no reference to the garbage: what is still referenced is not freed.
        """
        return []

    def freed(self, bytes_per_group: list[int | None]) -> None:
        """What freeing each group returned by :meth:`read` freed (``tracemalloc``'s figure;
        None when it is not tracing), in the same order."""


@dataclass
class GarbageWatcher:
    """Context manager: ``DEBUG_SAVEALL`` on, each collection's garbage to ``reader``, then freed.

    After the block: ``collections`` that found garbage, ``collected`` objects in all
    collections (read or not), ``complete`` (False when garbage went unread: the budget
    ran out), ``flags_taken`` (the watched code set the collector's debug flags itself),
    and ``peak_traced_bytes``: ``tracemalloc``'s peak seen before each collection and
    without ``gc.garbage``'s own growth, at its highest (the watched code's, not the
    reader's: the peak is reset after each collection's garbage is freed).
    """

    reader: GarbageReader
    budget: int | None = None
    collections: int = 0
    collected: int = 0
    complete: bool = True
    flags_taken: bool = False
    peak_traced_bytes: int = 0
    _flags: int = 0
    _old_flags: int = 0
    _reading: bool = True
    _start_length: int = 0
    _start_list_bytes: int = 0
    _start_traced: int | None = None
    _groups: list[list[Any]] = field(default_factory=list, repr=False)
    _measured: int = 0  # how many of _groups the reader asked for (the rest is not its)
    _kept: list[Any] = field(default_factory=list, repr=False)
    _failure: BaseException | None = field(default=None, repr=False)

    def __enter__(self) -> GarbageWatcher:
        # Once before any collection: 3.10 keeps a frame object per function after its
        # first call, which would otherwise be allocated while a group's freeing is read.
        defuse(_warm_up_garbage())
        self._old_flags = gc.get_debug()
        self._flags = self._old_flags | gc.DEBUG_SAVEALL | AGMEM_FLAG
        gc.set_debug(self._flags)
        gc.callbacks.append(self._on_collection)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_collection)
        if self._free in gc.callbacks:  # the block ended inside a collection's callbacks
            self._free("stop", {})
        if gc.get_debug() == self._flags:  # else the watched code set its own: leave them
            gc.set_debug(self._old_flags)
        if self._kept:
            # Cycles defuse could not break (none is known): kept so that a later
            # collection would not find and count them again; collected now, uncounted.
            self._kept.clear()
            gc.collect()
        if self._failure is not None and exc[0] is None:
            raise RuntimeError("agmem could not read a collection's garbage") from self._failure

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start_length = len(gc.garbage)
            self._start_list_bytes = sys.getsizeof(gc.garbage)
            if tracemalloc.is_tracing():
                current, peak = tracemalloc.get_traced_memory()
                self._start_traced = current
                self.peak_traced_bytes = max(self.peak_traced_bytes, peak)
            else:
                self._start_traced = None
            return
        self.collected += info.get("collected", 0)
        if gc.get_debug() != self._flags:
            # The watched code set flags of its own: what gc.garbage holds is its to read.
            self.flags_taken = True
            return
        if not self._reading:
            self.complete = self.complete and info.get("collected", 0) == 0
            return
        found = gc.garbage[self._start_length :]
        finalized = self._finalized_bytes()
        if not found and not finalized:
            if tracemalloc.is_tracing():
                tracemalloc.reset_peak()
            return
        # Also when finalizers freed all they found: what they freed is still the reader's.
        self._read(found, finalized, info.get("generation", -1))

    def _finalized_bytes(self) -> int | None:
        """What finalizers freed in this collection: tracemalloc's fall over it, less the growth
        of gc.garbage itself (the collector frees nothing else under DEBUG_SAVEALL)."""
        if self._start_traced is None or not tracemalloc.is_tracing():
            return None
        current, peak = tracemalloc.get_traced_memory()
        saved = sys.getsizeof(gc.garbage) - self._start_list_bytes
        self.peak_traced_bytes = max(self.peak_traced_bytes, peak - saved)
        return max(0, self._start_traced - (current - saved))

    def _read(self, found: list[Any], finalized: int | None, generation: int) -> None:
        self.collections += 1
        readable = found if self.budget is None else found[: self.budget]
        groups: list[list[Any]] = []
        if self._failure is None:
            try:
                groups = self.reader.read(
                    Collection(readable, finalized, generation, len(readable) < len(found))
                )
            except Exception as exc:  # kept for __exit__: see the module's docstring
                self._failure = exc
                groups = []
        del readable
        if self.budget is not None:
            self.complete = self.complete and self.budget >= len(found)
            self.budget = max(0, self.budget - len(found))
        if not groups:
            self._groups, self._measured = [found], 1
        else:
            # What the reader grouped, then the rest as one group, unmeasured: not the reader's.
            grouped = set(map(id, (obj for group in groups for obj in group)))
            rest = [obj for obj in found if id(obj) not in grouped]
            self._groups, self._measured = [*groups, rest], len(groups)
            del grouped, rest
        del found, groups
        gc.callbacks.append(self._free)

    def _free(self, phase: str, info: dict[str, int]) -> None:
        """Drop this collection's garbage from gc.garbage and free it group by group."""
        gc.callbacks.remove(self._free)
        groups, self._groups = self._groups, []
        if len(gc.garbage) == self._start_length + sum(map(len, groups)):
            del gc.garbage[self._start_length :]  # the usual case: nothing else saved since
        else:
            ours = set(map(id, (obj for group in groups for obj in group)))
            gc.garbage[:] = [obj for obj in gc.garbage if id(obj) not in ours]
            del ours
        freed: list[int | None] = []
        groups.reverse()
        while groups:
            group = groups.pop()
            # What reading tracemalloc itself leaves (the int holding the first reading),
            # read the same way just before, and given back.
            first, second = traced_bytes(), traced_bytes()
            before = traced_bytes()
            self._kept += defuse(group)
            del group  # the last references: reference counting frees the group here
            after = traced_bytes()
            if before is None or after is None or first is None or second is None:
                freed.append(None)
            else:
                freed.append(before - after + (second - first))
        if self._failure is None and self._measured:
            try:
                self.reader.freed(freed[: self._measured])
            except Exception as exc:
                self._failure = exc
        if self.budget is not None and self.budget <= 0 and self._reading:
            # Read all it may: the collector frees the rest of the garbage itself.
            self._reading = False
            self._flags = self._old_flags
            gc.set_debug(self._flags)
        if tracemalloc.is_tracing():
            tracemalloc.reset_peak()


ReaderFunction = Callable[[Collection], None]


class FunctionReader(GarbageReader):
    """A reader made of one function that only looks (its garbage is freed in one group)."""

    def __init__(self, read: ReaderFunction) -> None:
        self._read = read

    def read(self, collection: Collection) -> list[list[Any]]:
        self._read(collection)
        return []
