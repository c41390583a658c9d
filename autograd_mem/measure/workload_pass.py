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

from autograd_mem.measure import collector, series, timeline
from autograd_mem.measure.protocol import (
    BASELINE_RSS_BYTES,
    FLIGHT_BYTES,
    ITERATIONS_DONE,
    WINDOW_START_MONOTONIC,
    collector_cells,
)
from autograd_mem.measure.window import (
    WorkloadRaised,
    baseline,
    engine_modes,
    environment,
    ok_document,
)
from autograd_mem.probes import allocated, gc_probe, rss
from autograd_mem.schema.child import ChildResult, ChildStatus
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import IterationRecord, Metrics, RunResult

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
    from autograd_mem.targets.workload_spec import make_step

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
    """What the measured iterations left: their clock origin, per-bucket columns, collections.

    The iterations are folded as they run into at most ``series.MAX_POINTS`` buckets of
    ``per_bucket`` consecutive iterations each (one each for a run of up to that many):
    a bucket's last end time, and the most and the fewest live Variables and Functions
    at an iteration's end within it. So the window's own storage is the same few tens
    of kilobytes for a thousand iterations or ten million.
    ``traced_bytes`` is ``tracemalloc``'s (current, peak) over the iterations alone, or
    (None, None) when it was not asked for.
    """

    start_seconds: float
    columns: Columns
    recorder: gc_probe.GcRecorder
    traced_bytes: tuple[int | None, int | None]
    ready: tuple[int, bool] | None = None

    @property
    def end_seconds(self) -> array:
        return self.columns.end_seconds


@dataclasses.dataclass(frozen=True)
class Columns:
    """The window's per-bucket columns, allocated (and every page touched) before it opens."""

    iterations: int
    per_bucket: int
    end_seconds: array
    most_variables: array
    fewest_variables: array
    most_functions: array
    fewest_functions: array

    @classmethod
    def make(cls, iterations: int) -> Columns:
        per_bucket = -(-iterations // series.MAX_POINTS)
        buckets = -(-iterations // per_bucket)
        # 4-byte counts: two billion live Variables would need far more memory than exists.
        most, fewest = array("i", [-1]) * buckets, array("i", [2**31 - 1]) * buckets
        return cls(iterations, per_bucket, array("d", bytes(8 * buckets)), most,
                   array("i", fewest), array("i", most), array("i", fewest))


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
    flight: memoryview | None = None,
) -> Window:
    """Run the measured iterations, the collector watched, the census read per iteration.

    ``on_ready``: called once the window's storage exists, before anything else (the
    baseline RSS is read there: ``Window.ready``). ``flight``: see ``protocol``. Why it
    is shaped so: see the comment above.
    """
    from autograd_mem.engine import census

    columns = Columns.make(iterations)
    ends, per = columns.end_seconds, columns.per_bucket
    most_variables, fewest_variables = columns.most_variables, columns.fewest_variables
    most_functions, fewest_functions = columns.most_functions, columns.fewest_functions
    done = flight if flight is not None else memoryview(array("d", bytes(FLIGHT_BYTES)))
    recorder = gc_probe.GcRecorder(collector_cells(done))
    read_variables, read_functions = census.live_variables, census.live_functions
    # Each function the window calls is called once before its collection (3.10 makes a
    # tracked frame, kept for reuse, on a first call).
    read_variables(), read_functions(), census.reset_max()
    recorder.start(), recorder.stop()
    ready = None if on_ready is None else on_ready()
    done[BASELINE_RSS_BYTES] = ready[0] if ready is not None else 0
    gc.collect()  # set-up garbage, ours and the step's: counts start from zero
    census.reset_max()  # the high-water marks start from what is alive now
    clock, traced = time.monotonic, (None, None)
    recorder.start(read_stats=False)  # not ``with``: see GcRecorder
    try:
        if trace_memory:
            tracemalloc.start()
        start = clock()
        done[WINDOW_START_MONOTONIC] = start
        for i in range(iterations):
            step(i)
            bucket = i // per
            ends[bucket] = clock()
            variables, functions = read_variables(), read_functions()
            if variables > most_variables[bucket]:
                most_variables[bucket] = variables
            if variables < fewest_variables[bucket]:
                fewest_variables[bucket] = variables
            if functions > most_functions[bucket]:
                most_functions[bucket] = functions
            if functions < fewest_functions[bucket]:
                fewest_functions[bucket] = functions
            done[ITERATIONS_DONE] = i + 1
    except BaseException as exc:  # KeyboardInterrupt too: the workload's
        raise WorkloadRaised(exc) from exc
    finally:
        if trace_memory:
            traced = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        recorder.stop()
        recorder.release()
    return Window(start, columns, recorder, traced, ready)


def _prepared_step(config: RunConfig, modes: ExitStack) -> Callable[[int], object]:
    """A fresh step, ready to measure: RNGs seeded, collector policy and modes entered
    (on ``modes``, which the caller closes), warmed up, and its set-up garbage collected,
    so the collector's counts start from zero. Shared by the measured and explain passes
    so that both see the same workload in the same state.
    """
    from autograd_mem.targets.workload_spec import make_step

    _seed_everything(config)
    if config.gc_policy == "off":
        gc.disable()
    modes.enter_context(engine_modes(config))
    _warm_up(config)
    step = make_step(config)
    gc.collect()
    return step


def _per_iteration(window: Window) -> IterationRecord:
    """The window's buckets as the run document keeps them (see IterationRecord)."""
    c = window.columns
    return IterationRecord(
        end_seconds=tuple(end - window.start_seconds for end in c.end_seconds),
        live_variables=tuple(c.most_variables),
        live_functions=tuple(c.most_functions),
        iteration=tuple(range(0, c.iterations, c.per_bucket)),
        live_variables_min=tuple(c.fewest_variables),
        live_functions_min=tuple(c.fewest_functions),
    )


def _metrics(config: RunConfig, window: Window, layout: gc_probe.GcLayout,
             readings: dict[str, Any]) -> Metrics:
    """The run's figures from its window and the readings taken right after it."""
    from autograd_mem.targets.workload_spec import floor_bytes

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
        **collector.collector_metrics(window.recorder, layout),
        wall_seconds=wall,
        seconds_per_iteration=wall / config.iterations,
        uss_end_bytes=readings["uss"],
        tracemalloc_current_bytes=traced[0],
        tracemalloc_peak_bytes=traced[1],
        retained_bytes=readings["retained"],
    )


def measure(config: RunConfig, flight: memoryview | None = None) -> ChildResult:
    """Measure one run and return the ``ok`` document (``flight``: see run_window)."""
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

        window = run_window(step, config.iterations, config.tracemalloc, ready, flight)
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
    offset = window.start_seconds - window.recorder.origin_seconds
    record = window.recorder

    per_iteration = _per_iteration(window)

    def iteration_at(seconds: float) -> int:
        return timeline.iteration_at(per_iteration, seconds, config.iterations)

    run = RunResult(
        metrics=_metrics(config, window, layout, readings),
        gc_buckets=collector.gc_buckets(record, layout, offset, iteration_at),
        gc_longest_pauses=collector.longest_pauses(record, layout, offset, iteration_at),
        per_iteration=per_iteration,
        peak_rss_source=peak_source,
        incomplete=collector.collector_notes(record, offset),
    )
    return ok_document(env, run, window.start_seconds)


def explain(config: RunConfig, flight: memoryview | None = None) -> ChildResult:
    """Rerun with the explain pass (:class:`~autograd_mem.cycles.explain.ExplainPass`)
    around the window: what the collector found, what it had not reached yet when the
    window ended, and what grew."""
    # Imported here: it needs numpy, and the parent imports this module (for its exit
    # codes) without any need for numpy.
    from autograd_mem.cycles import explain as explain_probe

    with ExitStack() as modes:
        step = _prepared_step(config, modes)
        with explain_probe.ExplainPass() as explained:
            run_window(step, config.iterations, trace_memory=False, flight=flight)
            # The step stays alive: what it holds is not garbage, and the final
            # collection finds only what the window left to the collector.
            explained.end_window()
        del step
    return ChildResult(ChildStatus.OK, explain=explained.report())
