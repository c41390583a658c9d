"""The timeline of a run: the parent's RSS samples aligned with the child's clock. Pure.

The child reports its window's start and, for a workload, when each (bucket of)
iteration(s) ended, in ``time.monotonic()`` seconds; the parent's samples carry the
same clock (CLOCK_MONOTONIC, one clock for every process on Linux). Nothing here
starts a process: the alignment is tested on numbers alone.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right

from autograd_mem.probes.rss import Samples
from autograd_mem.schema.run import IterationRecord, RunResult, Timeline


def iteration_at(record: IterationRecord, seconds: float, iterations: int) -> int:
    """The iteration in progress ``seconds`` after the first began, from the bucketed record.

    Exact while each bucket is one iteration; inside a longer bucket, placed in
    proportion to the time its iterations took. 0 when there are no iterations (a program).
    """
    ends = record.end_seconds
    if not ends:
        return 0
    bucket = bisect_right(ends, seconds)
    if bucket >= len(ends):
        return max(iterations - 1, 0)
    first = record.iteration[bucket]
    last = record.iteration[bucket + 1] - 1 if bucket + 1 < len(ends) else iterations - 1
    began = ends[bucket - 1] if bucket else 0.0
    span = ends[bucket] - began
    offset = int((seconds - began) / span * (last - first + 1)) if span > 0 else 0
    return min(first + max(offset, 0), last)


def with_timeline(
    run: RunResult, start: float, samples: Samples, iterations: int, *, children: bool
) -> RunResult:
    """``run`` with the samples from its window's ``start`` to its end as its timeline.

    Samples outside that span (interpreter start-up, writing the result) are dropped:
    the timeline shows the run, and ``seconds`` counts from its start. It lies between
    the child's own readings at the edges: its baseline RSS at 0 s (iteration 0), and
    a workload's end RSS at its last iteration's end, so every timeline starts at 0
    with a real reading, even a run shorter than the sampling interval. ``children``:
    the descendants' series and peaks go in too (a program's workers); they are left
    out (None) when no sample fell inside the run, so no figure says 0 for the unknown.
    """
    metrics = run.metrics
    span = metrics.wall_seconds
    lo = bisect_left(samples.seconds, start)
    hi = bisect_right(samples.seconds, start + span)
    seconds = [0.0, *(samples.seconds[k] - start for k in range(lo, hi))]
    highs = [metrics.baseline_rss_bytes, *samples.rss_bytes[lo:hi]]
    lows = [metrics.baseline_rss_bytes, *samples.rss_bytes_min[lo:hi]]
    counted = bool(run.per_iteration.end_seconds)  # a workload's iterations
    if counted:
        seconds.append(span)
        highs.append(metrics.end_rss_bytes)
        lows.append(metrics.end_rss_bytes)
    steps = [iteration_at(run.per_iteration, t, iterations) for t in seconds]
    steps[0] = 0
    if counted:
        steps[-1] = iterations - 1
    timeline = Timeline(seconds=tuple(seconds), rss_bytes=tuple(highs), iteration=tuple(steps),
                        rss_bytes_min=tuple(lows))
    run = dataclasses.replace(run, timeline=timeline)
    if not children or hi <= lo or len(samples.children_rss_bytes) < hi:
        return run
    below = tuple(samples.children_rss_bytes[lo:hi])
    metrics = dataclasses.replace(
        metrics,
        children_peak_rss_bytes=max(below),
        # Exact: the highest sum of the process's and its descendants' RSS at one moment.
        tree_peak_rss_bytes=samples.peak_tree_bytes,
    )
    # The series starts with 0 at the program's first line, where it has started none.
    timeline = dataclasses.replace(timeline, children_rss_bytes=(0, *below))
    return dataclasses.replace(run, timeline=timeline, metrics=metrics)
