"""The measured child's side of a whole program: run it once as ``__main__``, inside a window.

A workload is called once per iteration after a warm-up; a program runs once, as
``python script.py`` would run it (``program.run_program``). The window opens just
before the program's first line: the set-up's garbage is collected, the heap trimmed,
the baseline RSS read and the kernel's peak reset, then the collector is watched (and
``tracemalloc`` started, if asked). It closes once the program and its non-daemon
threads have ended. Time takes the place of iterations: every collection keeps its
start in seconds from the program's first line.

Not done for a program, so that it runs unchanged: no warm-up (a program cannot run
twice), no seeding of ``random`` or numpy (its randomness is its own; ``PYTHONHASHSEED``
is fixed for every child). The reference mode and the collector policy still apply:
they are agmem's settings of the engine and of ``gc``, which a program may override.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from array import array
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from autograd_mem.measure import collector, guard
from autograd_mem.measure import window as shared
from autograd_mem.measure.protocol import (
    BASELINE_RSS_BYTES,
    WINDOW_START_MONOTONIC,
    collector_cells,
)
from autograd_mem.probes import allocated, gc_probe, rss
from autograd_mem.schema.child import ChildResult, ChildStatus
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import IterationRecord, Metrics, RunResult
from autograd_mem.targets import setup_mark
from autograd_mem.targets.program import ProgramSpec, run_program
from autograd_mem.targets.target import ProgramTarget


class ProgramWindow:
    """The measured span of a program: its baseline, collections and readings after its end.

    A context manager for ``run_program``'s ``window``: entered just before the program's
    first line, exited just after it (and its threads) ended. Its baseline, clock origin
    and collector record go into the child's flight record (``flight``) as they are
    taken, so the parent still has them if the program ends the process itself.

    The program owns the interpreter: it may clear ``gc.callbacks`` (the record then
    says from when the collector figures are missing), disable or freeze the collector,
    or stop ``tracemalloc`` (its figures are then left out, and the run says so).
    """

    def __init__(self, trace_memory: bool, flight: memoryview | None = None) -> None:
        from autograd_mem.engine import census  # numpy: imported with the engine

        self._census = census
        self.trace_memory = trace_memory
        self.flight = flight if flight is not None else memoryview(array("d", bytes(64)))
        self.recorder = gc_probe.GcRecorder(None if flight is None else collector_cells(flight))
        self.baseline_rss = 0
        self.reset_done = False
        self.start_seconds = 0.0
        self.end_seconds = 0.0
        self.traced: tuple[int | None, int | None] = (None, None)
        self.allocated_start: int | None = None
        self.readings: dict[str, Any] = {}
        self.notes: tuple[str, ...] = ()
        self.setup_marked_seconds: float | None = None  # the program's setup_done(), if called
        self._forget_resets: list[Callable[[], None]] = []
        self._marks = ExitStack()

    def __enter__(self) -> ProgramWindow:
        gc.collect()  # the set-up's garbage, agmem's own: counts start from zero
        self._census.reset_max()
        self.baseline_rss, self.reset_done = shared.baseline()
        self.flight[BASELINE_RSS_BYTES] = self.baseline_rss
        self._forget_resets.append(guard.reset_in_forked_copies(self.recorder.detach))
        self.allocated_start = allocated.allocated_bytes()
        self.recorder.start()
        if self.trace_memory:
            self._forget_resets.append(guard.reset_in_forked_copies(tracemalloc.stop))
            tracemalloc.start()
        self.start_seconds = time.monotonic()
        self.flight[WINDOW_START_MONOTONIC] = self.start_seconds
        self._marks.enter_context(setup_mark.listening(self._setup_done))
        return self

    def _setup_done(self) -> None:
        if self.setup_marked_seconds is None:  # set-up ends once: the first call
            self.setup_marked_seconds = time.monotonic() - self.start_seconds

    def __exit__(self, *exc: object) -> None:
        if guard.is_forked_copy():
            return  # a fork of the program returning through agmem: none of this is its
        self.end_seconds = time.monotonic()
        self._marks.close()
        if self.trace_memory:
            self._read_tracemalloc()
        self.recorder.stop()
        self.recorder.release()
        for forget in self._forget_resets:
            forget()
        peak_rss, peak_source = rss.peak_rss_bytes(self.reset_done)
        self.readings = {
            "peak_rss": peak_rss,
            "peak_source": peak_source,
            "end_rss": rss.current_rss_bytes(),
            "census": self._census.snapshot(),
            # Read before any collection: the program's globals, dropped by runpy, may be
            # alive only through a cycle until the next one, and what they hold is retained.
            "retained": allocated.allocated_since(self.allocated_start),
        }
        offset = self.start_seconds - self.recorder.origin_seconds
        self.notes += collector.collector_notes(self.recorder, offset)

    def _read_tracemalloc(self) -> None:
        if not tracemalloc.is_tracing():
            self.notes += ("no tracemalloc figures: the program stopped tracemalloc",)
            return
        self.traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    def lost_totals(self) -> tuple[tuple[int, ...], ...] | None:
        """The collector's own counts over the window, when the program removed the observer."""
        if self.recorder.state != gc_probe.LOST:
            return None
        return gc_probe.stats_delta(self.recorder.stats_before, self.recorder.stats_after)

    @property
    def wall_seconds(self) -> float:
        return self.end_seconds - self.start_seconds




def _metrics(window: ProgramWindow, layout: gc_probe.GcLayout, uss: int | None) -> Metrics:
    """The program's figures: those of a workload's run, with the program as its one iteration."""
    readings = window.readings
    live_variables, live_functions, max_variables, max_functions = readings["census"]
    return Metrics(
        baseline_rss_bytes=window.baseline_rss,
        peak_rss_bytes=readings["peak_rss"],
        peak_rss_growth_bytes=readings["peak_rss"] - window.baseline_rss,
        end_rss_bytes=readings["end_rss"],
        floor_bytes=None,
        live_variables_end=live_variables,
        live_functions_end=live_functions,
        max_live_variables=max_variables,
        max_live_functions=max_functions,
        **collector.collector_metrics(window.recorder, layout, window.lost_totals()),
        wall_seconds=window.wall_seconds,
        seconds_per_iteration=window.wall_seconds,
        uss_end_bytes=uss,
        tracemalloc_current_bytes=window.traced[0],
        tracemalloc_peak_bytes=window.traced[1],
        retained_bytes=readings["retained"],
        setup_marked_seconds=window.setup_marked_seconds,
    )


def _prepared(config: RunConfig, modes: ExitStack) -> ProgramSpec:
    """The program to run, with agmem's collector policy and engine modes entered on ``modes``."""
    if config.gc_policy == "off":
        gc.disable()
    modes.enter_context(shared.engine_modes(config))
    return ProgramTarget(config).spec


def measure(config: RunConfig, flight: memoryview | None = None) -> ChildResult:
    """Run the program once in a measured window and return the ``ok`` document."""
    layout = gc_probe.detect_layout()
    env = shared.environment(layout)
    window = ProgramWindow(config.tracemalloc, flight)
    with ExitStack() as modes:
        spec = _prepared(config, modes)
        status = run_program(spec, window)
    if guard.is_forked_copy():
        guard.end_forked_copy(status)
    uss = rss.uss_bytes() if config.uss else None
    offset = window.start_seconds - window.recorder.origin_seconds
    run = RunResult(
        metrics=_metrics(window, layout, uss),
        gc_buckets=collector.gc_buckets(window.recorder, layout, offset),
        gc_longest_pauses=collector.longest_pauses(window.recorder, layout, offset),
        per_iteration=IterationRecord(),
        peak_rss_source=window.readings["peak_source"],
        exit_status=status,
        incomplete=window.notes,
    )
    return shared.ok_document(env, run, window.start_seconds)


@contextmanager
def _explained(explained: Any) -> Iterator[None]:
    """The explain pass's window: the pass around the program, then its end (what grew,
    counted while the program's globals still exist, then one more collection for the
    cycles the program left when it ended)."""
    gc.collect()  # the set-up's garbage is not the program's
    with explained:
        yield
        explained.end_window(count_first=True)


def explain(config: RunConfig, flight: memoryview | None = None) -> ChildResult:
    """Rerun the program with the explain pass around it."""
    from autograd_mem.cycles import explain as explain_probe  # numpy: see workload_pass.explain

    explained = explain_probe.ExplainPass()
    with ExitStack() as modes:
        spec = _prepared(config, modes)
        modes.enter_context(setup_mark.listening(explained.setup_done))
        status = run_program(spec, _explained(explained))
    if guard.is_forked_copy():
        guard.end_forked_copy(status)
    return ChildResult(ChildStatus.OK, explain=explained.report(), exit_status=status)
