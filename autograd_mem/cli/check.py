"""``agmem check``: rerun a baseline's configuration, or check budgets, and fail on a regression."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click
from click.core import ParameterSource

from autograd_mem._version import engine_revision
from autograd_mem.analysis import causes, regression
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
from autograd_mem.errors import ExitCode, UsageError, WorkloadError, exit_code_epilog
from autograd_mem.reporters import check_rows
from autograd_mem.schema import saved as saved_file
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.rules import COUNT
from autograd_mem.schema.units import parse_size
from autograd_mem.targets import workload_spec
from autograd_mem.targets.program import ProgramSpec

EPILOG = (
    """\b
How each metric is judged (its class, shown on every row of the report). The
limit starts from the largest value the baseline's own runs saw:
  exact      deterministic for one interpreter, configuration and engine:
             live Variables and Functions (end, max); for the built-in
             workloads also the collector's counts and the tracemalloc peak.
             Must not grow at all.
  tolerance  bytes. Peak growth: fails past the baseline's largest run by
             more than --tolerance x baseline, --min-delta and the runs'
             spread. Retained (memory still allocated at the end: a leak,
             early or late): by more than --retained-tolerance x the
             baseline's peak growth, or --min-delta. Cycle shapes of your
             code (with forensics): a new shape, or one holding more bytes.
             With --max-slowdown, wall time too.
  budget     --max-peak-rss-growth, --max-live-objects, --max-collected:
             absolute limits, with or without a baseline.
  info       shown, never failing.

\b
Programs and user workloads are gated on peak growth, retained memory, live
engine objects and their own cycle shapes. The collector's counts move with
any allocation (an argparse option, logging, 1% more input): they are info
unless --gate-collector, then judged against the baseline's spread plus the
tolerance. Peak and end RSS include the interpreter and freed memory: info.

\b
When a memory metric regresses, the program is rerun once with the forensics
(as --explain) and the two or three causes against the baseline's own
forensics (save it with --explain) are printed with their type, bytes and
line; --no-explain-on-fail skips the rerun.

\b
Every difference from the baseline's provenance (agmem, engine revision,
Python, numpy, platform, collector) is named. Across Python minor versions,
engine revisions or collector layouts the exact metrics are shown, not
gated: the portable bytes still are.

\b
Examples:
  agmem check --baseline base.json
  agmem check --baseline base.json --mode strong       override the baseline's mode
  agmem check --baseline base.json --format markdown -o comment.md
  agmem check --workload mlp --max-collected 0 --max-peak-rss-growth 50MiB
  agmem check --max-collected 0 -- train.py --epochs 1   a program, with budgets

\b
A baseline saved from a program reruns it; a program (or --workload) given
here replaces the baseline's. Paths in a baseline are read from the current
directory, and a program it names runs only if it lies in this directory
tree; the header says what runs.

"""
    + exit_code_epilog(
        (ExitCode.OK, ExitCode.REGRESSION, ExitCode.USAGE, ExitCode.RUN_FAILED,
         ExitCode.INTERRUPTED)
    )
)

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
@click.option("--retained-tolerance", type=Fraction(), default="2.5%", show_default=True,
              help="Retained memory (still allocated at the end) may grow by this share of "
              "the baseline's peak growth, or --min-delta, whichever is larger.")
@click.option("--gate-collector", is_flag=True,
              help="Also gate a program's collector counts (collections, objects "
              "collected), against the baseline's spread plus --tolerance.")
@click.option("--explain-on-fail/--no-explain-on-fail", default=True, show_default=True,
              help="On a memory regression, rerun once with the forensics and print "
              "the causes.")
@click.option("--max-slowdown", type=Factor(), default=None,
              help="Also gate wall time: at most this factor x the baseline's (not gated "
              "by default: shared CI machines are noisy).")
@click.option("--max-peak-rss-growth", "max_peak_rss_growth_bytes", type=Size(), default=None,
              help="Budget: peak RSS growth above the run's baseline RSS, e.g. 50MiB.")
@click.option("--max-peak-growth", "old_max_peak_growth", type=Size(), default=None,
              hidden=True, callback=lambda ctx, param, value: _renamed(param, value))
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
    explain_on_fail = options.pop("explain_on_fail")
    old = options.pop("old_max_peak_growth")
    if old is not None:
        if options["max_peak_rss_growth_bytes"] is not None:
            raise UsageError("give --max-peak-rss-growth only (--max-peak-growth is its old name)")
        options["max_peak_rss_growth_bytes"] = old
    limits = regression.Limits(**{name: options.pop(name) for name in _LIMIT_FIELDS})
    if baseline_path is None and not limits.budgets:
        raise UsageError(
            "nothing to check: give --baseline FILE, or a budget "
            "(--max-peak-rss-growth, --max-live-objects, --max-collected)"
        )
    output = output_from_options(options)
    if baseline_path is None:
        saved, config = None, config_with_program(ctx, options)
    else:
        saved = saved_file.read_baseline(baseline_path)
        config = _baselines_config(ctx, saved.config, options, baseline_path, output)
    [measurement] = pipeline.measure(
        [config], force=options["force"], quiet=output.quiet, echo=program_echo(output.quiet)
    )
    report = regression.check(
        measurement, saved, limits, baseline_path=baseline_path, engine_revision=engine_revision()
    )
    report = _explained(report, explain_on_fail, options["force"], output)
    for warning in check_rows.environment_warnings(report):
        note(output, warning)
    deliver(output, report)
    if output.format != "table" or output.output is not None:
        # The report went to a file or a machine: CI logs still get the verdict.
        note(output, report.summary)
    return report.exit_code


def _renamed(param: click.Parameter, value: int | None) -> int | None:
    """The old spelling still works, with one line on stderr: it named RSS here and
    tracemalloc's peak in the pytest plugin, one name for two metrics."""
    if value is not None:
        click.echo(
            "agmem: note: --max-peak-growth is now --max-peak-rss-growth (it limits RSS; "
            "the pytest plugin's max_peak_growth is tracemalloc's peak)", err=True,
        )
    return value


def _explained(
    report: regression.CheckReport, on_fail: bool, force: bool, output: OutputOptions
) -> regression.CheckReport:
    """The report with the forensics' verdict on cycle shapes and the causes of a failure.

    The forensics come from this check's own ``--explain`` pass when it was asked for;
    otherwise a memory regression reruns the configuration once with them (one run,
    not the baseline's repeats), unless ``--no-explain-on-fail``.
    """
    forensics = report.measurement.explain
    done = "forensics: this check's --explain pass"
    if forensics is None:
        if not report.memory_failures:
            return report
        if not on_fail:
            return regression.with_causes(
                report, (), "forensics skipped (--no-explain-on-fail): `agmem run --explain` "
                "shows the cycles, types and lines"
            )
        note(output, "a memory metric regressed: rerunning once with the forensics "
             "(--no-explain-on-fail skips this)")
        rerun = dataclasses.replace(report.config, explain=True, repeat=1)
        [measured] = pipeline.measure([rerun], force=force, quiet=output.quiet)
        forensics = measured.explain
        done = "forensics: the failing configuration rerun once with --explain"
    if forensics is None:
        return regression.with_causes(report, (), f"{done}: it reported nothing")
    before = regression.forensics_of(report)
    found = causes.find_causes(before, forensics)
    rows = causes.shape_rows(before, forensics, report.limits)
    if before is None:
        done += "; the baseline has none to compare with (save it with --explain)"
    return dataclasses.replace(
        regression.with_causes(report, found, done), rows=(*report.rows, *rows)
    )


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
    # A baseline saved with --explain keeps its forensics for the causes of a failure;
    # its checks run the forensics only when asked (--explain) or on a failure.
    config = _override(ctx, dataclasses.replace(config, explain=False), options)
    if typed is not None:
        return with_program(config, typed, keep_stdin)
    if given(ctx, "workload"):
        return dataclasses.replace(config, program=None, stdin=False)
    if config.program is not None:
        refuse_workload_options(ctx, config.program)
        spec = _confined(config, path)
        note(output, f"checking program {spec.command}, named by baseline {path}")
        return config
    _check_the_baselines_workload(config, path, output)
    return config


def _confined(config: RunConfig, path: str) -> ProgramSpec:
    """The baseline's program, if it lies in this tree; a missing one says where it was sought."""
    try:
        return confine_program(config, f"baseline {path}")
    except WorkloadError as exc:
        if "not found" not in exc.message:
            raise
        raise WorkloadError(
            f"baseline {path}: {exc.message}; check from the directory it was saved in "
            f"(the baseline's own folder is {os.path.dirname(os.path.abspath(path))}), or "
            "name the program after --"
        ) from None


def _check_the_baselines_workload(config: RunConfig, path: str, output: OutputOptions) -> None:
    """Refuse a workload the user did not name unless it lies in the current directory tree.

    A baseline can come from anyone (a pull request), and checking it runs its workload:
    agmem runs only code found here, and says which before it starts.
    """
    try:
        spec = workload_spec.check_workload(config.workload, confined=True)
    except WorkloadError as exc:
        hint = ""
        relative = workload_spec.parse_spec(config.workload).path
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
