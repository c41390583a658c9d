"""``agmem baseline save``: measure a configuration, write the baseline ``agmem check`` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from autograd_mem._version import engine_revision
from autograd_mem.cli import pipeline
from autograd_mem.cli.options import check_writable, workload_options
from autograd_mem.cli.programs import (
    ProgramCommand,
    config_with_program,
    program_echo,
    program_options,
)
from autograd_mem.errors import ExitCode, UsageError, exit_code_epilog
from autograd_mem.schema import baseline as baseline_file
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.units import format_bytes, format_count
from autograd_mem.targets.target import target_of

# A median of one run is a single sample: three runs give a median and a spread to
# judge noisy metrics by, at three times the cost of one.
DEFAULT_REPEAT = 3

SAVE_EPILOG = (
    """\b
Examples:
  agmem baseline save base.json                      seed, weak mode, 3 runs
  agmem baseline save base.json --workload mlp --repeat 5
  agmem baseline save base.json -- train.py --epochs 2   a program and its arguments
  agmem baseline save base.json --explain -- train.py   with forensics, for causes
  agmem baseline save base.json --update -- train.py    rewrite it on purpose
  agmem check --baseline base.json                   later: fail on a regression

\b
The baseline records where it came from: the agmem version and the engine's
revision, the Python and numpy versions, the platform and the collector's
layout. `agmem check` names every difference. An existing FILE is rewritten
only with --update, so that a baseline is never replaced by accident.

"""
    + exit_code_epilog(
        (ExitCode.OK, ExitCode.USAGE, ExitCode.RUN_FAILED, ExitCode.INTERRUPTED)
    )
)


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
@click.option("--update", is_flag=True,
              help="Rewrite FILE if it exists (without it, an existing baseline is refused).")
@program_options
@click.pass_context
def save(ctx: click.Context, file: str, quiet: bool, update: bool, **options: Any) -> None:
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
    # Refuse an unwritable path, or one that would be replaced by accident, before
    # minutes of measuring, not after.
    if path.is_file() and not update:
        raise UsageError(
            f"baseline {path} exists: give --update to rewrite it (see `agmem check` "
            "to compare against it)"
        )
    check_writable(path, "FILE")
    [measurement] = pipeline.measure(
        [config], force=options["force"], quiet=quiet, echo=program_echo(quiet)
    )
    saved = baseline_file.from_measurement(measurement, engine_revision=engine_revision())
    baseline_file.save(path, saved)
    if not quiet:
        m, low, high = saved.metrics, saved.metrics_min, saved.metrics_max
        click.echo(
            f"agmem: saved baseline {path} ({_what(config)}, {saved.runs} runs): "
            f"peak growth {format_bytes(m.peak_rss_growth_bytes)} "
            f"({format_bytes(low.peak_rss_growth_bytes)} – "
            f"{format_bytes(high.peak_rss_growth_bytes)}), "
            f"{_retained(m.retained_bytes)}"
            f"live objects at the end {format_count(m.live_variables_end + m.live_functions_end)}, "
            f"collected {format_count(m.gc_collected)}",
            err=True,
        )


def _retained(retained_bytes: int | None) -> str:
    return "" if retained_bytes is None else f"retained {format_bytes(retained_bytes)}, "


def _what(config: RunConfig) -> str:
    """``weak mode``, or ``program train.py --fix``: what the baseline measured."""
    target = target_of(config)
    return f"program {target.title}" if target.traits.runs_once else f"{target.label} mode"
