"""First-time imports apart while a pass is open: untraced, timed, sized and counted.

Importing a large library under ``tracemalloc`` is slow out of all proportion: every
allocation records a traceback, and an import's tracebacks run deep through the import
machinery. ``import torch`` takes 2 s plain, 9 s traced with 1 frame and 98 s with 16 on
the development VM, which made an explain pass of a training script take 15 times its
plain run. What an import allocates is no leak of the program's loop either: it is
set-up, reported apart ("imports: 690 MiB, 893 modules"), not as the program's growth.

:class:`UntracedImports` pauses tracing (:meth:`~.tracing.Tracing.pause`: ``tracemalloc``'s
hooks stepped around, its traces kept) while a module is imported for the first time,
and resumes it when the outermost such import returns. Both ``import`` statements and
``importlib.import_module`` load a module that is not yet in ``sys.modules`` through
``importlib._bootstrap._find_and_load`` (the interpreter looks it up on that module at
each import), so that one function is wrapped while the pass is open. Objects an import
makes have no trace, which is how the growth count tells them apart (:mod:`.growth`);
objects the program made before keep theirs, a lazy import inside a loop included.

Around each outermost first-time import, the modules ``sys.modules`` gained are
counted, and the allocators' bytes in use read (:mod:`.allocated`, about a millisecond),
so the report can say what the imports kept. Imports in several threads at once share
one depth count: tracing resumes when the last of them returns.

An import made by agmem's own work inside the pass (reading a collection's garbage,
counting what grew) is not counted: it is told apart by the innermost frame outside
the standard library and site-packages that asked for it.
"""

from __future__ import annotations

import importlib._bootstrap as bootstrap  # type: ignore[import-not-found]
import os
import sys
import sysconfig
import time
from typing import Any

from autograd_mem.probes import allocated
from autograd_mem.probes.tracing import SWITCH_LOCK, Tracing

_AGMEM = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_LIBRARIES = tuple(
    os.path.abspath(path) + os.sep
    for path in {sysconfig.get_path(n) for n in ("stdlib", "platstdlib", "purelib", "platlib")}
    if path
)


def _asked_by_agmem() -> bool:
    """Whether the innermost frame outside the libraries (and the import machinery) that
    asked for this import is agmem's own, rather than the program's."""
    frame = sys._getframe(3)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_AGMEM):
            return True
        if not (name.startswith("<") or name.startswith(_LIBRARIES)):
            return False
        frame = frame.f_back
    return False


class UntracedImports:
    """Context manager: first-time imports run untraced inside it (``tracing`` paused);
    their time, the modules they added and the bytes they kept are summed."""

    def __init__(self, tracing: Tracing | None = None) -> None:
        self.tracing = tracing
        self.seconds = 0.0  # time spent in outermost first-time imports
        self.imports = 0  # outermost first-time imports seen
        self.modules = 0  # entries sys.modules gained over them
        self.kept_bytes: int | None = 0  # allocators' bytes in use, after less before
        self._depth = 0
        self._ours = False  # the outermost import open is the program's (not agmem's)
        self._started = 0.0
        self._modules_before = 0
        self._bytes_before: int | None = None
        self._original: Any = None

    def __enter__(self) -> UntracedImports:
        self._original = bootstrap._find_and_load
        original = self._original

        def _find_and_load(name: str, import_: Any) -> Any:
            self._enter_import()
            try:
                return original(name, import_)
            finally:
                self._leave_import()

        bootstrap._find_and_load = _find_and_load
        return self

    def __exit__(self, *exc: object) -> None:
        bootstrap._find_and_load = self._original

    def _enter_import(self) -> None:
        with SWITCH_LOCK:
            self._depth += 1
            if self._depth > 1:
                return
            self._ours = not _asked_by_agmem()
            if not self._ours:
                return
            self.imports += 1
            self._started = time.monotonic()
            self._modules_before = len(sys.modules)
            if self.tracing is not None:
                self.tracing.pause()
            self._bytes_before = allocated.allocated_bytes()

    def _leave_import(self) -> None:
        with SWITCH_LOCK:
            self._depth -= 1
            if self._depth > 0 or not self._ours:
                return
            after = allocated.allocated_bytes()
            if self.kept_bytes is not None and after is not None and self._bytes_before is not None:
                self.kept_bytes += after - self._bytes_before
            else:
                self.kept_bytes = None
            self.modules += len(sys.modules) - self._modules_before
            if self.tracing is not None:
                self.tracing.resume()
            self.seconds += time.monotonic() - self._started
