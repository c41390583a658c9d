"""What held the memory at the traced peak: ``tracemalloc``'s traces kept at the largest moment.

A leak held only by a function's locals (``def main(): cache = [...]``) is gone once the
function returns: counted at the end of the window, nothing grew, yet the memory was
held for the whole run. ``tracemalloc`` keeps its peak as one number, never the traces
that made it, so the explain pass samples: a daemon thread reads ``tracemalloc``'s
current size every :data:`INTERVAL_SECONDS`, and whenever it passes the largest size
copied so far by :data:`STEP_SHARE` (and by at least :data:`STEP_BYTES`), the traces
are copied. Only the largest copy is kept; it is read into lines (the user's line of
each traceback, :mod:`.allocations`) once the window has ended, when nothing else runs.

Where the copy is taken, and how:

- In the main thread, between two of the program's bytecodes: the sampler's thread
  asks for a sample every interval with ``_thread.interrupt_main`` and a signal number
  of its own (a real-time signal, which nothing sends: the call only simulates its
  arrival, and Python runs the handler in the main thread). Copied in the sampler's
  thread, the program went on running whenever the interpreter handed it the GIL
  mid-copy, untraced (tracing is paused for the copy), and its objects had no trace.
- With tracing paused (:mod:`.tracing`): ``_tracemalloc._get_traces`` copies the table
  in one C call, and the copy is not charged to the program's current size or peak;
  freeing it later, traced, is a no-op for ``tracemalloc``.
- With the collector held off: a collection there would run the garbage watcher with
  tracing paused, and mismeasure it.

Without a main thread to ask (the pass runs in another thread, or the platform has no
real-time signals) nothing is sampled but the window's end. What it can miss: a peak
shorter than one interval, or between two samples, is read at the largest sample below
it (the report gives both: the sample's size, beside the peak ``tracemalloc`` saw).
The copies cost time proportional to the traces alive, a bounded number of times
(each copy is at least 1 + ``STEP_SHARE`` times the last).
"""

from __future__ import annotations

import _thread
import _tracemalloc  # type: ignore[import-not-found]
import contextlib
import gc
import signal
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.probes.tracing import Tracing

INTERVAL_SECONDS = 0.01
# A new copy when the current size passed the kept one's by this share and these bytes.
STEP_SHARE = 1 / 16
STEP_BYTES = 256 << 10

# The signal number the sampler's requests come under (never sent: see the docstring).
_SIGNAL = int(signal.SIGRTMIN) + 7 if hasattr(signal, "SIGRTMIN") else None


@dataclass
class PeakTraces:
    """The largest traced moment sampled: the raw traces then, their total and when."""

    traces: list[Any] = field(default_factory=list, repr=False)
    traced_bytes: int = 0
    seconds: float = 0.0  # from the sampler's start
    peak_bytes: int = 0  # tracemalloc's own peak, as the samples saw it (between resets)

    def snapshot(self) -> tracemalloc.Snapshot:
        return tracemalloc.Snapshot(self.traces, tracemalloc.get_traceback_limit())


class PeakSampler:
    """Context manager: samples ``tracemalloc`` while it is open; then :attr:`peak` holds
    the traces of the largest sample (see the module's docstring). Enter it in the main
    thread; elsewhere it samples only when :meth:`sample` is called."""

    def __init__(self, tracing: Tracing, interval: float = INTERVAL_SECONDS) -> None:
        self.tracing = tracing
        self.interval = interval
        self.peak = PeakTraces()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._started = 0.0
        # One bound method, compared by identity (never made again in the thread).
        self._handler: Any = self._on_request
        self._old_handler: Any = None

    def __enter__(self) -> PeakSampler:
        self._started = time.monotonic()
        if _SIGNAL is None or threading.current_thread() is not threading.main_thread():
            return self
        self._old_handler = signal.signal(_SIGNAL, self._handler)
        self._thread = threading.Thread(target=self._run, name="agmem-peak", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if signal.getsignal(_SIGNAL) is self._handler:  # else the program's now: leave it
                signal.signal(_SIGNAL, self._old_handler)
        # The bound method refers to this sampler: a cycle, which the watcher would find.
        self._handler = None

    def restart(self) -> None:
        """Forget the copy kept: the largest moment is sought from now on (after set-up)."""
        self.peak = PeakTraces()

    def _run(self) -> None:
        """Asks the main thread to sample, every interval. Allocates nothing the collector
        counts (no Event, no tuple, no bound method): an allocation here could start a
        collection in this thread, and move the program's collections."""
        sleep, interrupt, getsignal = time.sleep, _thread.interrupt_main, signal.getsignal
        while not self._stopping:
            sleep(self.interval)
            if getsignal(_SIGNAL) is self._handler:
                interrupt(_SIGNAL)

    def _due(self) -> bool:
        """Whether the current size passed the kept copy's by a step (the peak seen noted)."""
        if not tracemalloc.is_tracing():
            return False
        current, peak = tracemalloc.get_traced_memory()
        kept = self.peak
        kept.peak_bytes = max(kept.peak_bytes, peak)
        step = max(STEP_BYTES, int(kept.traced_bytes * STEP_SHARE))
        return current >= kept.traced_bytes + step

    def _on_request(self, signum: int, frame: Any) -> None:
        """The handler, in the main thread between two of the program's bytecodes: never
        raises into the program."""
        if self.tracing.switching:  # interrupted a pause's own switch: the next sample will do
            return
        with contextlib.suppress(Exception):  # agmem's sampling must not end the program
            self.sample()

    def sample(self) -> None:
        """Copy the traces if the current size passed the kept copy's by a step."""
        if self.tracing.depth > 0:  # inside a pause (an import's): it must stay one
            return
        if not self._due():
            return
        traces = self._copy()
        if traces is None:
            return
        self.peak = PeakTraces(
            traces, sum(trace[1] for trace in traces),
            time.monotonic() - self._started, self.peak.peak_bytes,
        )

    def _copy(self) -> list[Any] | None:
        """The raw traces, copied untraced with the collector held off."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            with self.tracing.paused():
                return _tracemalloc._get_traces() if tracemalloc.is_tracing() else None
        finally:
            if enabled:
                gc.enable()
