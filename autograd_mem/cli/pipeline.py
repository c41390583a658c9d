"""The one path every measuring command takes: validate all, measure under one progress bar.

``run``, ``compare``, ``baseline save`` and ``check`` differ only in the configurations
they build and in what they make of the measurements (a report to deliver, a baseline
to save); the steps between are here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autograd_mem import runner
from autograd_mem.cli.progress import run_progress
from autograd_mem.result import Measurement, RunConfig


def measure(
    configs: Sequence[RunConfig],
    *,
    force: bool,
    quiet: bool,
    echo: Callable[[str], None] | None = None,
) -> list[Measurement]:
    """Every configuration validated before any runs, then each measured in turn.

    One progress bar covers every run of every configuration, so a comparison of four
    modes reads as one task rather than four. A program's output goes to ``echo`` as
    it comes (see ``runner.measure``).
    """
    for config in configs:
        runner.validate(config)
    measurements = []
    with run_progress(sum(c.repeat for c in configs), quiet=quiet) as progress:
        for config in configs:
            # A program is named on the bar by its script or module, a workload by its mode.
            name = config.label if config.program is None else " ".join(config.program[:2])
            on_progress = progress.callback(name)
            measurements.append(
                runner.measure(config, force=force, on_progress=on_progress, echo=echo)
            )
            progress.finished(config.repeat)
    return measurements
