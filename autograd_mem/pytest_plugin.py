"""The pytest plugin: ``@pytest.mark.agmem(...)`` fails a test that leaks or needs too much memory.

Registered through the ``pytest11`` entry point ``agmem``, so it loads into every
pytest session: the module itself only defines functions and imports the engine
when a marked test runs (the ``autograd_mem`` package resolves its engine re-exports
lazily, so loading the plugin imports neither the engine nor numpy).

How the body is isolated, and why in-process rather than a fresh interpreter:
each figure the marker gates is measured so that earlier tests cannot pollute it.

- Live objects: the engine's census counts Variables and Functions constructed and
  not yet freed. Its counts are read before and after the body *without* collecting,
  so a graph the body left to the cyclic collector is still counted — exactly the
  leak the marker exists to catch. The difference is the body's own.
- Collected objects: ``gc.collect()`` runs just before the body, so the collector
  starts with no garbage from setup or earlier tests. Then ``gc.callbacks`` add up
  what every collection during the body freed, and one more ``gc.collect()`` after
  the census counts the cycles the body left behind (they would be collected later,
  on some other test's time).
- Peak growth: ``tracemalloc``'s peak (reset before the body) minus its current
  size at the start. It covers Python objects and numpy's array buffers, which numpy
  reports to ``tracemalloc``. The process's RSS would not do here: memory freed by
  earlier tests stays in the allocator's pools and is reused without the RSS moving,
  so an RSS peak would understate a test that runs late. ``tracemalloc`` counts
  every allocation of the body whatever memory it reuses, and repeats to the byte
  (or within a few dozen bytes) from one run to the next.

A fresh interpreter per marked test would add a second or more of start-up (pytest,
numpy, the test module and its fixtures again) to every marked test and measure
nothing more than the above does; ``agmem run`` and ``agmem check`` are the tools
for RSS measured in fresh interpreters.
"""

from __future__ import annotations

import gc
import inspect
import math
import signal
import threading
import tracemalloc
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

MARKER = "agmem"
_LIMIT_NAMES = ("max_peak_growth", "max_live_objects", "max_collected")


def agmem(
    max_peak_growth: str | int | None = None,
    max_live_objects: int | None = None,
    max_collected: int | None = None,
    mode: str | None = "weak",
    timeout: float | None = None,
) -> None:
    """Fail the test when its body exceeds a memory limit.
    max_peak_growth: bytes or a size like "20 MiB" or "1.5 GB" (tracemalloc peak above
    the start); max_live_objects: Variables + Functions the body leaves alive;
    max_collected: objects the body leaves to the cyclic collector; mode: the reference
    mode the body runs under ("weak", "strong", or None to leave it as it is);
    timeout: seconds after which the body is interrupted and the test fails.

    The body runs in the test's own process, so the timeout is a SIGALRM timer raising
    in the main thread (``signal.setitimer``): a body stuck in C code that does not
    return to Python cannot be interrupted, and off the main thread the marker refuses it.

    The marker's signature and help text (``pytest --markers``) come from here: the
    first paragraph, joined into one line.
    """


@dataclass(frozen=True)
class MarkerLimits:
    """The limits one marker asks for; ``None`` means not limited."""

    max_peak_growth_bytes: int | None = None
    max_live_objects: int | None = None
    max_collected: int | None = None
    mode: str | None = "weak"
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class BodyMeasurement:
    """What one test body did to memory."""

    peak_growth_bytes: int
    live_variables: int  # left alive by the body (after minus before)
    live_functions: int
    collected: int  # freed by the collector during the body and just after it
    collections: int

    @property
    def live_objects(self) -> int:
        return self.live_variables + self.live_functions


def limits_from_marker(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> MarkerLimits:
    """Parse the marker's arguments; a mistake raises ``ValueError`` with one clear line."""
    from autograd_mem.result import OrNone, RunConfig, rule_of
    from autograd_mem.units import parse_size

    if args:
        raise ValueError(f"@pytest.mark.{MARKER} takes keyword arguments only, got {args!r}")
    unknown = set(kwargs) - {*_LIMIT_NAMES, "mode", "timeout"}
    if unknown:
        raise ValueError(
            f"@pytest.mark.{MARKER}: unknown argument(s) {', '.join(sorted(unknown))} "
            f"(expected {', '.join((*_LIMIT_NAMES, 'mode', 'timeout'))})"
        )
    mode = kwargs.get("mode", "weak")
    problem = OrNone(rule_of(RunConfig, "mode")).problem("mode", mode, repr(mode))
    if problem:
        raise ValueError(f"@pytest.mark.{MARKER}: {problem}, or None")
    peak = kwargs.get("max_peak_growth")
    return MarkerLimits(
        max_peak_growth_bytes=None if peak is None else _size(peak, parse_size),
        max_live_objects=_count(kwargs.get("max_live_objects"), "max_live_objects"),
        max_collected=_count(kwargs.get("max_collected"), "max_collected"),
        mode=mode,
        timeout_seconds=_seconds(kwargs.get("timeout")),
    )


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < math.inf
    ):
        raise ValueError(
            f"@pytest.mark.{MARKER}: timeout must be a finite number of seconds above 0, "
            f"got {value!r}"
        )
    return float(value)


def _size(value: Any, parse_size: Any) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise ValueError(f"@pytest.mark.{MARKER}: max_peak_growth: {exc}") from None


def _count(value: Any, name: str) -> int | None:
    from autograd_mem.result import COUNT, OrNone

    problem = OrNone(COUNT).problem(name, value, repr(value))
    if problem:
        raise ValueError(f"@pytest.mark.{MARKER}: {problem}")
    return value


def exceeded(limits: MarkerLimits, measured: BodyMeasurement) -> list[str]:
    """One readable line per limit the body exceeded, measured against the limit; [] on pass."""
    from autograd_mem.units import format_bytes, format_count

    lines = []
    if limits.max_live_objects is not None and measured.live_objects > limits.max_live_objects:
        lines.append(
            f"live objects left by the body: {format_count(measured.live_objects)} "
            f"({format_count(measured.live_variables)} Variables + "
            f"{format_count(measured.live_functions)} Functions) > limit "
            f"{format_count(limits.max_live_objects)}"
        )
    if limits.max_collected is not None and measured.collected > limits.max_collected:
        lines.append(
            f"objects left to the cyclic collector: {format_count(measured.collected)} "
            f"> limit {format_count(limits.max_collected)}"
        )
    if (
        limits.max_peak_growth_bytes is not None
        and measured.peak_growth_bytes > limits.max_peak_growth_bytes
    ):
        lines.append(
            f"peak memory growth (tracemalloc): {format_bytes(measured.peak_growth_bytes)} "
            f"> limit {format_bytes(limits.max_peak_growth_bytes)}"
        )
    return lines


def failure_report(name: str, limits: MarkerLimits, measured: BodyMeasurement) -> str:
    """The text of a failed marker: each limit exceeded, then every figure measured."""
    from autograd_mem.units import format_bytes, format_count

    mode = f" under reference mode {limits.mode!r}" if limits.mode else ""
    lines = [f"agmem: {name} exceeded its memory limits{mode}:"]
    lines += [f"  - {line}" for line in exceeded(limits, measured)]
    lines.append(
        f"  measured: peak growth {format_bytes(measured.peak_growth_bytes)}, "
        f"live objects left {format_count(measured.live_objects)}, "
        f"collected {format_count(measured.collected)} "
        f"in {format_count(measured.collections)} collection(s)"
    )
    return "\n".join(lines)


class _Probe:
    """Collects a BodyMeasurement around the body (see the module docstring for why so)."""

    def __init__(self) -> None:
        self.collected = 0
        self.collections = 0
        self.result: BodyMeasurement | None = None

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            self.collected += info["collected"]
            self.collections += 1

    @contextmanager
    def measuring(self) -> Iterator[None]:
        from autograd_mem.engine import census

        gc.collect()
        live_variables, live_functions, _, _ = census.snapshot()
        started_tracing = not tracemalloc.is_tracing()
        if started_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        start_bytes, _ = tracemalloc.get_traced_memory()
        gc.callbacks.append(self._on_gc)
        try:
            yield
            _, peak_bytes = tracemalloc.get_traced_memory()
            after_variables, after_functions, _, _ = census.snapshot()
            # The body's leftover cycles, collected now so the next test starts clean;
            # the callback is still installed and counts them.
            gc.collect()
            self.result = BodyMeasurement(
                peak_growth_bytes=max(peak_bytes - start_bytes, 0),
                live_variables=after_variables - live_variables,
                live_functions=after_functions - live_functions,
                collected=self.collected,
                collections=self.collections,
            )
        finally:
            gc.callbacks.remove(self._on_gc)
            if started_tracing:
                tracemalloc.stop()


def pytest_configure(config: pytest.Config) -> None:
    doc = " ".join((agmem.__doc__ or "").strip().split("\n\n")[0].split())
    signature = (
        f"{MARKER}(max_peak_growth=None, max_live_objects=None, max_collected=None, "
        "mode='weak', timeout=None)"
    )
    config.addinivalue_line("markers", f"{signature}: {doc}")


def _limits(pyfuncitem: pytest.Function) -> MarkerLimits | None:
    """The marked test's limits, ``None`` when it is not marked; a bad marker fails the test."""
    marker = pyfuncitem.get_closest_marker(MARKER)
    if marker is None:
        return None
    try:
        return limits_from_marker(marker.args, marker.kwargs)
    except ValueError as exc:
        message = str(exc)
    # Failed outside the except block, so the report shows the one line, not a chain.
    pytest.fail(message, pytrace=False)


class BodyTimedOut(Exception):
    """The marked body ran past its ``timeout``."""


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise BodyTimedOut in the body after ``seconds`` (a SIGALRM timer; main thread only)."""
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        pytest.fail(f"@pytest.mark.{MARKER}(timeout=...) needs the main thread", pytrace=False)

    def expire(signum: int, frame: object) -> None:
        raise BodyTimedOut(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _measured(limits: MarkerLimits) -> Iterator[_Probe]:
    """The body's measurement, under the marker's reference mode and time limit."""
    from autograd_mem.engine import reference_mode

    probe = _Probe()
    with probe.measuring(), _time_limit(limits.timeout_seconds):
        if limits.mode is None:
            yield probe
        else:
            with reference_mode(limits.mode):
                yield probe


def _judge(pyfuncitem: pytest.Function, limits: MarkerLimits, probe: _Probe) -> None:
    assert probe.result is not None
    if exceeded(limits, probe.result):
        pytest.fail(failure_report(pyfuncitem.name, limits, probe.result), pytrace=False)


# The plugin is loaded into every pytest session where agmem is installed, so it must
# not break an older pytest: new-style hook wrappers need pluggy >= 1.1 (pytest 8 has
# them; pytest 7.4 may run with an older pluggy), where an old-style hookwrapper works.
if "wrapper" in inspect.signature(pytest.hookimpl.__call__).parameters:

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
        limits = _limits(pyfuncitem)
        if limits is None:
            return (yield)
        try:
            with _measured(limits) as probe:
                result = yield
        except BodyTimedOut as exc:
            message = f"agmem: {pyfuncitem.name} {exc}"
        else:
            _judge(pyfuncitem, limits, probe)
            return result
        # Failed outside the except block, so the report shows the one line, not a chain.
        pytest.fail(message, pytrace=False)

else:  # pragma: no cover - exercised with pluggy < 1.1 only

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, None]:
        limits = _limits(pyfuncitem)
        if limits is None:
            yield
            return
        with _measured(limits) as probe:
            outcome = yield
        if outcome.excinfo is None:
            _judge(pyfuncitem, limits, probe)
        elif isinstance(outcome.excinfo[1], BodyTimedOut):
            outcome.force_exception(
                pytest.fail.Exception(f"agmem: {pyfuncitem.name} {outcome.excinfo[1]}",
                                      pytrace=False)
            )
