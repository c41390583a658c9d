"""``agmem check``: rerun a baseline's configuration, or check budgets, and fail on a regression."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click
from click.core import ParameterSource

from autograd_mem.analysis import regression
from autograd_mem.cli import pipeline
from autograd_mem.cli.options import (
    IntAtLeast,
    OutputOptions,
    option_name,
    output_from_options,
    output_options,
    workload_options,
)
from autograd_mem.cli.output import deliver, note
from autograd_mem.cli.programs import (
    ProgramCommand,
    config_with_program,
    confine_program,
    given,
    program_echo,
    program_options,
    program_spec,
    refuse_workload_options,
    with_program,
)
from autograd_mem.errors import UsageError, WorkloadError
from autograd_mem.reporters import check_rows
from autograd_mem.schema import baseline as baseline_file
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.rules import COUNT
from autograd_mem.schema.units import parse_size
from autograd_mem.targets import workloads

EPILOG = """\b
How each metric is judged (its class, shown on every row of the report):
  exact      deterministic for one interpreter and configuration: live
             Variables and Functions (end, max), objects collected and
             uncollectable, collections per generation, tracemalloc peak.
             Must not grow above the largest value of the baseline's runs.
  tolerance  RSS: peak growth, peak, end (and USS). Fails only when the
             growth exceeds BOTH --tolerance x baseline AND --min-delta.
             With --max-slowdown, wall time too.
  budget     --max-peak-growth, --max-live-objects, --max-collected:
             absolute limits, with or without a baseline.
  info       shown, never failing: baseline RSS, floor, pauses, wall time.

\b
A baseline from another Python version or collector layout is named on
stderr and in the report; its exact metrics are then judged with the
tolerance, and collections per generation become info when the
generations or thresholds differ.

\b
Examples:
  agmem check --baseline base.json
  agmem check --baseline base.json --mode strong       override the baseline's mode
  agmem check --baseline base.json --format markdown -o comment.md
  agmem check --workload mlp --max-collected 0 --max-peak-growth 50MiB
  agmem check --max-collected 0 -- train.py --epochs 1   a program, with budgets

\b
A baseline saved from a program reruns it; a program (or --workload) given
here replaces the baseline's. A program a baseline names is run only if it
lies in the current directory tree; the header says what runs.

\b
Exit codes:
  0    every metric holds
  1    a regression (or a budget exceeded); the report names the metrics
  2    bad usage, or a baseline file missing, unreadable, corrupt, truncated,
       of another schema version, or not a baseline
  3    the measured run failed (workload error, crash, killed, a program
       that exited with a non-zero status)
  130  interrupted (Ctrl-C)
"""

_WORKLOAD_FIELDS = {f.name for f in dataclasses.fields(RunConfig)}
# Sources that mean "the user did not say": the option keeps the baseline's value.
_UNSAID = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
# The limits that are budgets (``regression.Limits``), popped from the options by name.
_LIMIT_FIELDS = tuple(f.name for f in dataclasses.fields(regression.Limits))


class Fraction(click.ParamType):
    """A relative tolerance: ``10%`` or ``0.1``."""

    name = "fraction"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = float(text[:-1]) / 100 if percent else float(text)
        except ValueError:
            number = -1.0
        # A bare 10 is most likely meant as 10%, not 1000%: refuse rather than guess.
        if number < 0 or (number > 1 and not percent) or number != number:
            raise UsageError(
                f"--tolerance must be a percentage like 10% or a fraction like 0.1, got {value!r}"
            )
        return number


class Size(click.ParamType):
    """Bytes, from ``50MiB``, ``1.5 GB`` or a plain number."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return parse_size(value)
        except ValueError as exc:
            raise UsageError(f"{option_name(param)}: {exc}") from None


class Factor(click.ParamType):
    """A slowdown factor of at least 1: ``1.5`` allows 50% more wall time."""

    name = "factor"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(str(value).rstrip("xX"))
        except ValueError:
            number = 0.0
        if not number >= 1:
            raise UsageError(f"--max-slowdown must be a factor of 1 or more (1.5x), got {value!r}")
        return number


@click.command("check", cls=ProgramCommand, epilog=EPILOG)
@click.option("--baseline", "baseline_path", metavar="FILE",
              help="Baseline written by `agmem baseline save`; its configuration is rerun, "
              "and any workload option given here overrides it.")
@click.option("--tolerance", type=Fraction(), default="10%", show_default=True,
              help="Relative growth allowed for noisy (RSS) metrics; a metric fails only "
              "when its growth exceeds both this and --min-delta.")
@click.option("--min-delta", "min_delta_bytes", type=Size(), default="1 MiB", show_default=True,
              help="Absolute growth allowed for noisy (RSS) metrics, so that a small "
              "baseline's noise does not fail.")
@click.option("--max-slowdown", type=Factor(), default=None,
              help="Also gate wall time: at most this factor x the baseline's (not gated "
              "by default: shared CI machines are noisy).")
@click.option("--max-peak-growth", "max_peak_growth_bytes", type=Size(), default=None,
              help="Budget: peak RSS growth above the run's baseline RSS, e.g. 50MiB.")
@click.option("--max-live-objects", type=IntAtLeast.of(COUNT), metavar="COUNT", default=None,
              help="Budget: Variables + Functions still alive at the end, e.g. 0.")
@click.option("--max-collected", type=IntAtLeast.of(COUNT), metavar="COUNT", default=None,
              help="Budget: objects the cyclic collector had to free, e.g. 0.")
@workload_options
@program_options
@output_options
@click.pass_context
def command(ctx: click.Context, baseline_path: str | None, **options: Any) -> int:
    """Rerun a configuration and compare it metric by metric with a baseline
    and/or absolute budgets; exit 1 when memory regressed.

    Deterministic metrics are judged exactly, noisy ones against a tolerance, and
    every row of the report says which (see below). With --baseline, the workload
    options default to the baseline's configuration, and only those given here
    change it; the defaults shown apply to a check with budgets alone.
    """
    limits = regression.Limits(**{name: options.pop(name) for name in _LIMIT_FIELDS})
    if baseline_path is None and not limits.budgets:
        raise UsageError(
            "nothing to check: give --baseline FILE, or a budget "
            "(--max-peak-growth, --max-live-objects, --max-collected)"
        )
    output = output_from_options(options)
    if baseline_path is None:
        saved, config = None, config_with_program(ctx, options)
    else:
        saved = baseline_file.load(baseline_path)
        config = _baselines_config(ctx, saved.config, options, baseline_path, output)
    [measurement] = pipeline.measure(
        [config], force=options["force"], quiet=output.quiet, echo=program_echo(output.quiet)
    )

    report = regression.check(measurement, saved, limits, baseline_path=baseline_path)
    for warning in check_rows.environment_warnings(report):
        note(output, warning)
    deliver(output, report)
    if output.format != "table" or output.output is not None:
        # The report went to a file or a machine: CI logs still get the verdict.
        note(output, report.summary)
    return report.exit_code


def _baselines_config(
    ctx: click.Context, config: RunConfig, options: dict[str, Any], path: str,
    output: OutputOptions,
) -> RunConfig:
    """The baseline's configuration, with what the command line changes, checked for trust.

    A program typed here replaces the baseline's program or workload, and ``--workload``
    its program; what the baseline names itself runs only if it lies in this tree.
    """
    keep_stdin = bool(options.get("stdin"))
    typed = program_spec(ctx, options)
    config = _override(ctx, config, options)
    if typed is not None:
        return with_program(config, typed, keep_stdin)
    if given(ctx, "workload"):
        return dataclasses.replace(config, program=None, stdin=False)
    if config.program is not None:
        refuse_workload_options(ctx, config.program)
        spec = confine_program(config, f"baseline {path}")
        note(output, f"checking program {spec.command}, named by baseline {path}")
        return config
    _check_the_baselines_workload(config, path, output)
    return config


def _check_the_baselines_workload(config: RunConfig, path: str, output: OutputOptions) -> None:
    """Refuse a workload the user did not name unless it lies in the current directory tree.

    A baseline can come from anyone (a pull request), and checking it runs its workload:
    agmem runs only code found here, and says which before it starts.
    """
    try:
        spec = workloads.check_workload(config.workload, confined=True)
    except WorkloadError as exc:
        hint = ""
        relative = workloads.parse_spec(config.workload).path
        if relative is not None and not os.path.isabs(relative):
            hint = (
                f" (its relative path is read from the current directory, {os.getcwd()}: "
                "check from the directory it was saved in, or give --workload)"
            )
        raise WorkloadError(f"baseline {path}: {exc.message}{hint}") from None
    kind = "built-in workload" if spec.is_builtin else "workload"
    note(output, f"checking {kind} {config.workload}, named by baseline {path}")


def _override(ctx: click.Context, config: RunConfig, options: dict[str, Any]) -> RunConfig:
    """The baseline's configuration with the workload options given on the command line."""
    given = {
        name: value
        for name, value in options.items()
        if name in _WORKLOAD_FIELDS and ctx.get_parameter_source(name) not in _UNSAID
    }
    return dataclasses.replace(config, **given)
