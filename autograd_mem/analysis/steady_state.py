"""Setup apart from growth: where a run's set-up ends on its RSS timeline, and its slope after.

A training script spends its first seconds importing its libraries and building its
model, and that climb (about 300 MiB for ``import torch``) is no leak: counted as growth
it hides the difference between a loop that keeps climbing and one that levels off.

How setup ends (a pure function of the parent's RSS samples, so a saved run can be read
again the same way): the run is cut into :data:`WINDOWS` equal spans of time, and each
span's climb is compared with the typical climb of the run's second half (the median
span there). Setup is the leading spans that climb more than :data:`SETUP_FACTOR` times
that typical climb, and more than :data:`NOISE_BYTES`: a steep start that the rest of
the run does not keep up. A leak that starts at once climbs as steeply in the second
half as in the first, so nothing is taken for setup and none of it is hidden; a loop
that levels off climbs nothing after its set-up, so its setup is its climb.

The slope is the least-squares line through the samples after setup, in bytes per
second, and per iteration where the timeline records iterations. A run *keeps growing*
when that line rises by more than :data:`NOISE_BYTES` and by more than
:data:`GROWING_SHARE` of the RSS reached at the end of setup over the span after setup
(RSS moves by a few pages between identical runs; the allocator holds freed memory, so
a run that stopped growing stays flat rather than falling).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from autograd_mem.schema.run import Timeline

# Spans the run is cut into to find where setup ends.
WINDOWS = 20

# A leading span is setup when it climbs more than this many times the typical span.
SETUP_FACTOR = 4.0

# Below this, a climb is noise: a few pages of RSS, one arena of the allocator.
NOISE_BYTES = 1 << 20

# The rise after setup, as a share of the RSS at setup's end, that counts as growing.
GROWING_SHARE = 0.02

# Fewer samples than this after setup give no slope worth a sentence.
MIN_SAMPLES = 4


@dataclass(frozen=True)
class SteadyState:
    """A run's set-up and what followed it."""

    setup_end_seconds: float  # from the first line (or iteration) on; 0: no setup found
    setup_bytes: int  # RSS climbed during setup (from the first sample)
    growth_after_setup_bytes: int  # the least-squares line's rise from setup's end to the run's
    bytes_per_second: float
    bytes_per_iteration: float | None  # where the timeline records iterations
    growing: bool


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``ys`` against ``xs``; 0 when ``xs`` do not vary."""
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def _span_climbs(seconds: Sequence[float], rss: Sequence[int]) -> list[tuple[float, int]]:
    """``(end_seconds, climb)`` of each of :data:`WINDOWS` equal spans of time.

    A span's climb is the highest RSS it reached above the highest reached before it:
    RSS freed late (a collection) does not make a later span look like setup.
    """
    start, end = seconds[0], seconds[-1]
    width = (end - start) / WINDOWS
    spans: list[tuple[float, int]] = []
    highest = rss[0]
    index = 0
    for number in range(1, WINDOWS + 1):
        limit = end if number == WINDOWS else start + number * width
        reached = highest
        while index < len(seconds) and seconds[index] <= limit:
            reached = max(reached, rss[index])
            index += 1
        spans.append((limit, reached - highest))
        highest = reached
    return spans


def setup_end(seconds: Sequence[float], rss: Sequence[int]) -> float:
    """Where setup ends, in the timeline's seconds: see the module's docstring."""
    if len(seconds) < 2 or seconds[-1] <= seconds[0]:
        return seconds[0] if seconds else 0.0
    spans = _span_climbs(seconds, rss)
    typical = statistics.median(climb for _, climb in spans[WINDOWS // 2 :])
    threshold = max(SETUP_FACTOR * typical, NOISE_BYTES)
    end = seconds[0]
    for span_end, climb in spans[: WINDOWS // 2]:
        if climb <= threshold:
            break
        end = span_end
    return end


def steady_state(timeline: Timeline) -> SteadyState | None:
    """The run's setup and its slope after; None when the timeline has too few samples."""
    # From the first line (or iteration) on: samples before it are agmem's own start-up.
    first = next((i for i, t in enumerate(timeline.seconds) if t >= 0), len(timeline.seconds))
    seconds, rss = timeline.seconds[first:], timeline.rss_bytes[first:]
    if len(seconds) < MIN_SAMPLES:
        return None
    end = setup_end(seconds, rss)
    after = [i for i, t in enumerate(seconds) if t >= end]
    if len(after) < MIN_SAMPLES:
        after = list(range(len(seconds) - MIN_SAMPLES, len(seconds)))
        end = seconds[after[0]]
    times = [seconds[i] for i in after]
    levels = [rss[i] for i in after]
    per_second = _slope(times, levels)
    rise = int(per_second * (times[-1] - times[0]))
    per_iteration = None
    iterations = [timeline.iteration[first + i] for i in after] if timeline.iteration else []
    if iterations and iterations[-1] > iterations[0] >= 0:
        per_iteration = _slope(iterations, levels)
    setup_level = max(rss[: after[0] + 1])
    growing = rise > NOISE_BYTES and rise > GROWING_SHARE * setup_level
    return SteadyState(
        setup_end_seconds=max(0.0, end),
        setup_bytes=setup_level - rss[0],
        growth_after_setup_bytes=rise,
        bytes_per_second=per_second,
        bytes_per_iteration=per_iteration,
        growing=growing,
    )
