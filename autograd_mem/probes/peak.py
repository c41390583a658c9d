"""What held the memory at the traced peak: ``tracemalloc``'s traces kept at the largest moment.

A leak held only by a function's locals (``def main(): cache = [...]``) is gone once the
function returns: counted at the end of the window, nothing grew, yet the memory was
held for the whole run. ``tracemalloc`` keeps its peak as one number, never the traces
that made it, so the explain pass samples: a daemon thread reads ``tracemalloc``'s
current size every :data:`INTERVAL_SECONDS`, and whenever it passes the largest size
kept so far by :data:`STEP_SHARE` (and by at least :data:`STEP_BYTES`), it copies the
traces. Only the largest copy is kept; it is read into lines (the user's line of each
traceback, :mod:`.allocations`) once the window has ended, when nothing else runs.

Why a copy of the raw traces, and why untraced: ``tracemalloc``'s own copy of its
table (``_tracemalloc._get_traces``, one C call that never lets another thread run)
is taken with tracing paused (:mod:`.tracing`), so the copy is not charged to the
program's current size or peak; freeing it later, traced, is a no-op for
``tracemalloc``. The collector is held off for that call: a collection there would
run the garbage watcher in this thread, with tracing paused, and mismeasure it.

What it can miss: a peak shorter than one interval, or between two samples, is read
at the largest sample below it (the report gives both figures: the sample's size
beside the peak ``tracemalloc`` saw). The copies cost time proportional to the
traces alive, a bounded number of times (each copy is at least 1 + ``STEP_SHARE``
times the last).
"""

from __future__ import annotations

import _tracemalloc  # type: ignore[import-not-found]
import gc
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.probes.tracing import SWITCH_LOCK, Tracing

INTERVAL_SECONDS = 0.005
# A new copy when the current size passed the kept one's by this share and these bytes.
STEP_SHARE = 1 / 16
STEP_BYTES = 256 << 10


@dataclass
class PeakTraces:
    """The largest traced moment sampled: the raw traces then, their total and when."""

    traces: list[Any] = field(default_factory=list, repr=False)
    traced_bytes: int = 0
    seconds: float = 0.0  # from the sampler's start
    peak_bytes: int = 0  # tracemalloc's own peak, as seen by the samples (between resets)

    def snapshot(self) -> tracemalloc.Snapshot:
        return tracemalloc.Snapshot(self.traces, tracemalloc.get_traceback_limit())


class PeakSampler:
    """Context manager: samples ``tracemalloc`` in a daemon thread while it is open; then
    :attr:`peak` holds the traces of the largest sample (see the module's docstring)."""

    def __init__(self, tracing: Tracing, interval: float = INTERVAL_SECONDS) -> None:
        self.tracing = tracing
        self.interval = interval
        self.peak = PeakTraces()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def __enter__(self) -> PeakSampler:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="agmem-peak", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        """Read the current size; copy the traces if it passed the kept copy's by a step."""
        if not tracemalloc.is_tracing():
            return
        current, peak = tracemalloc.get_traced_memory()
        kept = self.peak
        kept.peak_bytes = max(kept.peak_bytes, peak)
        step = max(STEP_BYTES, int(kept.traced_bytes * STEP_SHARE))
        if current < kept.traced_bytes + step:
            return
        traces = self._copy()
        if traces is None:
            return
        # The copy's own size, as tracemalloc would count it, is none: see the docstring.
        self.peak = PeakTraces(
            traces, sum(trace[1] for trace in traces),
            time.monotonic() - self._started, kept.peak_bytes,
        )

    def _copy(self) -> list[Any] | None:
        """The raw traces, copied untraced with the collector held off; None when another
        thread holds the switch (it is not waited for: the next sample will do).

        The collector's switch is read and set under :data:`~.tracing.SWITCH_LOCK`, as
        the explain pass's end does, so neither restores the other's setting."""
        if not SWITCH_LOCK.acquire(blocking=False):
            return None
        try:
            enabled = gc.isenabled()
            gc.disable()
            try:
                with self.tracing.paused():
                    return _tracemalloc._get_traces() if tracemalloc.is_tracing() else None
            finally:
                if enabled:
                    gc.enable()
        finally:
            SWITCH_LOCK.release()
