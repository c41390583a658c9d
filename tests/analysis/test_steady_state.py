"""Setup apart from growth, on timelines whose setup and slope are known by construction."""

from __future__ import annotations

import pytest

from autograd_mem.analysis.steady_state import growth_phrase, steady_state
from autograd_mem.schema.run import Timeline

MIB = 1 << 20
BASE = 40 * MIB


def timeline(level, seconds=10.0, every=0.01, iterations=None) -> Timeline:
    """Samples of ``level(t)`` every ``every`` seconds, as the parent's sampler takes them."""
    times = [round(i * every, 6) for i in range(int(seconds / every) + 1)]
    iteration = () if iterations is None else tuple(int(t * iterations / seconds) for t in times)
    return Timeline(
        seconds=tuple(times), rss_bytes=tuple(int(level(t)) for t in times), iteration=iteration
    )


def import_then(after):
    """300 MiB climbed in the first 2 s (an import, a model built), then ``after(t - 2)``."""
    return lambda t: BASE + 300 * MIB * min(t, 2.0) / 2.0 + (after(t - 2.0) if t > 2.0 else 0)


def test_a_loop_that_levels_off_after_its_setup():
    state = steady_state(timeline(import_then(lambda t: 0)), 10.0)
    assert state is not None and not state.growing
    assert 1.9 <= state.setup_end_seconds <= 2.1
    assert state.setup_bytes == pytest.approx(300 * MIB, rel=0.02)
    assert growth_phrase("fixed.py", state) == "fixed.py levels off"


def test_a_loop_that_keeps_growing_after_its_setup():
    state = steady_state(timeline(import_then(lambda t: 1.2 * MIB * t)), 10.0)
    assert state is not None and state.growing
    assert 1.9 <= state.setup_end_seconds <= 2.2
    assert state.bytes_per_second == pytest.approx(1.2 * MIB, rel=0.05)
    assert growth_phrase("leaky.py", state) == "leaky.py keeps growing, +1.2 MiB/s after setup"


def test_a_leak_that_starts_at_once_is_not_taken_for_setup():
    # given: no setup at all, 30 MiB/s from the first sample on
    state = steady_state(timeline(lambda t: BASE + 30 * MIB * t), 10.0)
    assert state is not None and state.growing
    # then: none of the growth is hidden as setup
    assert state.setup_end_seconds <= 0.1
    assert state.growth_after_setup_bytes == pytest.approx(300 * MIB, rel=0.02)


def test_per_iteration_where_the_timeline_counts_iterations():
    state = steady_state(timeline(lambda t: BASE + 10 * MIB * t, iterations=1000), 10.0)
    assert state is not None and state.bytes_per_iteration is not None
    # 100 MiB over 1,000 iterations
    assert state.bytes_per_iteration == pytest.approx(100 * MIB / 1000, rel=0.02)
    assert "/iteration after setup" in growth_phrase("a", state)


def test_noise_of_a_few_pages_is_no_growth():
    state = steady_state(timeline(lambda t: BASE + (4096 * 50 if int(t * 7) % 2 else 0)), 10.0)
    assert state is not None and not state.growing


def test_too_few_samples_say_so():
    assert steady_state(Timeline(seconds=(0.0, 0.01), rss_bytes=(BASE, BASE)), 0.01) is None
    assert growth_phrase("x.py", None) == "x.py: too short a timeline to tell"


def test_samples_after_the_window_are_not_read():
    # given: a loop that grows for 10 s, then the interpreter's teardown freeing it all
    grows = timeline(lambda t: BASE + 10 * MIB * min(t, 8.0) - (80 * MIB if t > 8.0 else 0))
    state = steady_state(grows, 8.0)
    assert state is not None and state.growing
    assert state.bytes_per_second == pytest.approx(10 * MIB, rel=0.02)


def test_a_free_at_the_very_end_of_the_window_is_no_steady_state():
    # given: growth for 9.98 s, then the program's globals freed just before its window closed
    grows = timeline(lambda t: BASE + 10 * MIB * t - (90 * MIB if t > 9.98 else 0))
    state = steady_state(grows, 10.0)
    assert state is not None and state.growing
    assert state.bytes_per_second == pytest.approx(10 * MIB, rel=0.02)


def test_a_programs_own_mark_ends_its_setup_where_the_guess_would_not():
    # given: a set-up that climbs as steeply as the leak after it, 3 s then 1 MiB/s: the
    # guess sees one line and takes no set-up; the program said set-up ended at 3 s
    level = timeline(lambda t: BASE + 20 * MIB * min(t, 3.0) + MIB * max(0.0, t - 3.0))
    guessed = steady_state(level, 10.0)
    marked = steady_state(level, 10.0, marked_seconds=3.0)
    # then: the mark is taken, and the slope after it is the leak's own
    assert guessed is not None and marked is not None
    assert marked.setup_end_seconds == pytest.approx(3.0, abs=0.011)
    assert marked.setup_bytes == pytest.approx(60 * MIB, rel=0.02)
    assert marked.bytes_per_second == pytest.approx(MIB, rel=0.05)
    # and: a mark too late for a slope after it leaves the guess standing
    assert steady_state(level, 10.0, marked_seconds=9.99) == guessed
