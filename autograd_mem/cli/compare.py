"""``agmem compare``: variants side by side (modes, workloads, saved runs), with a verdict.

A *variant* is a label and where its measurement comes from: a configuration measured
now (a mode of a workload, another workload) or a run saved earlier as JSON. The
positional VARIANT arguments are classified one by one (:func:`variant_kind`), each kind
has one function turning it into variants, and the rest of the command does not care
which kind it was. Whole programs plug in at :func:`program_variant`.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from autograd_mem.analysis.compare import compare
from autograd_mem.cli import pipeline
from autograd_mem.cli.help import SectionedCommand
from autograd_mem.cli.options import (
    config_from_options,
    option_name,
    output_from_options,
    output_options,
    variant_workload_options,
)
from autograd_mem.cli.output import deliver
from autograd_mem.cli.report import read_result
from autograd_mem.errors import ExitCode, UsageError, exit_code_epilog
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.rules import rule_of
from autograd_mem.schema.run import Measurement
from autograd_mem.targets.program import (
    ArgumentKind,
    check_program,
    classify_argument,
    parse_program,
)
from autograd_mem.targets.target import target_of

# The words --modes accepts: those of the --mode and --gc options, from the schema.
REFERENCE_MODES = rule_of(RunConfig, "mode").choices  # type: ignore[union-attr]
GC_POLICIES = rule_of(RunConfig, "gc_policy").choices  # type: ignore[union-attr]
DEFAULT_MODES = "strong,weak"

EPILOG = """\b
Examples:
  agmem compare                                  strong vs weak, the notebook's point
  agmem compare --modes strong,weak,strong/off,weak/off
  agmem compare --workload a.py:step --workload b.py:step
  agmem compare before.json after.json           two saved runs, nothing measured
  agmem compare before.json --workload step.py:step
  agmem compare --repeat 5 --format markdown -o compare.md
  agmem compare --svg compare.svg                the report as a picture
  agmem compare before.py after.py               two scripts, each run unchanged
  agmem compare "train.py --fix" "train.py"      a program with its own arguments
  agmem compare -- "-m pkg.a" "-m pkg.b"         modules (after --: "-m" is no option)

\b
Variants: each VARIANT is a saved run (file.json, from `agmem run --format json
-o file.json`), a workload (seed, mlp, file.py:function, package.module:function)
or a whole program with its arguments, in one quoted argument ("train.py --fix",
"-m pkg.train --epochs 1"); each --workload is one more, after the VARIANTs. A
VARIANT is split into words as a shell would: a file name with a space needs inner
quotes, "'my run.json'". A program's output is kept, and shown only if it fails.
With one workload or none, its reference modes are compared (--modes). With two
or more variants, each is measured in weak mode, or in each of --modes if given
(every variant in every mode); a saved run is shown as it was measured.

\b
The first variant is the reference: ratios read "reference ÷ variant", so with the
defaults a "strong ÷ weak" of 50x means the strong graph costs 50 times as much.

""" + exit_code_epilog(
    (ExitCode.OK, ExitCode.USAGE, ExitCode.RUN_FAILED, ExitCode.INTERRUPTED)
)

Modes = tuple[tuple[str, "str | None"], ...]


class ModesType(click.ParamType):
    """``strong,weak,strong/off``: reference modes, each optionally with a collector policy."""

    name = "modes"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Modes:
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
        return tuple(modes)


@dataclass(frozen=True)
class Variant:
    """One column of a comparison: its label, and its measurement's source (exactly one).

    ``config`` is measured now (a workload, or a whole program); ``saved`` was measured
    earlier and is shown as it was.
    """

    label: str
    config: RunConfig | None = None
    saved: Measurement | None = None


@dataclass(frozen=True)
class Source:
    """A variant as typed, before labels: its kind, its text, and what it becomes."""

    kind: ArgumentKind
    text: str
    name: str  # the readable name a label starts from
    config: RunConfig | None = None
    saved: Measurement | None = None


def program_variant(text: str, base: RunConfig) -> Source:
    """A whole program as a variant (``"train.py --fix"``), split as a shell would split it.

    The program is parsed and checked here (a missing script is refused before anything
    runs) and measured with the shared options (``--repeat``, ``--gc``, ``--explain``...).
    Its output stays in its log, shown only if it fails: two programs' output
    interleaved with the progress bar would help nobody.
    """
    spec = check_program(parse_program(text))
    config = dataclasses.replace(base, program=spec.words)
    return Source(ArgumentKind.PROGRAM, text, spec.command, config=config)


def _source(text: str, base: RunConfig) -> Source:
    """What one VARIANT names, classified as ``agmem run``'s argument is (``classify_argument``)."""
    kind = classify_argument(text)
    if kind is ArgumentKind.PROGRAM:
        return program_variant(text, base)
    # One word, shell-quoted as a program's would be: "'my run.json'" is one file.
    [word] = shlex.split(text)
    if kind is ArgumentKind.WORKLOAD:
        return Source(kind, word, word, config=dataclasses.replace(base, workload=word))
    result = read_result(word)
    if not isinstance(result, Measurement):
        raise UsageError(
            f"{word} is a saved comparison, not a run: render it with "
            f"`agmem report {shlex.quote(word)}`"
        )
    return Source(kind, word, word, saved=result)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Each name shortened to its last path part, lengthened only where two would be equal.

    ``runs/a/step.py:step`` and ``runs/b/step.py:step`` read ``a/step.py:step`` and
    ``b/step.py:step``; ``seed`` and ``pkg.mod:step`` stay as they are.
    """
    parts = [name.split("/") for name in names]
    depth = [1] * len(names)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clashes = {label for label in labels if labels.count(label) > 1}
        grown = False
        for i, label in enumerate(labels):
            if label in clashes and depth[i] < len(parts[i]):
                depth[i] += 1
                grown = True
        if not grown:
            return labels


def build_variants(sources: Sequence[Source], modes: Modes | None) -> list[Variant]:
    """Labelled variants: each source once (its own mode), or in each of ``modes``."""
    texts = [
        s.text if s.kind is ArgumentKind.PROGRAM else os.path.normpath(s.text) for s in sources
    ]
    twice = sorted({t for t in texts if texts.count(t) > 1})
    if twice:
        raise UsageError(f"variant {twice[0]} is given more than once")
    names = unique_labels([s.name for s in sources])
    if modes is None:
        return [Variant(n, s.config, s.saved) for n, s in zip(names, sources, strict=True)]
    saved = [s.text for s in sources if s.saved is not None]
    if saved:
        raise UsageError(
            f"--modes measures every variant in each mode, but {saved[0]} is saved as it "
            "was measured: leave out --modes, or the saved run"
        )
    return [
        Variant(f"{name} {mode_config.label}", mode_config)
        for name, source in zip(names, sources, strict=True)
        for mode_config in _in_modes(source.config, modes)  # type: ignore[arg-type]
    ]


def _in_modes(config: RunConfig, modes: Modes) -> list[RunConfig]:
    return [
        dataclasses.replace(config, mode=mode, gc_policy=policy or config.gc_policy)
        for mode, policy in modes
    ]


def mode_variants(base: RunConfig, modes: Modes) -> list[Variant]:
    """One workload in each of ``modes``, labelled by mode: the comparison of the notebook."""
    configs = _in_modes(base, modes)
    labels = [c.label for c in configs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise UsageError(f"--modes lists {', '.join(duplicates)} more than once")
    if len(configs) < 2:
        raise UsageError(
            f"--modes needs at least two modes to compare one workload, got {labels[0]!r}"
        )
    return [Variant(c.label, c) for c in configs]


@click.command("compare", cls=SectionedCommand, epilog=EPILOG)
@click.argument("variant_texts", metavar="[VARIANT]...", nargs=-1)
@click.option("--modes", type=ModesType(), metavar="MODE[/GC],...", default=None,
              help="Modes to measure, the first being the reference; a mode without /GC "
              f"uses --gc.  [default: {DEFAULT_MODES} for one workload]")
@variant_workload_options
@output_options
def command(variant_texts: tuple[str, ...], modes: Modes | None, **options: Any) -> None:
    """Measure variants side by side: reference modes, workloads or saved runs.

    Each variant measured runs in its own fresh interpreter (--repeat times). The
    report puts the figures next to each other with their ratios against the first,
    draws every RSS timeline on one scale with the collections marked, and sums it
    up in a plain-words verdict.
    """
    workloads: tuple[str, ...] = options.pop("workload")
    base = config_from_options(options)
    texts = [*variant_texts, *workloads]
    if len(texts) < 2 and all(classify_argument(t) is ArgumentKind.WORKLOAD for t in texts):
        base = dataclasses.replace(base, workload=shlex.split(texts[0])[0]) if texts else base
        variants = mode_variants(base, modes or ModesType().convert(DEFAULT_MODES, None, None))
    else:
        sources = [_source(text, base) for text in texts]
        if len(sources) < 2:
            raise UsageError(f"one variant ({texts[0]}) is nothing to compare: give another")
        variants = build_variants(sources, modes)
    _refuse_options_nothing_uses(variants)
    output = output_from_options(options)
    for variant in variants:
        warning = None if variant.config is None else target_of(variant.config).warning()
        if warning is not None and not output.quiet:
            click.echo(f"agmem: warning: {warning}", err=True)
    deliver(output, compare(_measure(variants, options["force"], output.quiet),
                            [v.label for v in variants]))


def _refuse_options_nothing_uses(variants: Sequence[Variant]) -> None:
    """A measurement option typed when every variant is saved would be silently ignored."""
    if any(v.config is not None for v in variants):
        return
    context = click.get_current_context()
    fields = {f.name for f in dataclasses.fields(RunConfig)} | {"force", "modes"}
    for param in context.command.params:
        if param.name in fields and context.get_parameter_source(
            param.name
        ) is click.core.ParameterSource.COMMANDLINE:
            raise UsageError(
                f"{option_name(param)} applies to variants measured now, and every variant "
                "here is a saved run: leave it out"
            )


def _measure(variants: Sequence[Variant], force: bool, quiet: bool) -> list[Measurement]:
    """Each variant's measurement, in order: the saved as they are, the others measured now."""
    to_run = [v for v in variants if v.config is not None]
    measured = iter(pipeline.measure([v.config for v in to_run],  # type: ignore[misc]
                                     force=force, quiet=quiet, labels=[v.label for v in to_run]))
    return [v.saved if v.saved is not None else next(measured) for v in variants]
