"""The parent's side of a measurement: check, run one fresh child per run, sample, gather.

Each job has its module: ``preflight`` (checks before any child), ``process`` (a child's
life and the end of its tree), ``rss`` (the sampler), ``timeline`` (aligning samples
with the child's clock), ``outcome`` (how a child ended) and ``unfinished`` (a program
that ended its process itself). This module runs them in order.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograd_mem.errors import ProgramExitError, RunFailedError, RunTimedOutError, StopSignal
from autograd_mem.measure import guard, outcome, process, timeline
from autograd_mem.measure.preflight import refuse_what_cannot_fit, validate
from autograd_mem.measure.program_output import OutputPump
from autograd_mem.measure.protocol import (
    FLIGHT_FILE,
    ITERATIONS_DONE,
    PARENT_PID_VARIABLE,
    WINDOW_START_MONOTONIC,
    create_flight_record,
    read_flight_cell,
    read_flight_record,
)
from autograd_mem.measure.unfinished import how_it_ended, unfinished_result
from autograd_mem.probes import rss
from autograd_mem.schema.child import ChildResult
from autograd_mem.schema.codec import dumps
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.files import read_tail
from autograd_mem.schema.run import Environment, Measurement, RunResult
from autograd_mem.targets.target import Target, target_of

__all__ = ["Progress", "measure", "validate"]

# How much of a failed child's stderr an error shows: its last lines, read from the end
# of its log on disk, so that a workload printing gigabytes costs the parent nothing.
STDERR_TAIL_LINES = 20
STDERR_TAIL_BYTES = 64 * 1024
# How often the parent wakes to report progress while a child runs.
PROGRESS_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class Progress:
    """A live reading for a progress bar: which run, how long it has gone, the child's RSS now."""

    run_index: int
    runs_total: int
    seconds: float
    rss_bytes: int | None  # None before the sampler's first reading
    # Iterations the child has finished, read from its flight record; None for a
    # program, which has no iterations.
    iterations_done: int | None = None


@dataclass(frozen=True)
class _Ended:
    """One child's run, as the parent gathered it."""

    result: ChildResult
    samples: rss.Samples
    tail: str
    # How a program ended that ended its process itself (os._exit, a signal); else None.
    ending: str | None = None


def measure(
    config: RunConfig,
    *,
    force: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    echo: Callable[[str], None] | None = None,
) -> Measurement:
    """Measure ``config`` in ``config.repeat`` fresh children (plus one for ``explain``).

    Raises UsageError when the analytical floor exceeds the memory available (unless
    ``force``), WorkloadError when the child cannot import the workload, and
    RunFailedError when the workload raises or the child crashes or is killed. On
    KeyboardInterrupt (or SIGTERM, SIGHUP) the running child's tree gets that signal,
    a grace period, then SIGKILL; then the interrupt goes on.

    A program's output goes to ``echo`` as it comes (in its first measured run only:
    the repeats and the explain pass run the same program again) besides its logs. A
    program that exits with a non-zero status, or ends its process itself, raises
    ProgramExitError, which carries the measurement of the runs so far, the failing one
    included, so that the command can still show what it measured.
    """
    validate(config)
    if not force:
        refuse_what_cannot_fit(config)
    target = target_of(config)
    runs: list[RunResult] = []
    environment: Environment | None = None
    for index in range(config.repeat):
        ended = _run_child("measure", target, index, on_progress, echo if index == 0 else None)
        environment = ended.result.environment
        assert environment is not None and ended.result.run is not None
        start = ended.result.workload_start_monotonic or 0.0
        runs.append(timeline.with_timeline(
            ended.result.run, start, ended.samples, config.iterations,
            children=target.traits.reports_children,
        ))
        # Its stderr was shown as it came when echoed: the error need not repeat its tail.
        _raise_for_exit_status(target, environment, runs, ended,
                               shown=index == 0 and bool(echo))
    assert environment is not None
    measurement = Measurement(config=config, environment=environment, runs=tuple(runs))
    if not config.explain:
        return measurement
    # One explain pass per measurement, in its own child: its report goes on the
    # representative run, which is the one Measurement.explain reads.
    report = _run_child("explain", target, config.repeat, on_progress, None).result.explain
    representative = measurement.representative
    return dataclasses.replace(
        measurement,
        runs=tuple(
            dataclasses.replace(r, explain=report) if r is representative else r for r in runs
        ),
    )


def _raise_for_exit_status(
    target: Target, environment: Environment, runs: list[RunResult], ended: _Ended, *,
    shown: bool
) -> None:
    """Raise ProgramExitError if the program just measured exited with a non-zero status, with
    the last lines of its stderr unless its output was ``shown`` as it came."""
    status, tail = runs[-1].exit_status, ended.tail
    if not status:
        return
    measurement = Measurement(config=target.config, environment=environment, runs=tuple(runs))
    if shown:
        where, detail = " (its output is above)", None
    else:
        where, detail = ("" if tail else " (it wrote nothing to stderr)"), tail or None
    how = ended.ending or f"the program exited with status {status}"
    raise ProgramExitError(
        f"{how}: {target.title}{where}",
        detail=detail,
        status=status,
        measurement=measurement,
    )


def _child_environment() -> dict[str, str]:
    env = guard.hash_seed_for_child(dict(os.environ))
    env[PARENT_PID_VARIABLE] = str(os.getpid())
    return env


def _child_command(role: str, scratch: Path) -> list[str]:
    return [
        sys.executable, "-m", "autograd_mem.measure.child", role,
        str(scratch / "config.json"), str(scratch / "result.json"),
    ]


def _start_child(
    role: str, target: Target, scratch: Path, echo: Callable[[str], None] | None
) -> tuple[process.MeasuredChild, OutputPump | None]:
    """Start the child, its output going to logs in ``scratch``.

    A workload's output goes to one log, never to agmem's stdout (which may carry a
    JSON document); its tail is shown if the run fails. A program's stdout and stderr
    go into pipes that an OutputPump copies to ``stdout.log`` and ``stderr.log`` (and
    ``echo``): a failed program is shown with the tail of its stderr alone.
    """
    command, env = _child_command(role, scratch), _child_environment()
    if not target.traits.pumps_output:
        with open(scratch / "child.log", "wb") as log:
            return process.MeasuredChild.start(
                command, env, subprocess.DEVNULL, log.fileno(), log.fileno()
            ), None
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        stdin = None if target.keeps_stdin else subprocess.DEVNULL
        child = process.MeasuredChild.start(command, env, stdin, out_write, err_write)
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        # The child has its copies: the pipes end when it (and its workers) are gone.
        os.close(out_write)
        os.close(err_write)
    streams = [(out_read, scratch / "stdout.log"), (err_read, scratch / "stderr.log")]
    return child, OutputPump(streams, echo).start()


def _first_signal(error: BaseException | None) -> int:
    """The signal the child's tree gets first: the one agmem got, as a terminal would pass it
    on to a plain run's processes; SIGTERM at a timeout or a normal end (``timeout(1)``)."""
    if isinstance(error, KeyboardInterrupt):
        return signal.SIGINT
    if isinstance(error, StopSignal):
        return error.signum
    return signal.SIGTERM


def _run_child(
    role: str,
    target: Target,
    run_index: int,
    on_progress: Callable[[Progress], None] | None,
    echo: Callable[[str], None] | None,
) -> _Ended:
    """Run one child to its end: its result, the RSS samples taken, its stderr's tail.

    Whatever happens (success, failure, timeout, an interrupt or SIGTERM raised in
    this thread), the child's whole tree is ended and the child reaped before this
    returns, and the scratch folder is gone.
    """
    config = target.config
    scratch = process.make_scratch()
    try:
        (scratch / "config.json").write_text(dumps(dataclasses.asdict(config)), encoding="utf-8")
        create_flight_record(scratch)
        return _supervise(role, target, scratch, run_index, on_progress, echo)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _supervise(
    role: str,
    target: Target,
    scratch: Path,
    run_index: int,
    on_progress: Callable[[Progress], None] | None,
    echo: Callable[[str], None] | None,
) -> _Ended:
    config = target.config
    oom_before = outcome.oom_kills()
    flight_fd = os.open(scratch / FLIGHT_FILE, os.O_RDONLY)
    try:
        child, pump = _start_child(role, target, scratch, echo)
        sampler = rss.RssSampler(
            child.pid, config.sample_interval_seconds, config.sampler, tree=True,
            recording_from=lambda: read_flight_cell(flight_fd, WINDOW_START_MONOTONIC),
            on_tree=child.track,
        )
        started = time.monotonic()
        tick = _ticker(target, run_index, started, sampler, flight_fd, on_progress)
        deadline = None if config.timeout_seconds is None else started + config.timeout_seconds
        stopped_by: BaseException | None = None
        try:
            sampler.start()
            exited = child.wait(deadline, tick, PROGRESS_INTERVAL_SECONDS)
            ended_at = time.monotonic()
        except BaseException as exc:
            stopped_by = exc
            raise
        finally:
            child.end(_first_signal(stopped_by))
            samples = sampler.stop()
            if pump is not None:
                pump.stop()
    finally:
        os.close(flight_fd)
    return _gathered(child, pump, sampler, samples, scratch, target, exited, ended_at,
                     outcome.OomEvidence(oom_before, outcome.oom_kills()))


def _ticker(
    target: Target, run_index: int, started: float, sampler: rss.RssSampler, flight_fd: int,
    on_progress: Callable[[Progress], None] | None,
) -> Callable[[], None]:
    config = target.config
    runs_total = config.repeat + (1 if config.explain else 0)

    def tick() -> None:
        if on_progress is not None:
            done = (int(read_flight_cell(flight_fd, ITERATIONS_DONE))
                    if not target.traits.runs_once else None)
            on_progress(Progress(run_index, runs_total, time.monotonic() - started,
                                 sampler.latest_rss_bytes, done))

    return tick


def _gathered(
    child: process.MeasuredChild, pump: OutputPump | None, sampler: rss.RssSampler,
    samples: rss.Samples, scratch: Path, target: Target, exited: bool, ended_at: float,
    oom: outcome.OomEvidence,
) -> _Ended:
    """What the child left: its result (or, for a program that ended its process itself,
    the figures that survived it), or the one error that says why there is none."""
    config = target.config
    tail = _tail(scratch / ("child.log" if pump is None else "stderr.log"))
    if not exited:
        raise RunTimedOutError(
            f"the measured run timed out after {config.timeout_seconds:g} s (--timeout); "
            f"it and every process it started were ended (SIGTERM, then SIGKILL after "
            f"{process.tree.GRACE_SECONDS:g} s)",
            detail=tail or None,
        )
    returncode = child.process.returncode
    result = outcome.read_child_result(scratch / "result.json")
    ending = None
    if result is None and target.traits.ends_on_its_own:
        # A program that ended its process itself: its own end, measured all the same.
        result = unfinished_result(read_flight_record(scratch / FLIGHT_FILE), samples,
                                   ended_at, returncode, oom)
        ending = how_it_ended(returncode, oom)
    outcome.raise_for_failure(returncode, result, tail, oom)
    for name, error in (("RSS sampler", sampler.error), ("output pump", pump and pump.error)):
        if error:
            raise RunFailedError(f"the {name} failed: {error}")
    assert result is not None
    return _Ended(result, samples, tail, ending)


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    text = read_tail(path, STDERR_TAIL_BYTES)
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


