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
of them returns.
"""

from __future__ import annotations

import importlib._bootstrap as bootstrap  # type: ignore[import-not-found]
import threading
import time
import tracemalloc
from typing import Any


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
            self._frames = tracemalloc.get_traceback_limit() if tracemalloc.is_tracing() else 0
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
