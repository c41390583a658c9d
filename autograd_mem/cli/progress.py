"""The progress bar on stderr, with a live RSS readout of the child being measured.

Shown only when stderr is a terminal and ``--quiet`` is not given: a pipe or a CI
log gets no escape codes, and stdout is never touched. Every column has a fixed
width, so the bar does not jump as the stage's name or the readout changes length.

The count is the current run's own (``3,435/20,000``, beside "strong run 1/2"), while
the bar and the time left cover every run of the command; a program, whose length
nobody knows ahead, shows its time and RSS and no count. The line fits 80 columns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.units import format_bytes
from autograd_mem.targets.target import target_of

BAR_WIDTH = 12
# "RSS 1,023.5 MiB": the widest byte count the readout shows.
_BYTES_WIDTH = len("1,023.5 MiB")


def iterations_of(config: RunConfig) -> int | None:
    """The iterations one run of ``config`` goes through; None where that is not known ahead.

    A whole program has no iterations: its bar shows the time and the RSS only.
    """
    return None if target_of(config).traits.runs_once else config.iterations


def iterations_done(update: Any) -> int | None:
    """The iterations the running child has finished (``runner.Progress.iterations_done``),
    or None for a program, whose bar shows the time and the RSS only."""
    return getattr(update, "iterations_done", None)


def _readout(rss_bytes: int | None) -> str:
    """``RSS 52.0 MiB``; a dash until the sampler's first reading (never a made-up 0 B)."""
    shown = "–" if rss_bytes is None else format_bytes(rss_bytes)
    return f"RSS {shown:>{_BYTES_WIDTH}}"


def _count(done: int, total: int | None, width: int) -> str:
    """``3,435/20,000``: the current run's iterations; blank for a program (no count known)."""
    return "" if total is None else f"{done:,}/{total:,}".rjust(width)


class TimeLeftColumn(ProgressColumn):
    """``eta 0:12`` while the bar's total is known and rich can estimate it; blank otherwise."""

    def render(self, task: Task) -> Text:
        left = task.time_remaining if task.total is not None else None
        if left is None:
            return Text(" " * len("eta 0:00:00"))
        minutes, seconds = divmod(int(left + 0.5), 60)
        hours, minutes = divmod(minutes, 60)
        clock = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
        return Text(f"eta {clock}".ljust(len("eta 0:00:00")), style="progress.remaining")


class RunProgress:
    """Advances one bar over every iteration of every run of a command, variant after variant."""

    def __init__(self, progress: Progress | None, configs: Sequence[RunConfig],
                 names: Sequence[str]) -> None:
        self._progress = progress
        # Each config's runs: its repeats, and the explain pass, which runs the iterations too.
        self._steps = [
            (iterations_of(c) or 1) * (c.repeat + (1 if c.explain else 0)) for c in configs
        ]
        self._stage_width = max(
            [len(f"{name} run {c.repeat}/{c.repeat}") for name, c in zip(names, configs,
                                                                          strict=True)]
            + [len(f"{name} explain pass") for name, c in zip(names, configs, strict=True)
               if c.explain]
            + [len("starting")]
        )
        total = None if any(iterations_of(c) is None for c in configs) else sum(self._steps)
        widest = max([iterations_of(c) or 0 for c in configs], default=0)
        self._count_width = len(_count(widest, widest, 0))
        self._task = (
            progress.add_task("starting".ljust(self._stage_width), total=total,
                              rss=_readout(0), count=" " * self._count_width)
            if progress else None
        )
        self._done = 0
        self._index = 0

    @property
    def completed(self) -> float:
        """Where the bar stands, in iterations (in runs' worth of iterations between updates)."""
        if self._progress is None or self._task is None:
            return 0.0
        return self._progress.tasks[0].completed

    def callback(self, label: str, config: RunConfig) -> Callable[[Any], None] | None:
        """The ``on_progress`` for ``runner.measure`` of the variant called ``label``."""
        if self._progress is None or self._task is None:
            return None
        progress, task, done, width = self._progress, self._task, self._done, self._stage_width
        per_run = iterations_of(config) or 1
        count_width = self._count_width

        def on_progress(update: Any) -> None:
            # Called from the runner's sampler thread; rich's Progress takes its own lock.
            # The runner numbers the explain pass after the measured runs (its
            # runs_total counts it too, so the config says how many runs are measured).
            if update.run_index < config.repeat:
                stage = f"{label} run {update.run_index + 1}/{config.repeat}"
            else:
                stage = f"{label} explain pass"
            within = min(iterations_done(update) or 0, per_run)
            progress.update(
                task,
                description=stage.ljust(width),
                completed=done + update.run_index * per_run + within,
                rss=_readout(update.rss_bytes),
                count=_count(within, iterations_of(config), count_width),
            )

        return on_progress

    def finished(self) -> None:
        """Mark the current variant's runs done: the bar moves to the next one's start."""
        if self._index < len(self._steps):
            self._done += self._steps[self._index]
            self._index += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self._done)


@contextmanager
def run_progress(configs: Sequence[RunConfig], names: Sequence[str], *,
                 quiet: bool) -> Iterator[RunProgress]:
    """A RunProgress drawing on stderr when it is a terminal, silent otherwise."""
    if quiet or not sys.stderr.isatty():
        yield RunProgress(None, configs, names)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=BAR_WIDTH),
        TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[rss]}"),
        TimeElapsedColumn(),
        TimeLeftColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        yield RunProgress(progress, configs, names)
