"""The pytest plugin: a marked test fails when it leaks; ``pytest --agmem`` measures every test.

Registered through the ``pytest11`` entry point ``agmem``, so it loads into every
pytest session: the module itself only defines functions and imports the engine
when a marked test runs (the ``autograd_mem`` package resolves its engine re-exports
lazily, so loading the plugin imports neither the engine nor numpy).

A marked test's body is measured and judged by the marker's limits. With ``--agmem``
every test's body is measured (the call phase, like pytest-memray; fixtures are not),
an unmarked test is never failed by it, and the session ends with the tests that grew
memory most and that left most to the cyclic collector (``pytest_summary``);
``--agmem-json FILE`` writes every measured test's figures. How a body is measured
in-process, and why, is in ``pytest_probe``.
"""

from __future__ import annotations

import inspect
import math
import os
import signal
import threading
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from autograd_mem.pytest_plugin.probe import (
    WARM_UP_BODIES,
    BodyMeasurement,
    BodyProbe,
    prepare_process,
)
from autograd_mem.pytest_plugin.summary import (
    MeasuredTest,
    document,
    shape_lines,
    summary_lines,
)

MARKER = "agmem"
_LIMIT_NAMES = ("max_peak_growth", "max_live_objects", "max_collected", "max_cycles")
# Garbage objects a body's cycles are read in, unless its marker sets max_cycles (then all).
CYCLE_BUDGET = 2_000


def agmem(
    max_peak_growth: str | int | None = None,
    max_live_objects: int | None = None,
    max_collected: int | None = None,
    max_cycles: int | None = None,
    mode: str | None = "weak",
    timeout: float | None = None,
) -> None:
    """Fail the test when its body exceeds a memory limit.
    max_peak_growth: bytes or a size like "20 MiB" or "1.5 GB" (tracemalloc peak above
    the start); max_live_objects: agmem engine Variables + Functions the body leaves
    alive (the engine's own census: other objects are not counted, use max_collected or
    max_cycles for them); max_collected: objects of any type the body leaves to the cyclic
    collector; max_cycles: reference cycles of any objects among them; mode: the
    reference mode the body runs under ("weak", "strong", or None to leave it as it is);
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
    max_cycles: int | None = None
    timeout_seconds: float | None = None


def limits_from_marker(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> MarkerLimits:
    """Parse the marker's arguments; a mistake raises ``ValueError`` with one clear line."""
    from autograd_mem.schema.config import RunConfig
    from autograd_mem.schema.rules import OrNone, rule_of
    from autograd_mem.schema.units import parse_size

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
        max_cycles=_count(kwargs.get("max_cycles"), "max_cycles"),
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
    from autograd_mem.schema.rules import COUNT, OrNone

    problem = OrNone(COUNT).problem(name, value, repr(value))
    if problem:
        raise ValueError(f"@pytest.mark.{MARKER}: {problem}")
    return value


def exceeded(limits: MarkerLimits, measured: BodyMeasurement) -> list[str]:
    """One readable line per limit the body exceeded, measured against the limit; [] on pass."""
    from autograd_mem.schema.units import format_bytes, format_count

    lines = []
    if limits.max_live_objects is not None and measured.live_objects > limits.max_live_objects:
        lines.append(
            f"live engine objects left by the body: {format_count(measured.live_objects)} "
            f"({format_count(measured.live_variables)} Variables + "
            f"{format_count(measured.live_functions)} Functions) > limit "
            f"{format_count(limits.max_live_objects)}"
        )
    if limits.max_collected is not None and measured.collected > limits.max_collected:
        lines.append(
            f"objects left to the cyclic collector: {format_count(measured.collected)} "
            f"> limit {format_count(limits.max_collected)}"
        )
    if limits.max_cycles is not None:
        if measured.cycles is None:
            lines.append(
                "garbage cycles could not be counted: the body set the collector's debug "
                "flags itself"
            )
        elif measured.cycles > limits.max_cycles:
            lines.append(
                f"garbage cycles left to the cyclic collector: {format_count(measured.cycles)} "
                f"> limit {format_count(limits.max_cycles)}"
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


def failure_report(
    name: str, limits: MarkerLimits, measured: BodyMeasurement, root: str = os.curdir
) -> str:
    """The text of a failed marker: each limit exceeded, every figure measured, and the
    largest cycle shape the body left (its path, the bytes it held, where it was made)."""
    from autograd_mem.schema.units import format_bytes, format_count

    mode = f" under reference mode {limits.mode!r}" if limits.mode else ""
    lines = [f"agmem: {name} exceeded its memory limits{mode}:"]
    lines += [f"  - {line}" for line in exceeded(limits, measured)]
    cycles = ""
    if measured.cycles is not None:
        at_least = "" if measured.cycles_complete else "at least "
        cycles = f", {at_least}{format_count(measured.cycles)} cycle(s)"
    lines.append(
        f"  measured: peak growth {format_bytes(measured.peak_growth_bytes)}, "
        f"live engine objects left {format_count(measured.live_objects)}, "
        f"collected {format_count(measured.collected)} "
        f"in {format_count(measured.collections)} collection(s){cycles}"
    )
    shape = measured.largest_shape
    if shape is not None:
        first, *more = shape_lines(shape, root)
        lines += [f"  {first}", *(f"    {line}" for line in more)]
    return "\n".join(lines)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agmem", "agmem: memory of each test's body")
    group.addoption(
        "--agmem",
        action="store_true",
        help="Measure every test's call (tracemalloc peak growth, objects and cycles left to "
        "the cyclic collector) and list the tests that used most at the end. Unmarked "
        "tests are never failed by it.",
    )
    group.addoption(
        "--agmem-top",
        type=int,
        default=5,
        metavar="N",
        help="How many tests the --agmem summary lists per figure (default 5).",
    )
    group.addoption(
        "--agmem-json",
        metavar="FILE",
        help="Write every measured test's figures to FILE as JSON (every test with --agmem, "
        "the marked ones without).",
    )


@dataclass
class _Session:
    """What ``--agmem`` / ``--agmem-json`` gather over one session."""

    every_test: bool
    top: int
    json_path: str | None
    root: str
    tests: list[MeasuredTest]
    json_error: str | None = None


_SESSION = pytest.StashKey[_Session]()


def pytest_configure(config: pytest.Config) -> None:
    doc = " ".join((agmem.__doc__ or "").strip().split("\n\n")[0].split())
    arguments = ", ".join(
        f"{name}={parameter.default!r}"
        for name, parameter in inspect.signature(agmem).parameters.items()
    )
    config.addinivalue_line("markers", f"{MARKER}({arguments}): {doc}")
    every_test = bool(config.getoption("agmem"))
    json_path = config.getoption("agmem_json")
    top = config.getoption("agmem_top")
    if top < 1:
        raise pytest.UsageError(f"--agmem-top must be 1 or more, got {top}")
    if json_path is not None:
        folder = os.path.dirname(os.path.abspath(json_path))
        if not os.path.isdir(folder):
            raise pytest.UsageError(f"--agmem-json {json_path}: no such directory {folder}")
    if every_test or json_path is not None:
        config.stash[_SESSION] = _Session(
            every_test, top, json_path, str(config.invocation_params.dir), []
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    recording = session.config.stash.get(_SESSION, None)
    if recording is None or recording.json_path is None:
        return
    from autograd_mem.schema.codec import dumps
    from autograd_mem.schema.files import write_atomic

    try:
        write_atomic(recording.json_path, dumps(document(recording.tests)))
    except OSError as exc:
        recording.json_error = f"agmem: error: cannot write {recording.json_path}: {exc}"
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recording = config.stash.get(_SESSION, None)
    if recording is None:
        return
    if recording.every_test:
        terminalreporter.write_sep("=", "agmem: memory per test")
        for line in summary_lines(recording.tests, recording.top, recording.root):
            terminalreporter.write_line(line)
    if recording.json_error is not None:
        terminalreporter.write_line(recording.json_error, red=True)
    elif recording.json_path is not None:
        terminalreporter.write_line(
            f"agmem: figures of {len(recording.tests)} test(s) written to {recording.json_path}"
        )


def _limits(item: pytest.Item) -> MarkerLimits | None:
    """The marked test's limits, ``None`` when it is not marked; a bad marker fails the test."""
    marker = item.get_closest_marker(MARKER)
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


# An unmarked test measured by --agmem: no limits, and its reference mode left as it is.
_UNMARKED = MarkerLimits(mode=None)
_WARMED_MODES: set[str | None] = set()


def _warm_up(mode: str | None) -> None:
    """Run agmem's own first measurement, once per process and mode, on bodies of its own.

    The first measurement in a process allocates what later ones reuse (the probe's code
    paths, tracemalloc's first frames, a mode's context manager), and a test measured
    first would be charged for it: its figures would depend on test order.
    """
    if mode in _WARMED_MODES:
        return
    _WARMED_MODES.add(mode)
    prepare_process()
    for body in WARM_UP_BODIES:
        with _measured(MarkerLimits(mode=mode)):
            body()


@contextmanager
def _measured(limits: MarkerLimits) -> Iterator[BodyProbe]:
    """The body's measurement, under the marker's reference mode and time limit."""
    _warm_up(limits.mode)
    # max_cycles is judged on every cycle; otherwise a cycle's shape is for people to read,
    # and reading a few thousand objects finds it without slowing a suite down.
    probe = BodyProbe(None if limits.max_cycles is not None else CYCLE_BUDGET)
    with probe.measuring(), _time_limit(limits.timeout_seconds):
        if limits.mode is None:
            yield probe
            return
        from autograd_mem.engine import reference_mode

        with reference_mode(limits.mode):
            yield probe


def _plan(item: pytest.Item) -> tuple[MarkerLimits | None, _Session | None] | None:
    """The marker's limits and the session's recording; ``None``: the test is not measured."""
    limits = _limits(item)
    recording = item.config.stash.get(_SESSION, None)
    if recording is not None and not recording.every_test and limits is None:
        recording = None
    if limits is None and recording is None:
        return None
    return limits, recording


def _record(
    item: pytest.Item, limits: MarkerLimits | None, recording: _Session | None,
    probe: BodyProbe,
) -> None:
    if recording is not None and probe.result is not None:
        mode = (limits or _UNMARKED).mode
        recording.tests.append(
            MeasuredTest(item.nodeid, limits is not None, mode, probe.result)
        )


def _judge(item: pytest.Item, limits: MarkerLimits, probe: BodyProbe) -> None:
    assert probe.result is not None
    if exceeded(limits, probe.result):
        root = str(item.config.invocation_params.dir)
        pytest.fail(failure_report(item.name, limits, probe.result, root), pytrace=False)


# The plugin is loaded into every pytest session where agmem is installed, so it must
# not break an older pytest: new-style hook wrappers need pluggy >= 1.1 (pytest 8 has
# them; pytest 7.4 may run with an older pluggy), where an old-style hookwrapper works.
if "wrapper" in inspect.signature(pytest.hookimpl.__call__).parameters:

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
        plan = _plan(item)
        if plan is None:
            return (yield)
        limits, recording = plan
        probe = None
        try:
            with _measured(limits or _UNMARKED) as probe:
                result = yield
        except BodyTimedOut as exc:
            message = f"agmem: {item.name} {exc}"
        else:
            if limits is not None:
                _judge(item, limits, probe)
            return result
        finally:
            # Recorded whether the body passed or raised: its figures are its own either way.
            if probe is not None:
                _record(item, limits, recording, probe)
        # Failed outside the except block, so the report shows the one line, not a chain.
        pytest.fail(message, pytrace=False)

else:  # pragma: no cover - exercised with pluggy < 1.1 only

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
        plan = _plan(item)
        if plan is None:
            yield
            return
        limits, recording = plan
        with _measured(limits or _UNMARKED) as probe:
            outcome = yield
        _record(item, limits, recording, probe)
        if limits is not None and outcome.excinfo is None:
            _judge(item, limits, probe)
        elif outcome.excinfo is not None and isinstance(outcome.excinfo[1], BodyTimedOut):
            outcome.force_exception(
                pytest.fail.Exception(f"agmem: {item.name} {outcome.excinfo[1]}",
                                      pytrace=False)
            )
