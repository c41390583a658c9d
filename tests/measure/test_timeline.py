"""The timeline's alignment, on numbers alone: no process is started here."""

from __future__ import annotations

import dataclasses

import pytest
from reporters.factory import MiB, make_run

from autograd_mem.measure.timeline import iteration_at, with_timeline
from autograd_mem.probes.rss import Samples
from autograd_mem.schema.run import IterationRecord, RunResult


def _record(end_seconds: tuple[float, ...], iteration: tuple[int, ...]) -> IterationRecord:
    """The child's record of iteration ends (its census columns, unread here, all 0)."""
    zeros = (0,) * len(iteration)
    return IterationRecord(end_seconds=end_seconds, iteration=iteration, live_variables=zeros,
                           live_functions=zeros, live_variables_min=zeros,
                           live_functions_min=zeros)


ONE_PER_ITERATION = _record((1.0, 2.0, 3.0), (0, 1, 2))
# Two buckets of ten iterations: 0-9 ended at 1 s, 10-19 at 3 s.
TWO_BUCKETS = _record((1.0, 3.0), (0, 10))


def test_a_program_has_no_iteration_in_progress() -> None:
    assert iteration_at(IterationRecord(), 12.5, 0) == 0


@pytest.mark.parametrize(("seconds", "iteration"), [
    (0.0, 0), (0.5, 0), (1.0, 1),  # iteration 0 ends at 1.0: from then on, 1 is in progress
    (2.999, 2), (3.0, 2), (99.0, 2),  # after the last end: the last iteration
])
def test_one_bucket_per_iteration_is_exact(seconds: float, iteration: int) -> None:
    assert iteration_at(ONE_PER_ITERATION, seconds, 3) == iteration


@pytest.mark.parametrize(("seconds", "iteration"), [
    (0.0, 0), (0.55, 5), (0.999, 9),  # 10 iterations in 1 s
    (1.0, 10), (2.0, 15), (2.99, 19),  # 10 more in the next 2 s
])
def test_inside_a_bucket_iterations_are_placed_in_proportion_to_time(
    seconds: float, iteration: int
) -> None:
    assert iteration_at(TWO_BUCKETS, seconds, 20) == iteration


def test_buckets_that_took_no_time_divide_nothing_by_zero() -> None:
    instant = _record((1.0, 1.0, 2.0), (0, 4, 8))
    assert iteration_at(instant, 1.0, 10) == 8  # bisect_right skips past equal ends
    stalled = _record((0.0, 1.0), (0, 5))  # the first bucket ended as the window began
    assert iteration_at(stalled, 0.0, 10) == 5
    assert iteration_at(stalled, -0.1, 10) == 0  # a sample just before: its first iteration


def _workload_run(per_iteration: IterationRecord = ONE_PER_ITERATION) -> RunResult:
    run = make_run(peak_growth_bytes=4 * MiB, collected=0, iterations=3, wall_seconds=3.0)
    return dataclasses.replace(run, per_iteration=per_iteration)


def _samples(*points: tuple[float, int] | tuple[float, int, int]) -> Samples:
    samples = Samples()
    for point in points:
        samples.add(*point)
    return samples


def test_a_workloads_timeline_runs_from_its_baseline_to_its_end_reading() -> None:
    # Given samples before, inside and after a window that starts at 100 s and lasts 3 s
    run = _workload_run()
    samples = _samples((99.0, 1 * MiB), (100.5, 31 * MiB), (102.5, 33 * MiB), (104.0, 2 * MiB))
    # When they are aligned with the child's clock
    timeline = with_timeline(run, 100.0, samples, 3, children=False).timeline
    # Then only the window's samples are kept, between the child's own edge readings
    metrics = run.metrics
    assert timeline.seconds == (0.0, 0.5, 2.5, 3.0)
    assert timeline.rss_bytes == (metrics.baseline_rss_bytes, 31 * MiB, 33 * MiB,
                                  metrics.end_rss_bytes)
    assert timeline.iteration == (0, 0, 2, 2)
    assert timeline.rss_bytes_min == timeline.rss_bytes  # one sample per bucket
    assert timeline.children_rss_bytes == ()


def test_a_run_shorter_than_the_sampling_interval_still_has_both_edges() -> None:
    timeline = with_timeline(_workload_run(), 100.0, _samples((99.0, MiB)), 3,
                             children=False).timeline
    assert timeline.seconds == (0.0, 3.0) and timeline.iteration == (0, 2)


def test_a_programs_timeline_has_no_end_point_and_no_iterations() -> None:
    run = _workload_run(IterationRecord())
    samples = _samples((100.25, 31 * MiB, 0), (101.0, 40 * MiB, 5 * MiB))
    aligned = with_timeline(run, 100.0, samples, 0, children=True)
    assert aligned.timeline.seconds == (0.0, 0.25, 1.0)
    assert aligned.timeline.iteration == (0, 0, 0)
    # Its workers' series starts with 0 at its first line; their peaks are the samples'
    assert aligned.timeline.children_rss_bytes == (0, 0, 5 * MiB)
    assert aligned.metrics.children_peak_rss_bytes == 5 * MiB
    assert aligned.metrics.tree_peak_rss_bytes == 45 * MiB


def test_children_unsampled_in_the_window_are_unknown_not_zero() -> None:
    run = _workload_run(IterationRecord())
    outside = _samples((99.0, MiB, 7 * MiB), (200.0, MiB, 7 * MiB))
    aligned = with_timeline(run, 100.0, outside, 0, children=True)
    assert aligned.metrics.children_peak_rss_bytes is None
    assert aligned.metrics.tree_peak_rss_bytes is None
    assert aligned.timeline.children_rss_bytes == ()


def test_without_children_their_samples_are_left_out() -> None:
    samples = _samples((100.5, 31 * MiB, 9 * MiB))
    aligned = with_timeline(_workload_run(), 100.0, samples, 3, children=False)
    assert aligned.metrics == _workload_run().metrics
    assert aligned.timeline.children_rss_bytes == ()
