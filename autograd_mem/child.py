"""The measured child: ``python -m autograd_mem.child measure|explain CONFIG RESULT``.

One child measures one run in a fresh interpreter. It warms up, frees and trims what
the warm-up left, reads its baseline RSS and resets the kernel's peak, then runs the
iterations in a window (:func:`run_window`) that disturbs neither the collector nor
``tracemalloc``. Its result goes back as JSON written atomically to ``RESULT``
(stdout belongs to the workload). The document's ``status`` says how it ended:

- ``ok``: ``environment`` and ``run`` (a RunResult without timeline; the parent adds it
  from its RSS samples), and ``workload_start_monotonic``, the clock origin;
- ``workload-not-found``: the workload could not be imported (``message``);
- ``workload-raised``: the workload raised (``message``; the traceback is on stderr).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import platform
import random
import sys
import time
import traceback
import tracemalloc
from array import array
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from autograd_mem.errors import WorkloadError
from autograd_mem.probes import gc_probe, rss
from autograd_mem.result import (
    Environment,
    GcEvent,
    IterationRecord,
    Metrics,
    RunConfig,
    RunResult,
    dumps,
    from_plain,
    run_to_dict,
    write_atomic,
)

# Iterations run (and thrown away with their state) before the measured ones: imports,
# numpy's first allocations and the interpreter's caches settle here, not in the figures.
WARMUP_ITERATIONS = 3

# Exit codes that say how the child ended even when its result file cannot be read.
EXIT_WORKLOAD_NOT_FOUND = 4
EXIT_WORKLOAD_RAISED = 5


class WorkloadRaised(Exception):
    """The workload itself raised; carries the original exception."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


def environment(layout: gc_probe.GcLayout) -> Environment:
    """The interpreter this child is: what makes its collector counts comparable."""
    import numpy

    return Environment(
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        numpy_version=numpy.__version__,
        platform=platform.platform(),
        gc_generations=layout.labels,
        gc_layout=layout.name,
        gc_threshold=tuple(gc.get_threshold()),
    )


def _seed_everything(config: RunConfig) -> None:
    """Seed the global RNGs too, for user workloads that use ``random`` or ``np.random``."""
    import numpy as np

    random.seed(config.rng_seed)
    np.random.seed(config.rng_seed)


def _modes(config: RunConfig) -> ExitStack:
    """The reference mode, and ``no_grad`` if asked, around everything the workload does."""
    from autograd_mem.engine import no_grad, reference_mode

    stack = ExitStack()
    stack.enter_context(reference_mode(config.mode))
    if config.no_grad:
        stack.enter_context(no_grad())
    return stack


def _warm_up(config: RunConfig) -> None:
    """Run a few iterations on a throw-away step, then collect everything they left."""
    from autograd_mem.workloads import make_step

    step = make_step(config)
    try:
        for i in range(min(WARMUP_ITERATIONS, config.iterations)):
            step(i)
    except (Exception, SystemExit) as exc:
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


def run_window(
    step: Callable[[int], object],
    iterations: int,
    trace_memory: bool,
    on_ready: Callable[[], tuple[int, bool]] | None = None,
) -> Window:
    """Run the measured iterations with the collector watched and the census read per iteration.

    ``on_ready`` is called once the window's own storage exists and before anything
    else happens: the measured pass reads its baseline RSS there (its result is
    ``Window.ready``), so that agmem's columns, 24 bytes per iteration (24 MB at a
    million), are in the baseline and never counted as the workload's growth. A hook
    rather than storage made by the caller: an object holding that storage, alive
    in the caller through the window, would be one tracked object more (see below).

    Everything the bookkeeping needs (the columns, the recorder, its callback) is
    allocated *before* a collection that sets the collector's counts to zero, and the
    loop itself allocates no object the collector tracks: the clock's floats, the
    census's ints and the ``array`` stores are all untracked (``census.snapshot``,
    which returns a tuple, is read only after the loop for the high-water marks). So
    the collector runs at the same allocations as in an uninstrumented run of the
    same step: the collections per generation and the objects each generation
    collected equal those of a plain ``for i in range(n): step(i)`` between two
    readings of ``gc.get_stats()`` that keep nothing tracked. Checked with
    strong-mode ``seed`` (tens of thousands of objects collected) on CPython 3.10.13,
    3.11.7, 3.12.1 and 3.13.0 by the script of
    ``tests/test_child.py::test_instrumented_window_collects_like_a_plain_loop``,
    which checks it on every test run for the interpreter running the tests.

    ``tracemalloc`` is started just before the first iteration and read just after
    the last, so its figures hold the workload's allocations and the recorder's
    (whose arrays grow with each collection, deterministically), and nothing of
    agmem's own reads around the window. Those made the peak differ between runs by
    a block or two: each text-mode ``open()`` (of ``/proc/self/status``) builds a
    fresh ``"incrementaldecoder"`` string, 67 bytes on 3.11, for an attribute lookup,
    and CPython's type attribute cache keeps the last name looked up in each slot
    alive, the slot chosen from the string's *address*; so whether a given string
    outlives its lookup depends on where it was allocated, which varies from run to
    run. A workload that itself does such lookups (opens text files, ``getattr`` with
    names built at run time) varies the same way, in multiples of those strings.
    """
    from autograd_mem.engine import census

    # Copied from zeros, so every page is touched now, not first faulted in by the loop.
    end_seconds = array("d", bytes(8 * iterations))
    live_variables = array("q", bytes(8 * iterations))
    live_functions = array("q", bytes(8 * iterations))
    recorder = gc_probe.GcRecorder()
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
    recorder.start()  # not ``with``: see GcRecorder
    try:
        if trace_memory:
            tracemalloc.start()
        start = clock()
        for i in range(iterations):
            step(i)
            end_seconds[i] = clock()
            live_variables[i] = read_variables()
            live_functions[i] = read_functions()
    except (Exception, SystemExit) as exc:
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
    from autograd_mem.workloads import make_step

    _seed_everything(config)
    if config.gc_policy == "off":
        gc.disable()
    modes.enter_context(_modes(config))
    _warm_up(config)
    step = make_step(config)
    gc.collect()
    return step


def _baseline() -> tuple[int, bool]:
    """Trim the heap, read the baseline RSS and reset the kernel's peak: (baseline, reset done).

    Trimmed first: memory the set-up freed would otherwise stay resident, be counted
    in the baseline and then reused by the workload, hiding part of its growth.
    """
    rss.release_free_heap()
    baseline_rss = rss.current_rss_bytes()
    return baseline_rss, rss.reset_peak_rss()


def measure(config: RunConfig) -> dict[str, Any]:
    """Measure one run and return the ``ok`` document."""
    from autograd_mem.engine import census
    from autograd_mem.workloads import floor_bytes

    layout = gc_probe.detect_layout()
    env = environment(layout)
    with ExitStack() as modes:
        step = _prepared_step(config, modes)
        window = run_window(step, config.iterations, config.tracemalloc, _baseline)
        assert window.ready is not None
        baseline_rss, reset_done = window.ready
        peak_rss, peak_source = rss.peak_rss_bytes(reset_done)
        end_rss = rss.current_rss_bytes()
        live_variables, live_functions, max_variables, max_functions = census.snapshot()
    uss = rss.uss_bytes() if config.uss else None

    recorder, start, end_seconds = window.recorder, window.start_seconds, window.end_seconds
    traced = window.traced_bytes
    collections = recorder.collections()
    end_relative = [t - start for t in end_seconds]
    # An event's generation is its index in the layout's labels, like the per-generation
    # tuples (3.14's incremental "1" and "2" are both "old"); free-threaded builds have
    # no labels, so their events keep CPython's raw number.
    events = tuple(
        GcEvent(
            generation=layout.slot(c.generation),
            collected=c.collected,
            uncollectable=c.uncollectable,
            pause_seconds=c.pause_seconds,
            iteration=gc_probe.iteration_at(end_seconds, c.start_seconds),
            seconds=c.start_seconds - start,
        )
        for c in collections
    )
    counts, collected, uncollectable = recorder.per_raw_generation()
    wall = end_relative[-1] if end_relative else 0.0
    pauses = [c.pause_seconds for c in collections]
    metrics = Metrics(
        baseline_rss_bytes=baseline_rss,
        peak_rss_bytes=peak_rss,
        peak_rss_growth_bytes=peak_rss - baseline_rss,
        end_rss_bytes=end_rss,
        floor_bytes=floor_bytes(config),
        live_variables_end=live_variables,
        live_functions_end=live_functions,
        max_live_variables=max_variables,
        max_live_functions=max_functions,
        gc_collections=layout.fold(counts),
        gc_collected_per_generation=layout.fold(collected),
        gc_uncollectable_per_generation=layout.fold(uncollectable),
        gc_collected=sum(collected),
        gc_uncollectable=sum(uncollectable),
        gc_pause_seconds=sum(pauses),
        gc_max_pause_seconds=max(pauses, default=0.0),
        wall_seconds=wall,
        seconds_per_iteration=wall / config.iterations,
        uss_end_bytes=uss,
        tracemalloc_current_bytes=traced[0],
        tracemalloc_peak_bytes=traced[1],
    )
    run = RunResult(
        metrics=metrics,
        gc_events=events,
        per_iteration=IterationRecord(
            end_seconds=tuple(end_relative),
            live_variables=tuple(window.live_variables),
            live_functions=tuple(window.live_functions),
        ),
        peak_rss_source=peak_source,
    )
    return {
        "status": "ok",
        "environment": dataclasses.asdict(env),
        "run": run_to_dict(run),
        "workload_start_monotonic": start,
        # The collector's own account of the same span, for checking the callbacks' one.
        "gc_stats_delta": gc_probe.stats_delta(recorder.stats_before, recorder.stats_after),
    }


def explain(config: RunConfig) -> dict[str, Any]:
    """Rerun with ``gc.DEBUG_SAVEALL`` and tally what the collector found."""
    # Imported here: it needs numpy, and the parent imports this module (for its exit
    # codes) without any need for numpy.
    from autograd_mem.probes import explain as explain_probe

    with ExitStack() as modes:
        step = _prepared_step(config, modes)
        with explain_probe.GarbageTally() as tally:
            run_window(step, config.iterations, trace_memory=False)
            # With the collector off nothing was collected yet: one collection now shows
            # what it would have found; with it on, this adds what the last one left.
            del step
            gc.collect()
    return {"status": "ok", "explain": dataclasses.asdict(tally.report())}


def main(argv: list[str] | None = None) -> int:
    """Entry point; the exit code tells the parent how the run ended even if the file is lost."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("measure", "explain"):
        print(
            "usage: python -m autograd_mem.child measure|explain CONFIG_JSON RESULT_JSON",
            file=sys.stderr,
        )
        return 2
    role, config_path, result_path = args
    with open(config_path, encoding="utf-8") as handle:
        config = from_plain(RunConfig, json.load(handle), "config")
    try:
        document = measure(config) if role == "measure" else explain(config)
        code = 0
    except WorkloadError as exc:
        # Not printed: the parent shows the message, and the stderr tail it shows
        # beneath would only repeat it. The exit code says which failure it was if
        # the result file is lost.
        document = {"status": "workload-not-found", "message": exc.message}
        code = EXIT_WORKLOAD_NOT_FOUND
    except WorkloadRaised as exc:
        original = exc.original
        traceback.print_exception(type(original), original, original.__traceback__, file=sys.stderr)
        document = {"status": "workload-raised", "message": str(exc)}
        code = EXIT_WORKLOAD_RAISED
    sys.stdout.flush()
    write_atomic(result_path, dumps(document))
    return code


if __name__ == "__main__":
    sys.exit(main())
