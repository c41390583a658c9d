"""The parent's side of a measurement: validate, spawn one fresh child per run, sample, gather.

Every run happens in a fresh interpreter (``python -m autograd_mem.measure.child``) so that
one run cannot pollute the next: freed memory is rarely returned to the OS, and the
collector's counters carry over. The parent samples the child's RSS from a thread of
its own and aligns the samples with the iterations the child reports, both stamped in
``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process on Linux).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd_mem.errors import (
    ProgramExitError,
    RunFailedError,
    RunTimedOutError,
    UsageError,
    WorkloadError,
)
from autograd_mem.measure import series
from autograd_mem.measure.program_output import OutputPump
from autograd_mem.measure.protocol import (
    EXIT_INTERNAL_ERROR,
    EXIT_WORKLOAD_NOT_FOUND,
    EXIT_WORKLOAD_RAISED,
    PARENT_PID_VARIABLE,
    PROGRESS_FILE,
    create_progress_counter,
    read_progress_counter,
)
from autograd_mem.probes import rss
from autograd_mem.schema.codec import dumps, from_plain
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.explain import ExplainReport
from autograd_mem.schema.files import read_tail
from autograd_mem.schema.run import (
    Environment,
    IterationRecord,
    Measurement,
    RunResult,
    Timeline,
    run_from_dict,
)
from autograd_mem.schema.units import format_bytes
from autograd_mem.targets import workloads
from autograd_mem.targets.program import check_program, child_stdin, parse_program_args

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
    rss_bytes: int
    # Iterations the child has finished, read from its progress counter; None for a
    # program, which has no iterations.
    iterations_done: int | None = None


def validate(config: RunConfig) -> None:
    """Refuse, before any run starts, a workload that cannot be found (WorkloadError, exit 2),
    or a sampling interval longer than the sampler thread waits (UsageError, exit 2).

    A program is checked as ``program.check_program`` checks it, without running any of it.
    The other fields were checked when the config was built: a RunConfig checks itself.
    """
    interval = config.sample_interval_seconds
    if interval > rss.MAX_SAMPLE_INTERVAL_SECONDS:
        raise UsageError(
            f"sample interval must be at most {rss.MAX_SAMPLE_INTERVAL_SECONDS:g} s, "
            f"not {interval!r}"
        )
    if config.program is not None:
        check_program(parse_program_args(config.program))
    else:
        workloads.check_workload(config.workload)


def _refuse_what_cannot_fit(config: RunConfig) -> None:
    """Refuse, before any child starts, a run whose floor and bookkeeping exceed free memory.

    The floor is what a built-in workload must hold at its peak; the bookkeeping is
    what agmem keeps per iteration, which alone makes ``--iterations 10**12``
    impossible whatever the workload. Better one clear line now than an OOM kill later.
    A program has neither: nothing can be known of it before it runs.
    """
    if config.program is not None:
        return
    floor = workloads.floor_bytes(config) or 0
    bookkeeping = config.iterations * workloads.BOOKKEEPING_BYTES_PER_ITERATION
    available = rss.available_memory_bytes()
    if floor + bookkeeping <= available:
        return
    parts = []
    if floor:
        parts.append(f"{format_bytes(floor)} of arrays at its peak (its floor)")
    parts.append(f"{format_bytes(bookkeeping)} of per-iteration records")
    raise UsageError(
        f"the run needs at least {' and '.join(parts)}, but only {format_bytes(available)} "
        "of memory is available; use a smaller size or fewer iterations, or force it (--force)"
    )


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
    KeyboardInterrupt the running child is killed and reaped, then the interrupt goes on.

    A program's output goes to ``echo`` as it comes (in its first measured run only:
    the repeats and the explain pass run the same program again) besides its logs. A
    program that exits with a non-zero status raises ProgramExitError (exit 3), which
    carries the measurement of the runs so far, the failing one included, so that the
    command can still show what it measured.
    """
    validate(config)
    if not force:
        _refuse_what_cannot_fit(config)
    runs: list[RunResult] = []
    environment: Environment | None = None
    for index in range(config.repeat):
        document, samples, tail = _run_child(
            "measure", config, index, on_progress, echo if index == 0 else None
        )
        environment = from_plain(Environment, document["environment"], "child environment")
        runs.append(_with_timeline(document, samples, config))
        # Its stderr was shown as it came when echoed: the error need not repeat its tail.
        _raise_for_exit_status(config, environment, runs, tail, shown=index == 0 and bool(echo))
    assert environment is not None
    measurement = Measurement(config=config, environment=environment, runs=tuple(runs))
    if not config.explain:
        return measurement
    # One explain pass per measurement, in its own child: its report goes on the
    # representative run, which is the one Measurement.explain reads.
    document, _, _ = _run_child("explain", config, config.repeat, on_progress, None)
    report = from_plain(ExplainReport, document["explain"], "child explain")
    representative = measurement.representative
    return dataclasses.replace(
        measurement,
        runs=tuple(
            dataclasses.replace(r, explain=report) if r is representative else r for r in runs
        ),
    )


def _raise_for_exit_status(
    config: RunConfig, environment: Environment, runs: list[RunResult], tail: str, *, shown: bool
) -> None:
    """Raise ProgramExitError if the program just measured exited with a non-zero status, with
    ``tail`` (the last lines of its stderr) unless its output was ``shown`` as it came."""
    status = runs[-1].exit_status
    if not status:
        return
    assert config.program is not None
    measurement = Measurement(config=config, environment=environment, runs=tuple(runs))
    if shown:
        where, detail = " (its output is above)", None
    else:
        where, detail = ("" if tail else " (it wrote nothing to stderr)"), tail or None
    raise ProgramExitError(
        f"the program exited with status {status}: {shlex.join(config.program)}{where}",
        detail=detail,
        status=status,
        measurement=measurement,
    )


def _iteration_at(record: IterationRecord, seconds: float, iterations: int) -> int:
    """The iteration in progress ``seconds`` after the first began, from the bucketed record.

    Exact while each bucket is one iteration (runs of up to ``series.MAX_POINTS``);
    inside a longer bucket, placed in proportion to the time its iterations took.
    """
    ends = record.end_seconds
    bucket = bisect_right(ends, seconds)
    if bucket >= len(ends):
        return iterations - 1
    first = record.iteration[bucket]
    last = record.iteration[bucket + 1] - 1 if bucket + 1 < len(ends) else iterations - 1
    began = ends[bucket - 1] if bucket else 0.0
    span = ends[bucket] - began
    offset = int((seconds - began) / span * (last - first + 1)) if span > 0 else 0
    return min(first + max(offset, 0), last)


def _with_timeline(document: dict[str, Any], samples: rss.Samples, config: RunConfig) -> RunResult:
    """The child's run plus the parent's samples from its first iteration's start to its last's end.

    Samples outside that span (interpreter start-up, warm-up, writing the result) are
    dropped: the timeline shows the workload, and ``seconds`` counts from its start.
    The rest is kept in at most ``series.MAX_POINTS`` buckets (see Timeline), between
    the child's own readings at the edges: its baseline RSS at 0 s (iteration 0), and
    a workload's end RSS at its last iteration's end. So every timeline starts at 0 with
    a real reading, even a run shorter than the sampling interval. A program's span is
    its run, from its first line; its samples include its worker processes', from which
    its children's peaks are read.
    """
    run = run_from_dict(document["run"], "child run")
    start = float(document["workload_start_monotonic"])
    workload = config.program is None
    if workload:
        ends = run.per_iteration.end_seconds
        span = ends[-1] if ends else 0.0
    else:
        span = run.metrics.wall_seconds
    lo = bisect_left(samples.seconds, start)
    hi = bisect_right(samples.seconds, start + span)
    edges = 2 if workload else 1
    ranges = [(lo + a, lo + b) for a, b in series.bucket_ranges(hi - lo, series.MAX_POINTS - edges)]
    lows, highs = series.bucket_min_max(samples.rss_bytes, ranges)
    seconds = [0.0, *(samples.seconds[a] - start for a, _ in ranges)]
    rss_low = [run.metrics.baseline_rss_bytes, *(int(v) for v in lows)]
    rss_high = [run.metrics.baseline_rss_bytes, *(int(v) for v in highs)]
    if workload:
        seconds.append(span)
        rss_low.append(run.metrics.end_rss_bytes)
        rss_high.append(run.metrics.end_rss_bytes)
        iterations = [_iteration_at(run.per_iteration, t, config.iterations) for t in seconds]
        iterations[0], iterations[-1] = 0, config.iterations - 1
    else:
        iterations = [0] * len(seconds)  # a program is one run: its timeline is in seconds
    timeline = Timeline(
        seconds=tuple(seconds),
        rss_bytes=tuple(rss_high),
        iteration=tuple(iterations),
        rss_bytes_min=tuple(rss_low),
    )
    if not workload:
        return _with_children(dataclasses.replace(run, timeline=timeline), samples, lo, hi, ranges)
    return dataclasses.replace(run, timeline=timeline)


def _with_children(
    run: RunResult, samples: rss.Samples, lo: int, hi: int, ranges: list[tuple[int, int]]
) -> RunResult:
    """A program's run with its worker processes: their series, and the sampled peaks.

    None when no sample fell inside the program's run (a program shorter than the
    sampling interval): nothing is known of its children then, and no figure says 0.
    The series starts with 0 at the program's first line, where it has started none.
    """
    children = samples.children_rss_bytes
    if hi <= lo or len(children) < hi:
        return run
    _, highs = series.bucket_min_max(children, ranges)
    timeline = dataclasses.replace(
        run.timeline, children_rss_bytes=(0, *(int(v) for v in highs)))
    metrics = dataclasses.replace(
        run.metrics,
        children_peak_rss_bytes=max(children[lo:hi]),
        tree_peak_rss_bytes=max(samples.rss_bytes[i] + children[i] for i in range(lo, hi)),
    )
    return dataclasses.replace(run, timeline=timeline, metrics=metrics)


def _child_environment() -> dict[str, str]:
    env = dict(os.environ)
    # Fixed hashing: set and dict orders, hence allocation patterns, repeat run to run.
    env["PYTHONHASHSEED"] = "0"
    env[PARENT_PID_VARIABLE] = str(os.getpid())
    return env


def _child_command(role: str, scratch: Path) -> list[str]:
    return [
        sys.executable, "-m", "autograd_mem.measure.child", role,
        str(scratch / "config.json"), str(scratch / "result.json"),
    ]


def _start_child(
    role: str, config: RunConfig, scratch: Path, echo: Callable[[str], None] | None
) -> tuple[subprocess.Popen[bytes], OutputPump | None]:
    """Start the child in a session of its own, its output going to a log in ``scratch``.

    Its own session (hence process group) is what lets the parent end the child and
    everything its workload started with one ``killpg``, and keeps a terminal's
    Ctrl-C from reaching it: the parent decides what to stop, and when.
    """
    if config.program is not None:
        return _start_program_child(role, config, scratch, echo)
    with open(scratch / "child.log", "wb") as log:
        # The workload's stdout and stderr go to a log, never to agmem's stdout
        # (which may carry a JSON document); its tail is shown if the run fails.
        process = subprocess.Popen(
            _child_command(role, scratch), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            env=_child_environment(), start_new_session=True,
        )
    return process, None


def _start_program_child(
    role: str, config: RunConfig, scratch: Path, echo: Callable[[str], None] | None
) -> tuple[subprocess.Popen[bytes], OutputPump]:
    """Start a program's child: its stdin /dev/null unless ``--stdin``, its stdout and stderr
    into pipes that an OutputPump copies to ``stdout.log`` and ``stderr.log`` (and ``echo``).

    Two logs rather than one: a failed program is shown with the tail of its stderr alone.
    """
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        process = subprocess.Popen(
            _child_command(role, scratch), stdin=child_stdin(config.stdin), stdout=out_write,
            stderr=err_write, env=_child_environment(), start_new_session=True,
        )
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        # The child has its copies: the pipes end when it (and its workers) are gone.
        os.close(out_write)
        os.close(err_write)
    streams = [(out_read, scratch / "stdout.log"), (err_read, scratch / "stderr.log")]
    return process, OutputPump(streams, echo).start()


def _run_child(
    role: str,
    config: RunConfig,
    run_index: int,
    on_progress: Callable[[Progress], None] | None,
    echo: Callable[[str], None] | None,
) -> tuple[dict[str, Any], rss.Samples, str]:
    """Run one child to its end: its ``ok`` document, the RSS samples taken, its stderr's tail.

    Whatever happens (success, failure, timeout, an interrupt or SIGTERM raised in
    this thread), the child's whole process group is killed and the child reaped before
    this returns, and the scratch folder is gone.
    """
    runs_total = config.repeat + (1 if config.explain else 0)
    with tempfile.TemporaryDirectory(prefix="agmem-") as folder:
        scratch = Path(folder)
        (scratch / "config.json").write_text(dumps(dataclasses.asdict(config)), encoding="utf-8")
        create_progress_counter(scratch)
        process, pump = _start_child(role, config, scratch, echo)
        sampler = rss.RssSampler(process.pid, config.sample_interval_seconds, config.sampler,
                                 tree=config.program is not None)
        started = time.monotonic()

        counter = os.open(scratch / PROGRESS_FILE, os.O_RDONLY)

        def tick(elapsed: float) -> None:
            if on_progress is not None:
                done = None if config.program is not None else read_progress_counter(counter)
                rss_now = sampler.latest_rss_bytes
                on_progress(Progress(run_index, runs_total, elapsed, rss_now, done))

        try:
            sampler.start()
            exited = _wait_for_exit(process, started, config.timeout_seconds, tick)
        finally:
            os.close(counter)
            _end_process_group(process)
            samples = sampler.stop()
            if pump is not None:
                pump.stop()
        tail = _tail(scratch / ("child.log" if pump is None else "stderr.log"))
        if not exited:
            raise RunTimedOutError(
                f"the measured run timed out after {config.timeout_seconds:g} s (--timeout); "
                "it and every process it started were ended",
                detail=tail or None,
            )
        document = _read_result(scratch / "result.json")
        _raise_for_failure(process.returncode, document, tail)
        for name, error in (("RSS sampler", sampler.error), ("output pump", pump and pump.error)):
            if error:
                raise RunFailedError(f"the {name} failed: {error}")
        assert document is not None
        return document, samples, tail


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return None


def _has_exited(pid: int, pidfd: int | None, seconds: float) -> bool:
    """Wait up to ``seconds`` for the child to exit, without reaping it.

    Why a pidfd rather than ``process.wait(timeout=...)``: on POSIX that polls
    ``waitpid`` with sleeps starting at half a millisecond, about eight wake-ups per
    interval, each one taken from the cores the measured child runs on; a pidfd (Linux
    5.3+) becomes readable when the process exits, so ``select`` wakes once per
    interval, or at the exit. Not reaping keeps the child's pid, and so its process
    group, from being reused until the group has been killed.
    """
    if pidfd is not None:
        return bool(select.select([pidfd], [], [], seconds)[0])
    flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
    if os.waitid(os.P_PID, pid, flags) is not None:
        return True
    time.sleep(seconds)
    return os.waitid(os.P_PID, pid, flags) is not None


def _wait_for_exit(
    process: subprocess.Popen[bytes],
    started: float,
    timeout: float | None,
    tick: Callable[[float], None],
) -> bool:
    """Wait for the child, calling ``tick`` every PROGRESS_INTERVAL_SECONDS; False on timeout."""
    deadline = None if timeout is None else started + timeout
    pidfd = _pidfd(process.pid)
    try:
        while True:
            wait = PROGRESS_INTERVAL_SECONDS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                wait = min(wait, left)
            if _has_exited(process.pid, pidfd, wait):
                return True
            tick(time.monotonic() - started)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _end_process_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child's process group (the child, and whatever its workload started), then reap.

    Done on every ending, a normal one too: a workload's background process must not
    outlive the measurement, holding memory or the terminal.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    text = read_tail(path, STDERR_TAIL_BYTES)
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _raise_for_failure(returncode: int, document: dict[str, Any] | None, tail: str) -> None:
    """Turn a child's ending into the one error that says what happened; return if it succeeded."""
    document = document or {}
    status = document.get("status")
    # A workload that closed its stdout and stderr left no log: the traceback kept in
    # the result document says why it failed.
    detail = tail or str(document.get("traceback", "")).rstrip("\n") or None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " — possibly the OOM killer" if -returncode == signal.SIGKILL else ""
        raise RunFailedError(f"the measured child was killed ({name}){hint}", detail=detail)
    if status == "workload-not-found" or returncode == EXIT_WORKLOAD_NOT_FOUND:
        message = document.get("message", "the workload could not be imported")
        raise WorkloadError(str(message), detail=detail)
    if status == "workload-raised" or returncode == EXIT_WORKLOAD_RAISED:
        raise RunFailedError(
            f"the workload raised {document.get('message', 'an exception')}", detail=detail
        )
    if status == "internal-error" or returncode == EXIT_INTERNAL_ERROR:
        message = document.get("message", "no reason was recorded")
        raise RunFailedError(f"agmem failed inside the measured child: {message} (a bug in agmem)")
    if returncode != 0:
        raise RunFailedError(f"the measured child exited with code {returncode}", detail=detail)
    if status != "ok":
        raise RunFailedError("the measured child left no readable result", detail=detail)
