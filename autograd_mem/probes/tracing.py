"""``tracemalloc`` for the workload's allocations, not for agmem's reading of them.

The explain pass needs ``tracemalloc`` tracing the whole window: what is still
allocated at its end, by line, and what each collection's garbage took. But tracing
costs every allocation a traceback (32 frames here), and reading one collection's
garbage (graphs, labels, shapes) allocates many small objects: traced, it took thirty
times as long as the workload (seed strong: 31 s against 1 s). Stopping
``tracemalloc`` around it would forget every trace, the window's included.

So :func:`paused` bypasses it instead: ``tracemalloc`` works by installing its own
allocator hooks (``PyMem_SetAllocator``) over the interpreter's. The hooks it replaced
are read before it starts, and its own just after; :func:`paused` puts the plain
functions back for a while, then its own again, in all three domains (pymalloc hands
blocks over 512 bytes to the raw one). The context pointer is never changed, only the
functions: the plain ones ignore it, so a thread allocating raw memory without the GIL
while the hooks are switched sees either function with a context it can use, never a
half-written pair. What is allocated meanwhile has no trace, and freeing
it later is a no-op for ``tracemalloc``. What was traced before and freed meanwhile
would keep a stale trace: the reading frees nothing of the workload's (the garbage is
freed after it, traced, which is how its bytes are measured). The few objects of the
switch itself (ctypes' arguments) leave stale traces, whose frames are agmem's.

Pauses nest (:meth:`Tracing.pause`, :meth:`Tracing.resume`): a first-time import
(:mod:`.imports`) is paused while a collection's reading may be too, and the outermost
switches the hooks. The switch is one process-wide state, so the count and the switch
are kept under a reentrant lock (:data:`SWITCH_LOCK`), for the program's threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import tracemalloc
from collections.abc import Iterator

_RAW = 0

# Held while tracemalloc's hooks are switched, or it is stopped and started: see above.
SWITCH_LOCK = threading.RLock()
_DOMAINS = (_RAW, 1, 2)  # PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ


class _Allocator(ctypes.Structure):
    """``PyMemAllocatorEx``: a context and four functions."""

    _fields_ = [
        ("ctx", ctypes.c_void_p),
        ("malloc", ctypes.c_void_p),
        ("calloc", ctypes.c_void_p),
        ("realloc", ctypes.c_void_p),
        ("free", ctypes.c_void_p),
    ]


def _api(name: str) -> ctypes._CFuncPtr:
    function = getattr(ctypes.pythonapi, name)
    function.argtypes = [ctypes.c_int, ctypes.POINTER(_Allocator)]
    function.restype = None
    return function


_get_allocator = _api("PyMem_GetAllocator")
_set_allocator = _api("PyMem_SetAllocator")


def _read() -> list[_Allocator]:
    found = [_Allocator() for _ in _DOMAINS]
    for domain, allocator in zip(_DOMAINS, found, strict=True):
        _get_allocator(domain, ctypes.byref(allocator))
    return found


def _install(domains: list[tuple[int, _Allocator, _Allocator]], which: int) -> None:
    for entry in domains:
        _set_allocator(entry[0], ctypes.byref(entry[which]))


class Tracing:
    """``tracemalloc`` started (if no one else had), with :meth:`paused` to step around it."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.owned = False
        self._traced: list[_Allocator] = []
        # (domain, plain functions, tracemalloc's) for each domain switched
        self._domains: list[tuple[int, _Allocator, _Allocator]] = []
        self._depth = 0  # pauses open, all threads together
        self.switching = False  # the hooks are being switched (see _switch)

    def start(self) -> None:
        if tracemalloc.is_tracing():
            return  # someone else's: not ours to pause or stop
        plain = _read()
        tracemalloc.start(self.frames)
        self._traced = _read()
        # The plain functions with tracemalloc's context: see the module's docstring. Plain
        # functions that use their context (PYTHONMALLOC=debug, -X dev) keep their own, and
        # then the raw domain, which threads use without the GIL, is not switched.
        self._domains = []
        for domain, allocator, traced in zip(_DOMAINS, plain, self._traced, strict=True):
            if not allocator.ctx:
                allocator.ctx = traced.ctx
            elif domain == _RAW:
                continue
            self._domains.append((domain, allocator, traced))
        self.owned = True

    def stop(self) -> None:
        with SWITCH_LOCK:
            if self.owned and tracemalloc.is_tracing():
                tracemalloc.stop()  # puts the hooks it replaced back, whatever is installed
            self.owned = False
            self._depth = 0

    @property
    def depth(self) -> int:
        """Pauses open now (0: tracing, if it is on, is not paused)."""
        return self._depth

    def pause(self) -> None:
        """Tracing off until the matching :meth:`resume` (pauses nest, across threads too:
        the hooks switch at the outermost); a no-op when the tracing is not ours."""
        with SWITCH_LOCK, self._switching():
            if self._depth == 0 and (not self.owned or not tracemalloc.is_tracing()):
                return
            self._depth += 1
            if self._depth == 1:
                _install(self._domains, 1)

    def resume(self) -> None:
        """Ends one :meth:`pause` (the last one open puts ``tracemalloc``'s hooks back)."""
        with SWITCH_LOCK, self._switching():
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth == 0:
                _install(self._domains, 2)

    @contextlib.contextmanager
    def _switching(self) -> Iterator[None]:
        # A signal handler (the peak sampler's) may run between any two lines, in this
        # thread, where the lock does not keep it out: it reads ``switching`` and skips.
        outer = self.switching
        self.switching = True
        try:
            yield
        finally:
            self.switching = outer

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No tracing inside (when the tracing is ours), the same traces after."""
        self.pause()
        try:
            yield
        finally:
            self.resume()
