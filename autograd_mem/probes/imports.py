"""First-time imports apart: untraced by ``tracemalloc``, and timed, while a pass is open.

Importing a large library under ``tracemalloc`` is slow out of all proportion: every
allocation records a traceback, and an import's tracebacks run deep through the import
machinery. ``import torch`` takes 2 s plain, 9 s traced with 1 frame and 98 s with 16 on
the development VM, which made an explain pass of a training script take 15 times its
plain run. What an import allocates is no leak of the program's loop either.

:class:`UntracedImports` stops tracing while a module is imported for the first time and
starts it again, with the same traceback limit, when the outermost such import returns.
Both ``import`` statements and ``importlib.import_module`` load a module that is not yet
in ``sys.modules`` through ``importlib._bootstrap._find_and_load`` (the interpreter looks
it up on that module at each import), so that one function is wrapped while the pass is
open. Stopping ``tracemalloc`` forgets the traces of objects alive then: a program's
imports come first, before its loop makes anything worth a line; a lazy import inside
the loop costs the traces of what the loop made before it (its next iterations are
traced again).

Imports in several threads at once share one depth count: tracing restarts when the last
of them returns. An import made by agmem's own work inside the pass (reading a
collection's garbage, counting what grew) is left traced: stopping then would forget
the traces that work is about to read. It is told apart by the innermost frame outside
the standard library and site-packages that asked for it.
"""

from __future__ import annotations

import importlib._bootstrap as bootstrap  # type: ignore[import-not-found]
import os
import sys
import sysconfig
import threading
import time
import tracemalloc
from typing import Any

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
    """Context manager: first-time imports run untraced inside it; their time is summed."""

    def __init__(self) -> None:
        self.seconds = 0.0  # time spent in outermost first-time imports
        self.imports = 0  # outermost first-time imports seen
        self._depth = 0
        self._frames = 0  # traceback limit to restart with; 0: tracing was off, leave it
        self._started = 0.0
        self._lock = threading.Lock()
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
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            self.imports += 1
            self._started = time.monotonic()
            tracing = tracemalloc.is_tracing() and not _asked_by_agmem()
            self._frames = tracemalloc.get_traceback_limit() if tracing else 0
            if self._frames:
                tracemalloc.stop()

    def _leave_import(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth > 0:
                return
            self.seconds += time.monotonic() - self._started
            # Only when it was ours to stop, and nobody (a collection's analysis, which
            # pauses tracing itself) has started it again meanwhile.
            if self._frames and not tracemalloc.is_tracing():
                tracemalloc.start(self._frames)
