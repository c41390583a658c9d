"""The options every measuring command shares: the workload's, and the output's.

``agmem run``, ``agmem compare``, ``agmem baseline save`` and ``agmem check`` take the
same workload options, so a baseline saved with some options is checked with the
very same ones. Each option's type is built from its field's rule in the schema
(``config.RunConfig``), so the command line refuses exactly what a baseline or the
Python API would, with the same one-line message. The types are agmem's own rather
than click's ``IntRange`` or ``Choice`` because they keep that message (which names the
option and the value as typed) and read ``10,000`` and ``10_000`` as numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from autograd_mem.errors import UsageError
from autograd_mem.schema import rules
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.files import check_distinct_outputs, check_writable
from autograd_mem.schema.rules import MAX_FIGURE, rule_of
from autograd_mem.targets import workloads

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "markdown")


def option_name(param: click.Parameter | None) -> str:
    """The option as the user typed it (``--size``), for error messages."""
    if param is None:
        return "value"
    return param.opts[0] if param.opts else str(param.name)


class RuleType(click.ParamType):
    """An option checked by a schema rule: the text is read as the rule's kind of value."""

    name = "value"

    def __init__(self, rule: rules.Rule) -> None:
        self.rule = rule

    def read(self, value: Any) -> Any:
        """The typed text as the value the rule judges; what cannot be read stays as typed."""
        return value

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        parsed = self.read(value)
        problem = self.rule.problem(option_name(param), parsed, repr(value))
        if problem:
            raise UsageError(problem)
        return parsed


class IntAtLeast(RuleType):
    """An integer of at least ``minimum`` (and at most ``maximum``): sizes, counts, seeds."""

    name = "integer"

    def __init__(self, minimum: int = 1, maximum: int = MAX_FIGURE, kind: str = "") -> None:
        super().__init__(rules.Integer(minimum, maximum, kind))

    @classmethod
    def of(cls, rule: rules.Integer) -> IntAtLeast:
        return cls(rule.minimum, rule.maximum, rule.kind)

    def read(self, value: Any) -> Any:
        if isinstance(value, int):
            return value
        try:
            return int(str(value).replace("_", "").replace(",", ""), 10)
        except ValueError:
            return value


class FiniteFloat(RuleType):
    """A finite number: the sampling interval."""

    name = "seconds"

    def read(self, value: Any) -> Any:
        try:
            return float(value)
        except (TypeError, ValueError):
            return value


class OneOf(RuleType):
    """A choice among fixed words, case and spaces aside."""

    name = "choice"

    def __init__(self, choices: tuple[str, ...], what: str) -> None:
        super().__init__(rules.OneOf(choices, what))
        self.choices = choices

    @classmethod
    def of(cls, rule: rules.OneOf) -> OneOf:
        return cls(rule.choices, rule.what)

    def read(self, value: Any) -> Any:
        return str(value).strip().lower()


def field_type(name: str) -> RuleType:
    """The option type of a RunConfig field, from the field's rule in the schema."""
    rule = rule_of(RunConfig, name)
    if isinstance(rule, rules.Integer):
        return IntAtLeast.of(rule)
    if isinstance(rule, rules.OneOf):
        return OneOf.of(rule)
    if isinstance(rule, rules.Number):
        return FiniteFloat(rule)
    return RuleType(rule)


def _apply(func: F, decorators: list[Callable[[F], F]]) -> F:
    # click lists options in --help in the order they are written here.
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def field_option(*flags: str, name: str, help: str, metavar: str = "N",
                 multiple: bool = False) -> Callable[[F], F]:
    """An option filling RunConfig's field ``name``: its type, and its default, from the schema.

    ``multiple``: the option may be repeated (``agmem compare --workload a --workload b``),
    each value one variant; given none, the command uses the field's default.
    """
    rule = rule_of(RunConfig, name)
    if isinstance(rule, rules.OneOf):
        metavar = "|".join(rule.choices)
    default = {f.name: f.default for f in dataclasses.fields(RunConfig)}[name]
    return click.option(*flags, name, type=field_type(name), metavar=metavar,
                        default=() if multiple else default, show_default=not multiple,
                        multiple=multiple, help=help)


_WORKLOAD_HELP = (f"Built-in workload ({', '.join(workloads.names())}) or your own as "
                  "package.module:function or path/to/file.py:function, called once per "
                  "iteration with its index.")


def mode_option(func: F) -> F:
    """``--mode strong|weak``: for commands that measure one reference mode."""
    return field_option(
        "--mode", name="mode",
        help="Reference mode of the graph: strong (Function holds its outputs) "
        "or weak (weakref.ref, the notebook's fix).",
    )(func)


def shared_workload_options(func: F) -> F:
    """Every workload option but ``--mode``."""
    return _workload_options(func, field_option("--workload", name="workload",
                                                metavar="NAME|SPEC", help=_WORKLOAD_HELP))


def variant_workload_options(func: F) -> F:
    """``shared_workload_options`` with ``--workload`` repeatable: ``agmem compare``'s variants."""
    return _workload_options(func, field_option(
        "--workload", name="workload", metavar="NAME|SPEC", multiple=True,
        help=_WORKLOAD_HELP + " Repeat it to compare workloads (default: seed).",
    ))


def _workload_options(func: F, workload: Callable[[F], F]) -> F:
    return _apply(func, [
        workload,
        field_option("--size", name="size",
                     help="Elements per array (seed) or training samples per step (mlp)."),
        field_option("--depth", name="depth",
                     help="Functions chained per iteration (seed: square applied depth times)."),
        field_option("--iterations", name="iterations",
                     help="Iterations of the workload in each run."),
        click.option("--backward", is_flag=True,
                     help="Call backward() on each iteration's output."),
        click.option("--no-grad", "no_grad", is_flag=True,
                     help="Build no graph: run the workload under no_grad()."),
        field_option("--gc", name="gc_policy",
                     help="auto: CPython's collector as configured; off: gc.disable() "
                     "around the iterations."),
        field_option("--repeat", name="repeat",
                     help="Fresh interpreters per mode; reports show medians and min – max."),
        field_option("--sampler", name="sampler", help="How the parent samples the child's RSS."),
        field_option("--sample-interval", name="sample_interval_seconds", metavar="SECONDS",
                     help="Seconds between two RSS samples."),
        click.option("--tracemalloc", is_flag=True,
                     help="Also trace Python allocations (slow; numpy reports its buffers)."),
        click.option("--uss", is_flag=True, help="Also measure USS at the end (slow)."),
        click.option("--explain", is_flag=True,
                     help="Rerun with gc.DEBUG_SAVEALL and report what the collector found."),
        field_option("--optimizer", name="optimizer",
                     help="Optimizer of the training workloads (train, cnn)."),
        field_option("--batch-size", name="batch_size",
                     help="Minibatch of the training workloads (train, cnn)."),
        field_option("--hidden", name="hidden",
                     help="Hidden width (train, rnn) or convolution filters (cnn)."),
        field_option("--bptt-length", name="bptt_length",
                     help="Steps of the rnn workload between two truncations of backprop."),
        click.option("--unchain/--no-unchain", "unchain", default=True, show_default=True,
                     help="rnn: cut the graph with unchain_backward() at each truncation, "
                     "or leave it to the hidden state until the sequence ends."),
        field_option("--seed", name="rng_seed", help="Seed of the workload's random numbers."),
        click.option("--force", is_flag=True,
                     help="Run even if the workload's floor exceeds the memory available."),
        click.option("--timeout", "timeout_seconds", metavar="SECONDS", default=None,
                     type=FiniteFloat(rule_of(RunConfig, "timeout_seconds")),
                     help="End a measured run (a fresh interpreter, with every process it "
                     "started) that takes longer; exit 3."),
    ])


def workload_options(func: F) -> F:
    """``--mode`` and every other workload option: one measured configuration."""
    return mode_option(shared_workload_options(func))


def config_from_options(options: Mapping[str, Any], *, mode: str | None = None) -> RunConfig:
    """The RunConfig the parsed workload options describe (``mode`` overrides ``--mode``).

    Every option whose name is a RunConfig field fills that field; the config checks
    itself as it is built. Whether the workload can be found is ``runner.validate``'s.
    """
    names = {f.name for f in dataclasses.fields(RunConfig)}
    values = {name: value for name, value in options.items() if name in names}
    if mode is not None:
        values["mode"] = mode
    return RunConfig(**values)


# --- output -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputOptions:
    """Where and how a report goes: a format on stdout or to a file, and exports."""

    format: str = "table"
    output: Path | None = None
    svg: Path | None = None
    html: Path | None = None
    quiet: bool = False


def _output_options(func: F, quiet_help: str) -> F:
    return _apply(func, [
        click.option("--format", "output_format", type=OneOf(FORMATS, "format"),
                     metavar="|".join(FORMATS), default="table", show_default=True,
                     help="table for people, json for machines (stdout then carries the "
                     "JSON document and nothing else), markdown for a pull request."),
        click.option("--output", "-o", "output_path", metavar="FILE",
                     help="Write the report to FILE instead of stdout (atomically); its "
                     "extension must agree with --format (.json, .md, .txt)."),
        click.option("--svg", "svg_path", metavar="FILE.svg",
                     help="Also export the rendered table report as an SVG picture."),
        click.option("--html", "html_path", metavar="FILE.html",
                     help="Also write an interactive page: charts to hover and zoom, every "
                     "collection, the explain panel; one self-contained file."),
        click.option("--quiet", "-q", is_flag=True, help=quiet_help),
    ])


def output_options(func: F) -> F:
    """``--format``, ``--output``, ``--svg``, ``--html`` and ``--quiet``: a measuring command's."""
    return _output_options(func, "No progress bar and no messages on stderr, only errors.")


def render_output_options(func: F) -> F:
    """The output options of a command that measures nothing (``agmem report``): no progress."""
    return _output_options(func, "No messages on stderr, only errors.")


# What a file's extension says it holds; an extension not listed says nothing.
EXTENSION_FORMATS = {
    ".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "table",
    ".svg": "svg", ".html": "html", ".htm": "html",
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".pdf": "PDF", ".csv": "CSV",
}


def _format_typed() -> bool:
    context = click.get_current_context(silent=True)
    return context is not None and context.get_parameter_source("output_format") not in (
        None, click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP)


def _agreed_format(output_format: str, output: Path | None) -> str:
    """The report's format: ``--format``'s, or the one ``-o``'s extension names when none was typed.

    ``-o run.json`` writes JSON; ``-o run.json --format table`` is refused, never a table
    in a file that says JSON.
    """
    said = EXTENSION_FORMATS.get(output.suffix.lower()) if output is not None else None
    if said is None or said == output_format:
        return output_format
    if said in FORMATS and not _format_typed():
        return said
    raise UsageError(
        f"--output {output} names a {said} file, but the report's format is {output_format}: "
        f"use --format {said if said in FORMATS else output_format} or another extension"
    )


def _check_export(path: Path | None, option: str, export: str) -> None:
    said = EXTENSION_FORMATS.get(path.suffix.lower()) if path is not None else None
    if said is not None and said != export:
        raise UsageError(
            f"{option} writes {export.upper()}, but {path} names a {said} file: "
            f"name it {path.with_suffix('.' + export)}"
        )


def output_from_options(options: Mapping[str, Any]) -> OutputOptions:
    """The parsed output options, every path checked writable and its extension agreeing."""
    paths: dict[str, Path | None] = {}
    for key, option in (("output_path", "--output"), ("svg_path", "--svg"),
                        ("html_path", "--html")):
        value = options.get(key)
        paths[key] = None if value is None else Path(value)
        if paths[key] is not None:
            check_writable(paths[key], option)  # type: ignore[arg-type]
    check_distinct_outputs({"--output": paths["output_path"], "--svg": paths["svg_path"],
                            "--html": paths["html_path"]})
    _check_export(paths["svg_path"], "--svg", "svg")
    _check_export(paths["html_path"], "--html", "html")
    return OutputOptions(
        format=_agreed_format(options["output_format"], paths["output_path"]),
        output=paths["output_path"],
        svg=paths["svg_path"],
        html=paths["html_path"],
        quiet=options["quiet"],
    )
