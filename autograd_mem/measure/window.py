"""What every measured pass shares: the interpreter it describes, the engine's modes, the baseline.

A workload's pass (``workload_pass``) and a program's (``program_pass``) both build on
these; neither imports the other, and neither imports the child's entry point.
"""

from __future__ import annotations

import gc
import importlib.metadata
import platform
from contextlib import ExitStack

from autograd_mem.probes import gc_probe, rss
from autograd_mem.schema.child import ChildResult, ChildStatus
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Environment, RunResult


class WorkloadRaised(Exception):
    """The workload itself raised; carries the original exception."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


def environment(layout: gc_probe.GcLayout) -> Environment:
    """The interpreter this child is: what makes its collector counts comparable.

    The parent asks too, of the same interpreter, for a program that ended its process
    before the child could say: numpy's version is read without importing numpy.
    """
    return Environment(
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        numpy_version=importlib.metadata.version("numpy"),
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


def ok_document(env: Environment, run: RunResult, start_seconds: float) -> ChildResult:
    """The ``ok`` result a measured pass hands the parent, whatever it measured."""
    return ChildResult(
        ChildStatus.OK, environment=env, run=run, workload_start_monotonic=start_seconds
    )
