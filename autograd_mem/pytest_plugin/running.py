"""Runs one measured test call: the warm-up, the marker's mode and time limit, the probe."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from autograd_mem.pytest_plugin.marks import MARKER, MarkerSettings
from autograd_mem.pytest_plugin.probe import WARM_UP_BODIES, BodyProbe, prepare_process

# Garbage objects a call's cycles are read in, unless its budgets include max_cycles
# (then all): a cycle's shape is for people to read, and a few thousand objects find it
# without slowing a suite down.
CYCLE_BUDGET = 2_000


class BodyTimedOut(Exception):
    """The marked body ran past its ``timeout``."""


class NotOnMainThread(Exception):
    """A marker's ``timeout`` asked for where no SIGALRM timer can interrupt the call."""


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise BodyTimedOut in the body after ``seconds`` (a SIGALRM timer; main thread only).

    The body runs in the test's own process, so a body stuck in C code that does not
    return to Python cannot be interrupted.
    """
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        raise NotOnMainThread(f"@pytest.mark.{MARKER}(timeout=...) needs the main thread")

    def expire(signum: int, frame: object) -> None:
        raise BodyTimedOut(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_WARMED: set[tuple[str | None, bool]] = set()


def _warm_up(mode: str | None, full: bool) -> None:
    """Run agmem's own first measurement, once per process and mode, on bodies of its own.

    The first measurement in a process allocates what later ones reuse (the probe's code
    paths, tracemalloc's first frames, a mode's context manager), and a test measured
    first would be charged for it: its figures would depend on test order.
    """
    if (mode, full) in _WARMED:
        return
    _WARMED.add((mode, full))
    prepare_process()
    for body in WARM_UP_BODIES:
        with measured(MarkerSettings({}, mode), read_all_cycles=False, full=full):
            body()


@contextmanager
def measured(
    settings: MarkerSettings, *, read_all_cycles: bool, full: bool,
    retained_limit: int | None = None,
) -> Iterator[BodyProbe]:
    """The call's measurement, under the marker's reference mode and time limit.

    ``read_all_cycles``: count every cycle (a max_cycles budget judges them), not only the
    first ``CYCLE_BUDGET`` garbage objects' worth. ``full``: full collections around it.
    ``retained_limit``: the max_retained budget, over which the probe finds the line.
    """
    _warm_up(settings.mode, full)
    probe = BodyProbe(None if read_all_cycles else CYCLE_BUDGET, full=full,
                      retained_limit=retained_limit)
    with probe.measuring(), _time_limit(settings.timeout_seconds):
        if settings.mode is None:
            yield probe
            return
        from autograd_mem.engine import reference_mode

        with reference_mode(settings.mode):
            yield probe
