"""A built-in or user workload's measured pass: a warm-up, then the iterations in a window.

One child measures one run in a fresh interpreter. It warms up, frees and trims what
the warm-up left, reads its baseline RSS and resets the kernel's peak, then runs the
iterations in a window (:func:`run_window`) that disturbs neither the collector nor
``tracemalloc``.
"""

from __future__ import annotations

import dataclasses
import gc
import random
import time
import tracemalloc
from array import array
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from autograd_mem.measure import series
from autograd_mem.measure.window import (
    WorkloadRaised,
    baseline,
    collector_metrics,
    engine_modes,
    environment,
    ok_document,
)
from autograd_mem.probes import allocated, gc_probe, rss
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import GcEvent, IterationRecord, Metrics, RunResult

# Iterations run (and thrown away with their state) before the measured ones: imports,
# numpy's first allocations and the interpreter's caches settle here, not in the figures.
WARMUP_ITERATIONS = 3


def _seed_everything(config: RunConfig) -> None:
    """Seed the global RNGs too, for user workloads that use ``random`` or ``np.random``."""
    import numpy as np

    random.seed(config.rng_seed)
    np.random.seed(config.rng_seed)


def _warm_up(config: RunConfig) -> None:
    """Run a few iterations on a throw-away step, then collect everything they left."""
    from autograd_mem.targets.workloads import make_step

    step = make_step(config)
    try:
        for i in range(min(WARMUP_ITERATIONS, config.iterations)):
            step(i)
    except BaseException as exc:  # KeyboardInterrupt, GeneratorExit: still the workload's
        raise WorkloadRaised(exc) from exc
    del step
    gc.collect()


@dataclasses.dataclass(frozen=True)
class Window:
    """What the measured iterations left: their clock origin, per-iteration columns, collections.

    ``traced_bytes`` is ``tracemalloc``'s (current, peak) over the iterations alone, or
    (None, None) when it was not asked for.
    """

    start_seconds: float
    end_seconds: array
    live_variables: array
    live_functions: array
    recorder: gc_probe.GcRecorder
    traced_bytes: tuple[int | None, int | None]
    ready: tuple[int, bool] | None = None


# Everything the bookkeeping needs (the columns, the recorder, its callback) is
# allocated *before* a collection that sets the collector's counts to zero, and the
# loop itself allocates no object the collector tracks: the clock's floats, the
# census's ints and the ``array`` stores are all untracked (``census.snapshot``,
# which returns a tuple, is read only after the loop for the high-water marks). So
# the collector runs at the same allocations as in an uninstrumented run of the
# same step: the collections per generation and the objects each generation
# collected equal those of a plain ``for i in range(n): step(i)`` between two
# readings of ``gc.get_stats()`` that keep nothing tracked. Checked with
# strong-mode ``seed`` (tens of thousands of objects collected) on CPython 3.10.13,
# 3.11.7, 3.12.1 and 3.13.0 by the script of
# ``tests/measure/test_child.py::test_instrumented_window_collects_like_a_plain_loop``,
# which checks it on every test run for the interpreter running the tests.
#
# ``tracemalloc`` is started just before the first iteration and read just after
# the last, so its figures hold the workload's allocations and the recorder's
# (whose arrays grow with each collection, deterministically), and nothing of
# agmem's own reads around the window. Those made the peak differ between runs by
# a block or two: each text-mode ``open()`` (of ``/proc/self/status``) builds a
# fresh ``"incrementaldecoder"`` string, 67 bytes on 3.11, for an attribute lookup,
# and CPython's type attribute cache keeps the last name looked up in each slot
# alive, the slot chosen from the string's *address*; so whether a given string
# outlives its lookup depends on where it was allocated, which varies from run to
# run. A workload that itself does such lookups (opens text files, ``getattr`` with
# names built at run time) varies the same way, in multiples of those strings.
def run_window(
    step: Callable[[int], object],
    iterations: int,
    trace_memory: bool,
    on_ready: Callable[[], tuple[int, bool]] | None = None,
    progress: memoryview | None = None,
) -> Window:
    """Run the measured iterations with the collector watched and the census read per iteration.

    ``on_ready`` is called once the window's own storage exists and before anything
    else happens: the measured pass reads its baseline RSS there (its result is
    ``Window.ready``), so that agmem's columns, 16 bytes per iteration (16 MB at a
    million), are in the baseline and never counted as the workload's growth. A hook
    rather than storage made by the caller: an object holding that storage, alive
    in the caller through the window, would be one tracked object more (see below).

    ``progress`` (``protocol.map_progress_counter``) gets the finished iterations' count.

    Why it is shaped so: see the comment above this function.
    """
    from autograd_mem.engine import census

    # Copied from zeros, so every page is touched now, not first faulted in by the loop.
    end_seconds = array("d", bytes(8 * iterations))
    # 4-byte counts: two billion live Variables would need far more memory than exists.
    live_variables = array("i", bytes(4 * iterations))
    live_functions = array("i", bytes(4 * iterations))
    recorder = gc_probe.GcRecorder()
    done = progress if progress is not None else memoryview(array("q", [0]))
    read_variables, read_functions = census.live_variables, census.live_functions
    # Every function the window calls is called once before the collection below:
    # CPython 3.10 makes a frame object (tracked, and kept for reuse) on a function's
    # first call, which would otherwise happen inside the window.
    read_variables(), read_functions(), census.reset_max()
    recorder.start(), recorder.stop()
    ready = None if on_ready is None else on_ready()
    gc.collect()  # set-up garbage, ours and the step's: counts start from zero
    census.reset_max()  # the high-water marks start from what is alive now
    clock = time.monotonic
    traced: tuple[int | None, int | None] = (None, None)
    recorder.start(read_stats=False)  # not ``with``: see GcRecorder
    try:
        if trace_memory:
            tracemalloc.start()
        start = clock()
        for i in range(iterations):
            step(i)
            end_seconds[i] = clock()
            live_variables[i] = read_variables()
            live_functions[i] = read_functions()
            done[0] = i + 1
    except BaseException as exc:  # a real SIGINT kills the child: see _follow_parent
        raise WorkloadRaised(exc) from exc
    finally:
        if trace_memory:
            traced = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        recorder.stop()
        recorder.release()
    return Window(start, end_seconds, live_variables, live_functions, recorder, traced, ready)


def _prepared_step(config: RunConfig, modes: ExitStack) -> Callable[[int], object]:
    """A fresh step, ready to measure: RNGs seeded, collector policy and modes entered
    (on ``modes``, which the caller closes), warmed up, and its set-up garbage collected,
    so the collector's counts start from zero. Shared by the measured and explain passes
    so that both see the same workload in the same state.
    """
    from autograd_mem.targets.workloads import make_step

    _seed_everything(config)
    if config.gc_policy == "off":
        gc.disable()
    modes.enter_context(engine_modes(config))
    _warm_up(config)
    step = make_step(config)
    gc.collect()
    return step


def _events(
    window: Window, collections: list[gc_probe.Collection], layout: gc_probe.GcLayout
) -> tuple[GcEvent, ...]:
    """Each collection, in the window's clock and tagged with the iteration it happened in.

    An event's generation is its index in the layout's labels, like the per-generation
    tuples (3.14's incremental "1" and "2" are both "old"); free-threaded builds have
    no labels, so their events keep CPython's raw number.
    """
    return tuple(
        GcEvent(
            generation=layout.slot(c.generation),
            collected=c.collected,
            uncollectable=c.uncollectable,
            pause_seconds=c.pause_seconds,
            iteration=gc_probe.iteration_at(window.end_seconds, c.start_seconds),
            seconds=c.start_seconds - window.start_seconds,
        )
        for c in collections
    )


def _per_iteration(window: Window) -> IterationRecord:
    """The window's columns in at most ``series.MAX_POINTS`` buckets (see IterationRecord).

    Read straight from the arrays, bucket by bucket: a million iterations never become
    a million Python objects at once.
    """
    ranges = series.bucket_ranges(len(window.end_seconds))
    start, ends = window.start_seconds, window.end_seconds
    fewest_variables, most_variables = series.bucket_min_max(window.live_variables, ranges)
    fewest_functions, most_functions = series.bucket_min_max(window.live_functions, ranges)
    return IterationRecord(
        end_seconds=tuple(ends[stop - 1] - start for _, stop in ranges),
        live_variables=tuple(most_variables),
        live_functions=tuple(most_functions),
        iteration=tuple(first for first, _ in ranges),
        live_variables_min=tuple(fewest_variables),
        live_functions_min=tuple(fewest_functions),
    )


def _metrics(config: RunConfig, window: Window, layout: gc_probe.GcLayout,
             readings: dict[str, Any]) -> Metrics:
    """The run's figures from its window and the readings taken right after it."""
    from autograd_mem.targets.workloads import floor_bytes

    traced = window.traced_bytes
    wall = window.end_seconds[-1] - window.start_seconds if window.end_seconds else 0.0
    return Metrics(
        baseline_rss_bytes=readings["baseline_rss"],
        peak_rss_bytes=readings["peak_rss"],
        peak_rss_growth_bytes=readings["peak_rss"] - readings["baseline_rss"],
        end_rss_bytes=readings["end_rss"],
        floor_bytes=floor_bytes(config),
        live_variables_end=readings["census"][0],
        live_functions_end=readings["census"][1],
        max_live_variables=readings["census"][2],
        max_live_functions=readings["census"][3],
        **collector_metrics(window.recorder, layout),
        wall_seconds=wall,
        seconds_per_iteration=wall / config.iterations,
        uss_end_bytes=readings["uss"],
        tracemalloc_current_bytes=traced[0],
        tracemalloc_peak_bytes=traced[1],
        retained_bytes=readings["retained"],
    )


def measure(config: RunConfig, progress: memoryview | None = None) -> dict[str, Any]:
    """Measure one run and return the ``ok`` document (``progress``: see run_window)."""
    from autograd_mem.engine import census

    layout = gc_probe.detect_layout()
    env = environment(layout)
    with ExitStack() as modes:
        step = _prepared_step(config, modes)
        allocated_at_start: list[int | None] = []

        def ready() -> tuple[int, bool]:
            # Before the window's own collection, like the baseline: nothing in the window.
            started = baseline()
            allocated_at_start.append(allocated.allocated_bytes())
            return started

        window = run_window(step, config.iterations, config.tracemalloc, ready, progress)
        assert window.ready is not None
        baseline_rss, reset_done = window.ready
        peak_rss, peak_source = rss.peak_rss_bytes(reset_done)
        readings = {
            "baseline_rss": baseline_rss,
            "peak_rss": peak_rss,
            "end_rss": rss.current_rss_bytes(),
            "census": census.snapshot(),
            "retained": allocated.allocated_since(allocated_at_start[0]),
        }
    readings["uss"] = rss.uss_bytes() if config.uss else None
    run = RunResult(
        metrics=_metrics(config, window, layout, readings),
        gc_events=_events(window, window.recorder.collections(), layout),
        per_iteration=_per_iteration(window),
        peak_rss_source=peak_source,
    )
    return ok_document(env, run, window.start_seconds)


def explain(config: RunConfig, progress: memoryview | None = None) -> dict[str, Any]:
    """Rerun with the explain pass (:class:`~autograd_mem.cycles.explain.ExplainPass`)
    around the window: what the collector found, what it had not reached yet when the
    window ended, and what grew."""
    # Imported here: it needs numpy, and the parent imports this module (for its exit
    # codes) without any need for numpy.
    from autograd_mem.cycles import explain as explain_probe

    with ExitStack() as modes:
        step = _prepared_step(config, modes)
        with explain_probe.ExplainPass() as explained:
            run_window(step, config.iterations, trace_memory=False, progress=progress)
            # The step stays alive: what it holds is not garbage, and the final
            # collection finds only what the window left to the collector.
            explained.end_window()
        del step
    return {"status": "ok", "explain": dataclasses.asdict(explained.report())}
