"""The figures of a program that ended its process itself: what the parent saw, and the
child's flight record.

A program may end with ``os._exit(n)``, a signal it sent itself, or one from elsewhere;
its child then writes no result. The run is still the program's, and still measured:
RSS, its peak and the timeline come from the parent's samples, the baseline and the
collector's figures from the flight record the child kept as it went (``protocol``).
What cannot be known so is left out and said: the kernel's exact peak, the live-object
counts, ``tracemalloc``.
"""

from __future__ import annotations

from autograd_mem.errors import RunFailedError
from autograd_mem.measure import collector, outcome
from autograd_mem.measure.protocol import (
    BASELINE_RSS_BYTES,
    WINDOW_START_MONOTONIC,
    collector_cells,
)
from autograd_mem.measure.window import environment
from autograd_mem.probes import gc_probe
from autograd_mem.probes.rss import Samples
from autograd_mem.schema.child import ChildResult, ChildStatus
from autograd_mem.schema.run import Metrics, RunResult


def how_it_ended(returncode: int, oom: outcome.OomEvidence) -> str:
    if returncode >= 0:
        return (f"the program ended its process itself with status {returncode} (os._exit or "
                "the like), without Python's normal exit")
    return f"the program's process was {outcome.how_killed(-returncode, oom)}"


def unfinished_result(
    flight: memoryview | None,
    samples: Samples,
    ended_monotonic: float,
    returncode: int,
    oom: outcome.OomEvidence,
) -> ChildResult:
    """The result a program's child would have written, from what survived its end.

    Raises RunFailedError when the program had not started (its window never opened):
    then the child, not the program, ended, and that is agmem's failure to say.
    """
    start = flight[WINDOW_START_MONOTONIC] if flight is not None else 0.0
    if flight is None or not start:
        raise RunFailedError(
            f"the measured child ended before the program started "
            f"({outcome.exit_status(returncode)}: {how_it_ended(returncode, oom)})"
        )
    layout = gc_probe.detect_layout()
    record = gc_probe.GcRecord(collector_cells(flight))
    offset = start - record.origin_seconds
    baseline = int(flight[BASELINE_RSS_BYTES])
    peak = max(samples.peak_rss_bytes, baseline)
    wall = max(ended_monotonic - start, 0.0)
    metrics = Metrics(
        baseline_rss_bytes=baseline, peak_rss_bytes=peak, peak_rss_growth_bytes=peak - baseline,
        end_rss_bytes=samples.last_rss_bytes, floor_bytes=None,
        live_variables_end=0, live_functions_end=0, max_live_variables=0, max_live_functions=0,
        **collector.collector_metrics(record, layout),
        wall_seconds=wall, seconds_per_iteration=wall,
    )
    notes = (
        how_it_ended(returncode, oom),
        "peak RSS is the highest of the parent's samples, not the kernel's high-water mark; "
        "live-object counts and tracemalloc figures could not be read",
        *collector.collector_notes(record, offset),
    )
    run = RunResult(
        metrics=metrics,
        gc_buckets=collector.gc_buckets(record, layout, offset),
        gc_longest_pauses=collector.longest_pauses(record, layout, offset),
        peak_rss_source="samples",
        exit_status=outcome.exit_status(returncode),
        incomplete=notes,
    )
    return ChildResult(ChildStatus.OK, environment=environment(layout), run=run,
                       workload_start_monotonic=start)
