"""``agmem baseline save``: measure a configuration, write the baseline ``agmem check`` reads."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from autograd_mem.cli import pipeline
from autograd_mem.cli.options import check_writable, workload_options
from autograd_mem.cli.programs import (
    ProgramCommand,
    config_with_program,
    program_echo,
    program_options,
)
from autograd_mem.schema import baseline as baseline_file
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.units import format_bytes, format_count

# A median of one run is a single sample: three runs give a median and a spread to
# judge noisy metrics by, at three times the cost of one.
DEFAULT_REPEAT = 3

SAVE_EPILOG = """\b
Examples:
  agmem baseline save base.json                      seed, weak mode, 3 runs
  agmem baseline save base.json --workload mlp --repeat 5
  agmem baseline save base.json -- train.py --epochs 2   a program and its arguments
  agmem check --baseline base.json                   later: fail on a regression

\b
Exit codes:
  0    the baseline was written
  2    bad usage or input (options, workload, a path that cannot be written)
  3    the measured run failed (workload error, crash, killed, a program
       that exited with a non-zero status)
  130  interrupted (Ctrl-C); the previous baseline file, if any, is untouched
"""


@click.group("baseline")
def command() -> None:
    """Save the reference measurement that `agmem check` compares against."""


@command.command(
    "save", cls=ProgramCommand, leading=1, epilog=SAVE_EPILOG,
    context_settings={"default_map": {"repeat": DEFAULT_REPEAT}},
)
@click.argument("file", metavar="FILE")
@workload_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary on stderr.")
@program_options
@click.pass_context
def save(ctx: click.Context, file: str, quiet: bool, **options: Any) -> None:
    """Measure a configuration and write it as the baseline FILE.

    The configuration runs --repeat times, each in a fresh interpreter; FILE keeps
    the configuration, the interpreter, and the median and min–max of every metric.

    FILE is written atomically (a temporary file renamed over it), so an interrupted
    save leaves the previous baseline or none, never half of one. The workload
    options are those of `agmem run`, and so is a program after them (a program
    that exits with a non-zero status saves nothing); `agmem check` reruns them.
    """
    path = Path(file)
    config = config_with_program(ctx, options)
    # Refuse an unwritable path before minutes of measuring, not after.
    check_writable(path, "FILE")
    [measurement] = pipeline.measure(
        [config], force=options["force"], quiet=quiet, echo=program_echo(quiet)
    )
    saved = baseline_file.from_measurement(measurement)
    baseline_file.save(path, saved)
    if not quiet:
        m, low, high = saved.metrics, saved.metrics_min, saved.metrics_max
        click.echo(
            f"agmem: saved baseline {path} ({_what(config)}, {saved.runs} runs): "
            f"peak growth {format_bytes(m.peak_rss_growth_bytes)} "
            f"({format_bytes(low.peak_rss_growth_bytes)} – "
            f"{format_bytes(high.peak_rss_growth_bytes)}), "
            f"live objects at the end {format_count(m.live_variables_end + m.live_functions_end)}, "
            f"collected {format_count(m.gc_collected)}",
            err=True,
        )


def _what(config: RunConfig) -> str:
    """``weak mode``, or ``program train.py --fix``: what the baseline measured."""
    if config.program is None:
        return f"{config.label} mode"
    return f"program {shlex.join(config.program)}"
