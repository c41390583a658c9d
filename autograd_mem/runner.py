"""The parent's side of a measurement: validate, spawn one fresh child per run, sample, gather.

Every run happens in a fresh interpreter (``python -m autograd_mem.child``) so that
one run cannot pollute the next: freed memory is rarely returned to the OS, and the
collector's counters carry over. The parent samples the child's RSS from a thread of
its own and aligns the samples with the iterations the child reports, both stamped in
``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process on Linux).
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd_mem import workloads
from autograd_mem.child import EXIT_WORKLOAD_NOT_FOUND, EXIT_WORKLOAD_RAISED
from autograd_mem.errors import RunFailedError, UsageError, WorkloadError
from autograd_mem.probes import rss
from autograd_mem.result import (
    Environment,
    ExplainReport,
    Measurement,
    RunConfig,
    RunResult,
    Timeline,
    dumps,
    from_plain,
    run_from_dict,
)
from autograd_mem.units import format_bytes

# How much of a failed child's stderr an error shows.
STDERR_TAIL_LINES = 20
# How often the parent wakes to report progress while a child runs.
PROGRESS_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class Progress:
    """A live reading for a progress bar: which run, how long it has gone, the child's RSS now."""

    run_index: int
    runs_total: int
    seconds: float
    rss_bytes: int


def validate(config: RunConfig) -> None:
    """Refuse, before any run starts, a workload that cannot be found (WorkloadError, exit 2).

    The other fields were checked when the config was built: a RunConfig checks itself.
    """
    workloads.check_workload(config.workload)


def _refuse_what_cannot_fit(config: RunConfig) -> None:
    """Refuse, before any child starts, a run whose floor and bookkeeping exceed free memory.

    The floor is what a built-in workload must hold at its peak; the bookkeeping is
    what agmem keeps per iteration, which alone makes ``--iterations 10**12``
    impossible whatever the workload. Better one clear line now than an OOM kill later.
    """
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
) -> Measurement:
    """Measure ``config`` in ``config.repeat`` fresh children (plus one for ``explain``).

    Raises UsageError when the analytical floor exceeds the memory available (unless
    ``force``), WorkloadError when the child cannot import the workload, and
    RunFailedError when the workload raises or the child crashes or is killed. On
    KeyboardInterrupt the running child is killed and reaped, then the interrupt goes on.
    """
    validate(config)
    if not force:
        _refuse_what_cannot_fit(config)
    runs: list[RunResult] = []
    environment: Environment | None = None
    for index in range(config.repeat):
        document, samples = _run_child("measure", config, index, on_progress)
        environment = from_plain(Environment, document["environment"], "child environment")
        runs.append(_with_timeline(document, samples))
    assert environment is not None
    measurement = Measurement(config=config, environment=environment, runs=tuple(runs))
    if not config.explain:
        return measurement
    # One explain pass per measurement, in its own child: its report goes on the
    # representative run, which is the one Measurement.explain reads.
    document, _ = _run_child("explain", config, config.repeat, on_progress)
    report = from_plain(ExplainReport, document["explain"], "child explain")
    representative = measurement.representative
    return dataclasses.replace(
        measurement,
        runs=tuple(
            dataclasses.replace(r, explain=report) if r is representative else r for r in runs
        ),
    )


def _with_timeline(document: dict[str, Any], samples: rss.Samples) -> RunResult:
    """The child's run plus the parent's samples from its first iteration's start to its last's end.

    Samples outside that span (interpreter start-up, warm-up, writing the result) are
    dropped: the timeline shows the workload, and ``seconds`` counts from its start.
    """
    run = run_from_dict(document["run"], "child run")
    start = float(document["workload_start_monotonic"])
    ends = run.per_iteration.end_seconds
    last = ends[-1] if ends else 0.0
    lo = bisect_left(samples.seconds, start)
    hi = bisect_right(samples.seconds, start + last)
    seconds = [t - start for t in samples.seconds[lo:hi]]
    timeline = Timeline(
        seconds=tuple(seconds),
        rss_bytes=tuple(samples.rss_bytes[lo:hi]),
        iteration=tuple(min(bisect_right(ends, s), len(ends) - 1) for s in seconds),
    )
    return dataclasses.replace(run, timeline=timeline)


def _child_environment() -> dict[str, str]:
    env = dict(os.environ)
    # Fixed hashing: set and dict orders, hence allocation patterns, repeat run to run.
    env["PYTHONHASHSEED"] = "0"
    return env


def _run_child(
    role: str,
    config: RunConfig,
    run_index: int,
    on_progress: Callable[[Progress], None] | None,
) -> tuple[dict[str, Any], rss.Samples]:
    """Run one child to its end and return its ``ok`` document and the RSS samples taken."""
    runs_total = config.repeat + (1 if config.explain else 0)
    with tempfile.TemporaryDirectory(prefix="agmem-") as scratch:
        config_path = Path(scratch, "config.json")
        result_path = Path(scratch, "result.json")
        log_path = Path(scratch, "child.log")
        config_path.write_text(dumps(dataclasses.asdict(config)), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "autograd_mem.child",
            role,
            str(config_path),
            str(result_path),
        ]
        with open(log_path, "wb") as log:
            # The workload's stdout and stderr go to a log, never to agmem's stdout
            # (which may carry a JSON document); its tail is shown if the run fails.
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_child_environment()
            )
            sampler = rss.RssSampler(process.pid, config.sample_interval_seconds, config.sampler)
            started = time.monotonic()
            try:
                sampler.start()
                if on_progress is None:
                    process.wait()
                else:
                    for elapsed in _ticks_until_exit(process, started):
                        rss_now = sampler.latest_rss_bytes
                        on_progress(Progress(run_index, runs_total, elapsed, rss_now))
            except BaseException:
                process.kill()
                process.wait()
                raise
            finally:
                samples = sampler.stop()
        tail = _tail(log_path)
        document = _read_result(result_path)
        _raise_for_failure(process.returncode, document, tail)
        assert document is not None
        return document, samples


def _ticks_until_exit(process: subprocess.Popen[bytes], started: float) -> Iterator[float]:
    """Yield the seconds since ``started`` every PROGRESS_INTERVAL_SECONDS until the child exits.

    Why not ``process.wait(timeout=...)`` in a loop: on POSIX it polls ``waitpid`` with
    sleeps starting at half a millisecond, about eight wake-ups per interval, each one
    taken from the cores the measured child runs on. A pidfd (Linux 5.3+) becomes
    readable when the process exits, so ``select`` wakes once per interval, or at the exit.
    """
    try:
        pidfd = os.pidfd_open(process.pid)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is None:
        while True:
            try:
                process.wait(timeout=PROGRESS_INTERVAL_SECONDS)
                return
            except subprocess.TimeoutExpired:
                yield time.monotonic() - started
    try:
        while not select.select([pidfd], [], [], PROGRESS_INTERVAL_SECONDS)[0]:
            yield time.monotonic() - started
        process.wait()
    finally:
        os.close(pidfd)


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _raise_for_failure(returncode: int, document: dict[str, Any] | None, tail: str) -> None:
    """Turn a child's ending into the one error that says what happened; return if it succeeded."""
    detail = tail or None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " — possibly the OOM killer" if -returncode == signal.SIGKILL else ""
        raise RunFailedError(f"the measured child was killed ({name}){hint}", detail=detail)
    document = document or {}
    status = document.get("status")
    if status == "workload-not-found" or returncode == EXIT_WORKLOAD_NOT_FOUND:
        message = document.get("message", "the workload could not be imported")
        raise WorkloadError(str(message), detail=detail)
    if status == "workload-raised" or returncode == EXIT_WORKLOAD_RAISED:
        raise RunFailedError(
            f"the workload raised {document.get('message', 'an exception')}", detail=detail
        )
    if returncode != 0:
        raise RunFailedError(f"the measured child exited with code {returncode}", detail=detail)
    if status != "ok":
        raise RunFailedError("the measured child left no readable result", detail=detail)
