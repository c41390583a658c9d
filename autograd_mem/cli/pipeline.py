"""The one path every measuring command takes: validate all, measure under one progress bar.

``run``, ``compare``, ``baseline save`` and ``check`` differ only in the configurations
they build and in what they make of the measurements (a report to deliver, a baseline
to save); the steps between are here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autograd_mem.cli.progress import run_progress
from autograd_mem.measure import runner
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Measurement
from autograd_mem.targets.target import target_of


def measure(
    configs: Sequence[RunConfig],
    *,
    force: bool,
    quiet: bool,
    labels: Sequence[str] | None = None,
    echo: Callable[[str], None] | None = None,
) -> list[Measurement]:
    """Every configuration validated before any runs, then each measured in turn.

    One progress bar covers every run of every configuration, so a comparison of four
    modes reads as one task rather than four. ``labels`` name the configurations on the
    bar (their modes by default; a program's script or module). A program's output goes
    to ``echo`` as it comes (see ``runner.measure``).
    """
    for config in configs:
        runner.validate(config)
    names = list(labels) if labels is not None else [_name(c) for c in configs]
    measurements = []
    with run_progress(configs, names, quiet=quiet) as progress:
        for config, name in zip(configs, names, strict=True):
            on_progress = progress.callback(name, config)
            measurements.append(
                runner.measure(config, force=force, on_progress=on_progress, echo=echo)
            )
            progress.finished()
    return measurements


def _name(config: RunConfig) -> str:
    """A workload is named on the bar by its mode, a program by its script or module."""
    return target_of(config).label
