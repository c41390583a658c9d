"""The progress bar on stderr, with a live RSS readout of the child being measured.

Shown only when stderr is a terminal and ``--quiet`` is not given: a pipe or a CI
log gets no escape codes, and stdout is never touched.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from autograd_mem.units import format_bytes, format_seconds


class RunProgress:
    """Advances one bar over every run of a command, several modes one after another."""

    def __init__(self, progress: Progress | None, total_runs: int) -> None:
        self._progress = progress
        self._task = (
            progress.add_task("starting", total=total_runs, rss="") if progress else None
        )
        self._done = 0

    def callback(self, label: str) -> Callable[[Any], None] | None:
        """The ``on_progress`` for ``runner.measure`` of the mode called ``label``."""
        if self._progress is None or self._task is None:
            return None
        progress, task, done = self._progress, self._task, self._done

        def on_progress(update: Any) -> None:
            # Called from the runner's sampler thread; rich's Progress takes its own lock.
            # The runner numbers the explain pass after the measured runs.
            if update.run_index < update.runs_total:
                stage = f"{label} run {update.run_index + 1}/{update.runs_total}"
            else:
                stage = f"{label} explain pass"
            progress.update(
                task,
                description=stage,
                completed=done + min(update.run_index, update.runs_total),
                rss=f"RSS {format_bytes(update.rss_bytes)} at {format_seconds(update.seconds)}",
            )

        return on_progress

    def finished(self, runs: int) -> None:
        """Mark a mode's ``runs`` done."""
        self._done += runs
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self._done)


@contextmanager
def run_progress(total_runs: int, *, quiet: bool) -> Iterator[RunProgress]:
    """A RunProgress drawing on stderr when it is a terminal, silent otherwise."""
    if quiet or not sys.stderr.isatty():
        yield RunProgress(None, total_runs)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rss]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        yield RunProgress(progress, total_runs)
