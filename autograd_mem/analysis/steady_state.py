"""Setup apart from growth: where a run's set-up ends on its RSS timeline, and its slope after.

A training script spends its first seconds importing its libraries and building its
model, and that climb (about 300 MiB for ``import torch``) is no leak: counted as growth
it hides the difference between a loop that keeps climbing and one that levels off.

How setup ends (a pure function of the parent's RSS samples, so a saved run is read
again the same way): the run's last quarter (:data:`TAIL_SHARE`) is taken as its steady
state, and a least-squares line is fitted through it. Setup is everything up to the last
sample before that quarter that lies off the line, extended back, by more than a band
(:data:`BAND_SHARE` of the highest RSS, at least twice :data:`NOISE_BYTES`). A library's
import and a model's construction climb steeply and then stop, far off a flat or gently
rising line; a leak that starts at once climbs along its own line from the first
second, so nothing is taken for setup and none of it is hidden. No marker from the
program is needed; a program that calls ``autograd_mem.setup_done()`` (its
``setup_marked_seconds``) says where its set-up ends, and its word is taken instead
of the guess.

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
from autograd_mem.schema.units import format_bytes

# The share of the run, at its end, taken as its steady state.
TAIL_SHARE = 0.25

# How far off the steady line a sample may lie and still belong to it, as a share of the
# run's highest RSS (RSS moves by a few MiB as the allocator takes and returns arenas).
BAND_SHARE = 0.01

# Below this, a climb is noise: a few pages of RSS, one arena of the allocator.
NOISE_BYTES = 1 << 20

# The rise after setup, as a share of the RSS at setup's end, that counts as growing.
GROWING_SHARE = 0.02

# The end of the window left out: see steady_state.
END_SHARE = 0.01
END_SECONDS = 0.01

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


def _line(xs: Sequence[float], ys: Sequence[int]) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)`` of ``ys`` against ``xs``; flat if ``xs`` do not vary."""
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


def setup_end(seconds: Sequence[float], rss: Sequence[int]) -> int:
    """The index of the first sample after setup: see the module's docstring."""
    tail = min(len(seconds) - MIN_SAMPLES, int(len(seconds) * (1 - TAIL_SHARE)))
    if tail <= 0:
        return 0
    slope, intercept = _line(seconds[tail:], rss[tail:])
    band = max(2 * NOISE_BYTES, BAND_SHARE * max(rss))
    for index in range(tail - 1, -1, -1):
        if abs(rss[index] - (intercept + slope * seconds[index])) > band:
            return index + 1
    return 0


def _before_the_last_free(rss: Sequence[int]) -> Sequence[int]:
    """``rss`` without the samples at its very end (its last :data:`END_SHARE` × 5) that lie
    below the run's highest by more than the band: a program's globals freed as it ends
    (when the sampler catches that moment inside the window) are no steady state."""
    if not rss:
        return rss
    floor = max(rss) - max(2 * NOISE_BYTES, BAND_SHARE * max(rss))
    end, limit = len(rss), len(rss) - max(3, int(len(rss) * END_SHARE * 5))
    while end > max(limit, 0) and rss[end - 1] < floor:
        end -= 1
    return rss[:end]


def steady_state(
    timeline: Timeline, wall_seconds: float, marked_seconds: float | None = None
) -> SteadyState | None:
    """The run's setup and its slope after; None when the timeline has too few samples.

    ``marked_seconds``: where the program said its set-up ended (``setup_done()``): the
    first sample from then on starts the steady state, when enough samples follow.

    Only the samples of the window count, from the first line (or iteration) to
    ``wall_seconds`` after it: before it is agmem's own start-up, and after it the
    interpreter's teardown. The window's last moments (:data:`END_SHARE` of it, at least
    :data:`END_SECONDS`) are left out too: a program's globals are freed as it returns,
    just before its window closes.
    """
    last = wall_seconds - max(END_SECONDS, END_SHARE * wall_seconds)
    inside = [i for i, t in enumerate(timeline.seconds) if 0 <= t <= last]
    first = inside[0] if inside else 0
    seconds = timeline.seconds[first : first + len(inside)]
    rss = _before_the_last_free(timeline.rss_bytes[first : first + len(inside)])
    seconds = seconds[: len(rss)]
    if len(seconds) < MIN_SAMPLES:
        return None
    first_after = setup_end(seconds, rss)
    if marked_seconds is not None:
        marked = next((i for i, t in enumerate(seconds) if t >= marked_seconds), len(seconds))
        if len(seconds) - marked >= MIN_SAMPLES:
            first_after = marked
    times, levels = seconds[first_after:], rss[first_after:]
    per_second, _ = _line(times, levels)
    rise = int(per_second * (times[-1] - times[0]))
    per_iteration = None
    iterations = timeline.iteration[first + first_after : first + len(seconds)]
    if iterations and iterations[-1] > iterations[0] >= 0:
        per_iteration, _ = _line(iterations, levels)
    setup_level = max(rss[: first_after + 1])
    growing = rise > NOISE_BYTES and rise > GROWING_SHARE * setup_level
    return SteadyState(
        setup_end_seconds=max(0.0, times[0]),
        setup_bytes=setup_level - rss[0],
        growth_after_setup_bytes=rise,
        bytes_per_second=per_second,
        bytes_per_iteration=per_iteration,
        growing=growing,
    )


def rate_words(state: SteadyState) -> str:
    """``+1.2 MiB/s`` (or ``/iteration`` where the timeline counts iterations)."""
    if state.bytes_per_iteration is not None:
        return f"{format_bytes(int(state.bytes_per_iteration), signed=True)}/iteration"
    return f"{format_bytes(int(state.bytes_per_second), signed=True)}/s"


def growth_phrase(label: str, state: SteadyState | None) -> str:
    """``leaky.py keeps growing, +1.2 MiB/s after setup`` or ``fixed.py levels off``."""
    if state is None:
        return f"{label}: too short a timeline to tell"
    if state.growing:
        return f"{label} keeps growing, {rate_words(state)} after setup"
    return f"{label} levels off"
