"""``agmem compare``: the same workload in several reference modes, side by side, with a verdict."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from autograd_mem.cli import pipeline
from autograd_mem.cli.options import (
    config_from_options,
    output_from_options,
    output_options,
    shared_workload_options,
)
from autograd_mem.cli.output import deliver
from autograd_mem.compare import compare
from autograd_mem.errors import UsageError
from autograd_mem.result import RunConfig, rule_of

# The words --modes accepts: those of the --mode and --gc options, from the schema.
REFERENCE_MODES = rule_of(RunConfig, "mode").choices  # type: ignore[union-attr]
GC_POLICIES = rule_of(RunConfig, "gc_policy").choices  # type: ignore[union-attr]

EPILOG = """\b
Examples:
  agmem compare                                  strong vs weak, the notebook's point
  agmem compare --modes strong,weak,strong/off,weak/off
  agmem compare --repeat 5 --format markdown -o compare.md
  agmem compare --svg compare.svg                the report as a picture

\b
The first mode is the reference: ratios read "reference ÷ mode", so with the
defaults a "strong ÷ weak" of 50x means the strong graph costs 50 times as much.

\b
Exit codes:
  0    success
  2    bad usage or input, found before any run
  3    a measured run failed (workload error, crash, killed)
  130  interrupted (Ctrl-C); no output file is left half-written
"""


class ModesType(click.ParamType):
    """``strong,weak,strong/off``: reference modes, each optionally with a collector policy."""

    name = "modes"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[tuple[str, str | None], ...]:
        if isinstance(value, tuple):
            return value
        modes: list[tuple[str, str | None]] = []
        for item in str(value).split(","):
            mode, _, policy = item.strip().lower().partition("/")
            if mode not in REFERENCE_MODES:
                raise UsageError(
                    f"unknown mode {item.strip()!r} in --modes "
                    f"(choose from {', '.join(REFERENCE_MODES)}, optionally /auto or /off)"
                )
            if policy and policy not in GC_POLICIES:
                raise UsageError(
                    f"unknown collector policy {policy!r} in --modes item {item.strip()!r} "
                    f"(choose from {', '.join(GC_POLICIES)})"
                )
            modes.append((mode, policy or None))
        if len(modes) < 2:
            raise UsageError(f"--modes needs at least two modes to compare, got {value!r}")
        return tuple(modes)


@click.command("compare", epilog=EPILOG)
@click.option("--modes", type=ModesType(), metavar="MODE[/GC],...", default="strong,weak",
              show_default=True,
              help="Modes to measure, the first being the reference; a mode without /GC "
              "uses --gc.")
@shared_workload_options
@output_options
def command(modes: tuple[tuple[str, str | None], ...], **options: Any) -> None:
    """Measure the same workload in each reference mode and show them side by side.

    Each mode runs in its own fresh interpreter (--repeat times). The report puts
    the figures next to each other with their ratios, draws every RSS timeline on
    one scale with the collections marked, and sums it up in a one-line verdict.
    """
    base = config_from_options(options)
    configs = [
        dataclasses.replace(base, mode=mode, gc_policy=policy or base.gc_policy)
        for mode, policy in modes
    ]
    labels = [c.label for c in configs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise UsageError(f"--modes lists {', '.join(duplicates)} more than once")
    output = output_from_options(options)
    measurements = pipeline.measure(configs, force=options["force"], quiet=output.quiet)
    deliver(output, compare(measurements), title="agmem compare --modes " + ",".join(labels))
