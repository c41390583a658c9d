"""What every measured pass shares: the interpreter it describes, the engine's modes, the baseline.

A workload's pass (``workload_pass``) and a program's (``program_pass``) both build on
these; neither imports the other, and neither imports the child's entry point.
"""

from __future__ import annotations

import gc
import platform
from contextlib import ExitStack
from typing import Any

from autograd_mem.probes import gc_probe, rss
from autograd_mem.schema.codec import to_plain
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Environment, RunResult, run_to_dict


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


def engine_modes(config: RunConfig) -> ExitStack:
    """The reference mode, and ``no_grad`` if asked, around everything the workload does."""
    from autograd_mem.engine import no_grad, reference_mode

    stack = ExitStack()
    stack.enter_context(reference_mode(config.mode))
    if config.no_grad:
        stack.enter_context(no_grad())
    return stack


def baseline() -> tuple[int, bool]:
    """Trim the heap, read the baseline RSS and reset the kernel's peak: (baseline, reset done).

    Trimmed first: memory the set-up freed would otherwise stay resident, be counted
    in the baseline and then reused by the workload, hiding part of its growth.
    """
    rss.release_free_heap()
    baseline_rss = rss.current_rss_bytes()
    return baseline_rss, rss.reset_peak_rss()


def collector_metrics(recorder: gc_probe.GcRecorder, layout: gc_probe.GcLayout) -> dict[str, Any]:
    """The collector's ``Metrics`` fields from what the recorder saw, per generation of
    ``layout``: shared by a workload's window and a program's."""
    counts, collected, uncollectable = recorder.per_raw_generation()
    pauses = recorder.pause
    return {
        "gc_collections": layout.fold(counts),
        "gc_collected_per_generation": layout.fold(collected),
        "gc_uncollectable_per_generation": layout.fold(uncollectable),
        "gc_collected": sum(collected),
        "gc_uncollectable": sum(uncollectable),
        "gc_pause_seconds": sum(pauses),
        "gc_max_pause_seconds": max(pauses, default=0.0),
    }


def ok_document(env: Environment, run: RunResult, start_seconds: float) -> dict[str, Any]:
    """The ``ok`` result a measured pass hands the parent, whatever it measured."""
    return {
        "status": "ok",
        "environment": to_plain(env),
        "run": run_to_dict(run),
        "workload_start_monotonic": start_seconds,
    }
