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
- ``DEBUG_SAVEALL`` is on only while a collection runs: set in the collection's
  ``start`` callback, taken off in its ``stop`` callback. Between collections the
  watched code sees its own debug flags; code that turns ``DEBUG_SAVEALL`` on itself
  keeps its garbage (the watcher leaves ``gc.garbage`` alone for those collections and
  :attr:`GarbageWatcher.flags_taken` says so).
- Watched code may empty ``gc.callbacks`` (some leak checkers do). The watcher keeps
  the collector's own list, removes only what is still in it, and frees what a
  collection saved for it even when its ``stop`` callback or its freeing callback was
  taken away; :attr:`GarbageWatcher.watched` then says the count may be short.
- The watcher's own allocations are not the watched code's: what reading keeps
  allocated (a reader's tallies) and ``gc.garbage``'s own growth are measured by
  ``tracemalloc`` before and after each collection's reading and freeing
  (:attr:`GarbageWatcher.own_bytes`) and left out of :meth:`GarbageWatcher.peak_bytes`,
  which is also read before each collection, so what reading allocates for a moment
  never reaches it.
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
from autograd_mem.probes.gc_probe import GENERATIONAL, detect_layout


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
    """Context manager: each collection's garbage to ``reader`` (``DEBUG_SAVEALL`` on for the
    collection), then freed.

    After the block: ``collections`` that found garbage and were read, ``collections_run``
    (every collection seen), ``collected`` objects in all collections (read or not),
    ``oldest_generation`` collected (-1: none ran), ``complete`` (False when garbage went
    unread: the budget ran out, or a collection's callbacks were taken away),
    ``flags_taken`` (the watched code turned ``DEBUG_SAVEALL`` on itself), ``watched``
    (False: the watched code removed the callback), and :meth:`peak_bytes`.
    """

    reader: GarbageReader
    budget: int | None = None
    collections: int = 0
    collections_run: int = 0
    collected: int = 0
    oldest_generation: int = -1
    complete: bool = True
    flags_taken: bool = False
    watched: bool = True
    peak_traced_bytes: int = 0  # tracemalloc's peak before each collection, less own_bytes
    _callbacks: list[Any] = field(default_factory=list, repr=False)
    _body_flags: int = 0  # the watched code's flags during the collection under way
    _saving: bool = False  # DEBUG_SAVEALL is on, set by the watcher, for this collection
    _reading: bool = True
    _start_length: int = 0
    _start_list_bytes: int = 0
    _enter_list_bytes: int = 0
    _start_traced: int | None = None
    _read_bytes: int = 0  # what reading kept allocated, over all collections
    _stop_traced: int | None = None
    _groups: list[list[Any]] = field(default_factory=list, repr=False)
    _measured: int = 0  # how many of _groups the reader asked for (the rest is not its)
    _kept: list[Any] = field(default_factory=list, repr=False)
    _failure: BaseException | None = field(default=None, repr=False)

    def __enter__(self) -> GarbageWatcher:
        # Once before any collection: 3.10 keeps a frame object per function after its
        # first call, which would otherwise be allocated while a group's freeing is read.
        defuse(_warm_up_garbage())
        # The collector's own list: code that rebinds ``gc.callbacks`` does not change it.
        self._callbacks = gc.callbacks
        self._enter_list_bytes = sys.getsizeof(gc.garbage)
        self._callbacks.append(self._on_collection)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._on_collection in self._callbacks:
            self._callbacks.remove(self._on_collection)
        else:
            self.watched = False
        if self._saving:
            # A collection's stop never reached the watcher (its callback was taken away
            # during the collection): what it saved since is the watcher's to free.
            self._lost_stop()
        if self._free in self._callbacks or self._groups:
            self._free("stop", {})  # ended inside a collection's callbacks, or _free was removed
        if self._kept:
            # Cycles defuse could not break (none is known): kept so that a later
            # collection would not find and count them again; collected now, uncounted.
            # A collection moves what it saved one generation on: collecting up to that
            # one finds them without walking the whole heap (a generational collector's).
            self._kept.clear()
            oldest = self.oldest_generation + 1
            generational = detect_layout().name == GENERATIONAL
            gc.collect(min(oldest, 2) if generational and oldest > 0 else 2)
        if self._failure is not None and exc[0] is None:
            raise RuntimeError("agmem could not read a collection's garbage") from self._failure

    @property
    def watching(self) -> bool:
        """Whether the callback is still installed (the watched code may have removed it)."""
        return self._on_collection in self._callbacks

    @property
    def own_bytes(self) -> int:
        """What the watcher holds of ``tracemalloc``'s current size: what reading kept (a
        reader's tallies) and the growth of ``gc.garbage``'s own array."""
        grown = max(sys.getsizeof(gc.garbage) - self._enter_list_bytes, 0)
        return self._read_bytes + grown

    def peak_bytes(self) -> int:
        """``tracemalloc``'s peak over the block so far, without the watcher's own bytes (0
        when not tracing). The watched code's: reading is done after the peak was read and
        is followed by a reset."""
        if not tracemalloc.is_tracing():
            return self.peak_traced_bytes
        return max(self.peak_traced_bytes, tracemalloc.get_traced_memory()[1] - self.own_bytes)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start(info.get("generation", -1))
        else:
            self._stop(info)

    def _start(self, generation: int) -> None:
        if self._groups:  # the last collection's freeing callback was taken away
            self._free("stop", {})
        self.oldest_generation = max(self.oldest_generation, generation)
        self._start_length = len(gc.garbage)
        self._start_list_bytes = sys.getsizeof(gc.garbage)
        self._start_traced = None
        if tracemalloc.is_tracing():
            self._start_traced = tracemalloc.get_traced_memory()[0]
            self.peak_traced_bytes = max(self.peak_traced_bytes, self.peak_bytes())
        flags = gc.get_debug()
        if flags & gc.DEBUG_SAVEALL:
            self.flags_taken = True  # the watched code's own: its garbage is its to read
            return
        if self._reading:
            self._body_flags = flags
            self._saving = True
            gc.set_debug(flags | gc.DEBUG_SAVEALL)

    def _stop(self, info: dict[str, int]) -> None:
        self.collected += info.get("collected", 0)
        self.collections_run += 1
        if not self._saving:
            if not self._reading:
                self.complete = self.complete and info.get("collected", 0) == 0
            return
        self._saving = False
        if gc.get_debug() != self._body_flags | gc.DEBUG_SAVEALL:
            self.flags_taken = True  # changed during the collection: the garbage is not ours
            return
        gc.set_debug(self._body_flags)
        self._stop_traced = traced_bytes()
        found = gc.garbage[self._start_length :]
        finalized = self._finalized_bytes()
        if not found and not finalized:
            if tracemalloc.is_tracing():
                tracemalloc.reset_peak()
            return
        # Also when finalizers freed all they found: what they freed is still the reader's.
        self._read(found, finalized, info.get("generation", -1))

    def _lost_stop(self) -> None:
        """Undo a collection whose ``stop`` never came: flags back, its saved garbage freed."""
        self._saving = False
        self.complete = False
        if gc.get_debug() == self._body_flags | gc.DEBUG_SAVEALL:
            gc.set_debug(self._body_flags)
        found = gc.garbage[self._start_length :]
        del gc.garbage[self._start_length :]
        self._kept += defuse(found)
        del found

    def _finalized_bytes(self) -> int | None:
        """What finalizers freed in this collection: tracemalloc's fall over it, less the growth
        of gc.garbage itself (the collector frees nothing else under DEBUG_SAVEALL)."""
        if self._start_traced is None or not tracemalloc.is_tracing():
            return None
        current, peak = tracemalloc.get_traced_memory()
        saved = sys.getsizeof(gc.garbage) - self._start_list_bytes
        self.peak_traced_bytes = max(self.peak_traced_bytes, peak - self.own_bytes)
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
        # Freed by a callback appended now, which runs after every other callback of this
        # collection: one the watched code installed may read gc.garbage too.
        self._callbacks.append(self._free)

    def _free(self, phase: str, info: dict[str, int]) -> None:
        """Drop this collection's garbage from gc.garbage and free it group by group."""
        if self._free in self._callbacks:
            self._callbacks.remove(self._free)
        groups, self._groups = self._groups, []
        list_bytes = sys.getsizeof(gc.garbage)
        if len(gc.garbage) == self._start_length + sum(map(len, groups)):
            del gc.garbage[self._start_length :]  # the usual case: nothing else saved since
        else:
            ours = set(map(id, (obj for group in groups for obj in group)))
            gc.garbage[:] = [obj for obj in gc.garbage if id(obj) not in ours]
            del ours
        list_bytes -= sys.getsizeof(gc.garbage)
        freed = self._free_groups(groups)
        self._count_read_bytes(freed, list_bytes)
        if self._failure is None and self._measured:
            try:
                self.reader.freed(freed[: self._measured])
            except Exception as exc:
                self._failure = exc
        if self.budget is not None and self.budget <= 0:
            self._reading = False  # read all it may: the collector frees the rest itself
        if tracemalloc.is_tracing():
            tracemalloc.reset_peak()

    def _free_groups(self, groups: list[list[Any]]) -> list[int | None]:
        """Free each group in turn; what freeing each freed, by tracemalloc (None: not tracing)."""
        freed: list[int | None] = []
        groups.reverse()
        while groups:
            group = groups.pop()
            # What reading tracemalloc itself leaves (the int holding the first reading),
            # read the same way just before, and given back.
            first, second = traced_bytes(), traced_bytes()
            before = traced_bytes()
            try:
                self._kept += defuse(group)
            except Exception:
                # A group defuse cannot read (an instance whose class an earlier group
                # emptied: its __module__ is gone) is kept for the end, not freed here:
                # raised in a collector's callback, the error would only be printed.
                self._kept += group
                before = None
            del group  # the last references: reference counting frees the group here
            after = traced_bytes()
            if before is None or after is None or first is None or second is None:
                freed.append(None)
            else:
                freed.append(before - after + (second - first))
        return freed

    def _count_read_bytes(self, freed: list[int | None], list_shrunk: int) -> None:
        """Add what reading this collection kept allocated: tracemalloc's change from the
        collection's stop to now, less the garbage freed and gc.garbage's shrinking."""
        stop, self._stop_traced = self._stop_traced, None
        now = traced_bytes()
        if stop is None or now is None or None in freed:
            return
        self._read_bytes += max(0, now - stop + sum(b for b in freed if b) + list_shrunk)


ReaderFunction = Callable[[Collection], None]


class FunctionReader(GarbageReader):
    """A reader made of one function that only looks (its garbage is freed in one group)."""

    def __init__(self, read: ReaderFunction) -> None:
        self._read = read

    def read(self, collection: Collection) -> list[list[Any]]:
        self._read(collection)
        return []
