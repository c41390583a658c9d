"""The options every measuring command shares: the workload's, and the output's.

``agmem run``, ``agmem compare``, ``agmem baseline save`` and ``agmem check`` take the
same workload options, so a baseline saved with some options is checked with the
very same ones. Bad values raise agmem's own ``UsageError`` rather than click's, so
they get agmem's one-line ``agmem: error: …`` and exit 2 like every other bad input,
and all of it happens while the command line is parsed: before any run starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from autograd_mem.errors import UsageError
from autograd_mem.files import check_writable
from autograd_mem.result import GC_POLICIES, REFERENCE_MODES, SAMPLERS, RunConfig
from autograd_mem.workloads import MAX_RNG_SEED

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "markdown")


def option_name(param: click.Parameter | None) -> str:
    """The option as the user typed it (``--size``), for error messages."""
    if param is None:
        return "value"
    return param.opts[0] if param.opts else str(param.name)


class IntAtLeast(click.ParamType):
    """An integer of at least ``minimum`` (and at most ``maximum``): sizes, counts, seeds."""

    name = "integer"

    def __init__(
        self, minimum: int = 1, maximum: int | None = None, kind: str | None = None
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        # How the error names what is expected; by default from the minimum.
        self.kind = kind or (
            "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
        )

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).replace("_", "").replace(",", ""), 10)
            except ValueError:
                number = self.minimum - 1
        if number < self.minimum:
            raise UsageError(f"{option_name(param)} must be {self.kind}, got {value!r}")
        if self.maximum is not None and number > self.maximum:
            raise UsageError(
                f"{option_name(param)} must be at most {self.maximum:,}, got {value!r}"
            )
        return number


class PositiveFloat(click.ParamType):
    """A finite number above 0: the sampling interval."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0.0
        if not 0 < number < math.inf:
            raise UsageError(
                f"{option_name(param)} must be a finite number above 0, got {value!r}"
            )
        return number


class OneOf(click.ParamType):
    """A choice among fixed words, refused with agmem's message rather than click's."""

    name = "choice"

    def __init__(self, choices: tuple[str, ...], what: str) -> None:
        self.choices = choices
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if text not in self.choices:
            raise UsageError(
                f"unknown {self.what} {value!r} for {option_name(param)} "
                f"(choose from {', '.join(self.choices)})"
            )
        return text


def _apply(func: F, decorators: list[Callable[[F], F]]) -> F:
    # click lists options in --help in the order they are written here.
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def mode_option(func: F) -> F:
    """``--mode strong|weak``: for commands that measure one reference mode."""
    return click.option(
        "--mode",
        type=OneOf(REFERENCE_MODES, "mode"),
        metavar="|".join(REFERENCE_MODES),
        default="weak",
        show_default=True,
        help="Reference mode of the graph: strong (Function holds its outputs) "
        "or weak (weakref.ref, the notebook's fix).",
    )(func)


def shared_workload_options(func: F) -> F:
    """Every workload option but ``--mode`` (``agmem compare`` chooses modes with ``--modes``)."""
    return _apply(func, [
        click.option("--workload", default="seed", show_default=True, metavar="NAME|SPEC",
                     help="Built-in workload (seed, mlp) or your own as package.module:function "
                     "or path/to/file.py:function, called once per iteration with its index."),
        click.option("--size", type=IntAtLeast(1), metavar="N", default=10_000, show_default=True,
                     help="Elements per array (seed) or training samples per step (mlp)."),
        click.option("--depth", type=IntAtLeast(1), metavar="N", default=3, show_default=True,
                     help="Functions chained per iteration (seed: square applied depth times)."),
        click.option("--iterations", type=IntAtLeast(1), metavar="N", default=1_000,
                     show_default=True,
                     help="Iterations of the workload in each run."),
        click.option("--backward", is_flag=True,
                     help="Call backward() on each iteration's output."),
        click.option("--no-grad", "no_grad", is_flag=True,
                     help="Build no graph: run the workload under no_grad()."),
        click.option("--gc", "gc_policy", type=OneOf(GC_POLICIES, "collector policy"),
                     metavar="|".join(GC_POLICIES), default="auto", show_default=True,
                     help="auto: CPython's collector as configured; off: gc.disable() "
                     "around the iterations."),
        click.option("--repeat", type=IntAtLeast(1), metavar="N", default=1, show_default=True,
                     help="Fresh interpreters per mode; reports show medians and min – max."),
        click.option("--sampler", type=OneOf(SAMPLERS, "sampler"),
                     metavar="|".join(SAMPLERS), default="psutil",
                     show_default=True, help="How the parent samples the child's RSS."),
        click.option("--sample-interval", "sample_interval_seconds", type=PositiveFloat(),
                     metavar="SECONDS", default=0.01, show_default=True,
                     help="Seconds between two RSS samples."),
        click.option("--tracemalloc", is_flag=True,
                     help="Also trace Python allocations (slow; numpy reports its buffers)."),
        click.option("--uss", is_flag=True, help="Also measure USS at the end (slow)."),
        click.option("--explain", is_flag=True,
                     help="Rerun with gc.DEBUG_SAVEALL and report what the collector found."),
        # numpy's legacy seeding takes 0 .. 2**32 - 1; refuse the rest before any run.
        click.option("--seed", "rng_seed", type=IntAtLeast(0, MAX_RNG_SEED), metavar="N",
                     default=0, show_default=True,
                     help="Seed of the workload's random numbers."),
        click.option("--force", is_flag=True,
                     help="Run even if the workload's floor exceeds the memory available."),
        click.option("--timeout", "timeout_seconds", type=PositiveFloat(), metavar="SECONDS",
                     default=None,
                     help="End a measured run (a fresh interpreter, with every process it "
                     "started) that takes longer; exit 3."),
    ])


def workload_options(func: F) -> F:
    """``--mode`` and every other workload option: one measured configuration."""
    return mode_option(shared_workload_options(func))


def config_from_options(options: Mapping[str, Any], *, mode: str | None = None) -> RunConfig:
    """The RunConfig the parsed workload options describe (``mode`` overrides ``--mode``).

    The values were checked while parsing; the workload itself is checked by
    ``runner.validate`` (its importability), which the caller runs before measuring.
    """
    return RunConfig(
        workload=options["workload"],
        mode=mode if mode is not None else options.get("mode", "weak"),
        size=options["size"],
        depth=options["depth"],
        iterations=options["iterations"],
        backward=options["backward"],
        no_grad=options["no_grad"],
        gc_policy=options["gc_policy"],
        repeat=options["repeat"],
        sampler=options["sampler"],
        sample_interval_seconds=options["sample_interval_seconds"],
        tracemalloc=options["tracemalloc"],
        uss=options["uss"],
        explain=options["explain"],
        rng_seed=options["rng_seed"],
        timeout_seconds=options.get("timeout_seconds"),
    )


# --- output -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputOptions:
    """Where and how a report goes: a format on stdout or to a file, and exports."""

    format: str = "table"
    output: Path | None = None
    svg: Path | None = None
    html: Path | None = None
    quiet: bool = False


def output_options(func: F) -> F:
    """``--format``, ``--output``, ``--svg``, ``--html`` and ``--quiet``."""
    return _apply(func, [
        click.option("--format", "output_format", type=OneOf(FORMATS, "format"),
                     metavar="|".join(FORMATS), default="table", show_default=True,
                     help="table for people, json for machines (stdout then carries the "
                     "JSON document and nothing else), markdown for a pull request."),
        click.option("--output", "-o", "output_path", metavar="FILE",
                     help="Write the report to FILE instead of stdout (atomically)."),
        click.option("--svg", "svg_path", metavar="FILE",
                     help="Also export the rendered table report as SVG."),
        click.option("--html", "html_path", metavar="FILE",
                     help="Also export the rendered table report as HTML."),
        click.option("--quiet", "-q", is_flag=True,
                     help="No progress bar and no messages on stderr, only errors."),
    ])


def output_from_options(options: Mapping[str, Any]) -> OutputOptions:
    """The parsed output options, every path checked writable."""
    paths: dict[str, Path | None] = {}
    for key, option in (("output_path", "--output"), ("svg_path", "--svg"),
                        ("html_path", "--html")):
        value = options.get(key)
        paths[key] = None if value is None else Path(value)
        if paths[key] is not None:
            check_writable(paths[key], option)  # type: ignore[arg-type]
    return OutputOptions(
        format=options["output_format"],
        output=paths["output_path"],
        svg=paths["svg_path"],
        html=paths["html_path"],
        quiet=options["quiet"],
    )
