"""``agmem run``: measure one reference mode of a workload and report it."""

from __future__ import annotations

from typing import Any

import click

from autograd_mem.cli import pipeline
from autograd_mem.cli.options import (
    config_from_options,
    output_from_options,
    output_options,
    workload_options,
)
from autograd_mem.cli.output import deliver

EPILOG = """\b
Examples:
  agmem run --mode strong                      the notebook's graph, collector on
  agmem run --mode strong --gc off --explain   what the collector would have freed
  agmem run --workload mlp --repeat 5          a training loop, median of 5 runs
  agmem run --workload my_pkg.train:step --mode weak --format json -o run.json

\b
Exit codes:
  0    success
  2    bad usage or input, found before any run
  3    the measured run failed (workload error, crash, killed)
  130  interrupted (Ctrl-C); no output file is left half-written
"""


@click.command("run", epilog=EPILOG)
@workload_options
@output_options
def command(**options: Any) -> None:
    """Measure one reference mode of a workload in a fresh interpreter.

    Reports peak RSS, growth above the baseline and against the floor, live
    Variables and Functions, every collection per generation with its pause, the
    time per iteration, and the RSS timeline with the collections marked.
    """
    config = config_from_options(options)
    output = output_from_options(options)
    [measurement] = pipeline.measure([config], force=options["force"], quiet=output.quiet)
    deliver(output, measurement)
