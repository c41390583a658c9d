"""Whole programs on agmem's command line: ``agmem run [OPTIONS] [--] script.py|-m mod [ARGS]...``.

A measuring command that takes a program reads its words as ``python`` does: agmem's
own options first, then the program, and everything after the program's first word is
the program's, options included (``agmem run -m pkg --mode x`` gives ``--mode x`` to
``pkg``). ``--`` ends agmem's options explicitly. :class:`ProgramCommand` does that split
before click parses agmem's part, so ``agmem baseline save FILE script.py --epochs 2``
works as well as ``agmem run script.py --epochs 2``.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from autograd_mem.cli.help import SectionedCommand
from autograd_mem.cli.options import config_from_options
from autograd_mem.errors import UsageError, WorkloadError
from autograd_mem.schema.config import RunConfig
from autograd_mem.targets.program import (
    ProgramSpec,
    check_program,
    parse_program_args,
    runs_nothing_warning,
)
from autograd_mem.targets.target import ProgramTarget
from autograd_mem.targets.workload_spec import find_module_origin

F = TypeVar("F", bound=Callable[..., Any])

# Where ``ProgramCommand`` notes that ``--`` was typed before the program.
DASHES_TYPED = "agmem.dashes_typed"

# The options that set a workload's run and mean nothing to a program: refused beside one.
WORKLOAD_ONLY = (
    "workload", "size", "depth", "iterations", "backward", "no_grad", "optimizer",
    "batch_size", "hidden", "bptt_length", "unchain", "rng_seed", "force",
)


class ProgramCommand(SectionedCommand):
    """A command whose trailing words are a program and its arguments, as ``python`` takes them.

    ``leading`` is the number of the command's own positional arguments before the
    program (``baseline save`` has FILE). The words from the program's first on are
    handed to click after a ``--``, so none of them is taken for one of agmem's options.
    """

    def __init__(self, *args: Any, leading: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.leading = leading

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        own, program = split_program_words(self, ctx, args, self.leading)
        # "--" typed: the words after it are the program's on purpose, hints aside.
        ctx.meta[DASHES_TYPED] = len(own) < len(args) and args[len(own)] == "--"
        return super().parse_args(ctx, [*own, "--", *program] if program else own)


def misplaced_options(command: click.Command, ctx: click.Context,
                      args: tuple[str, ...]) -> list[str]:
    """The program's arguments that are agmem options of ``command`` (``--iterations``, ``-o``)."""
    if ctx.meta.get(DASHES_TYPED):
        return []
    names = {name for param in command.get_params(ctx) if isinstance(param, click.Option)
             for name in (*param.opts, *param.secondary_opts)} - {"-h", "--help"}
    return [word for word in args if word.split("=", 1)[0] in names]


def split_program_words(
    command: click.Command, ctx: click.Context, args: list[str], leading: int
) -> tuple[list[str], list[str]]:
    """``args`` as (agmem's words, the program's words): the program starts at ``--`` (dropped),
    at a word starting with ``-m``, or at the first positional word after ``leading`` ones."""
    takes_value = {
        name
        for param in command.get_params(ctx)
        if isinstance(param, click.Option) and not param.is_flag and not param.count
        for name in (*param.opts, *param.secondary_opts)
    }
    positional = 0
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return args[:index], args[index + 1 :]
        if word.startswith("-m"):
            return args[:index], args[index:]
        if word.startswith("-") and word != "-":
            index += 2 if word in takes_value else 1  # "--size=5" is one word
            continue
        if positional >= leading:
            return args[:index], args[index:]
        positional += 1
        index += 1
    return args, []


def program_options(func: F) -> F:
    """The program's words (``[--] PROGRAM [ARGS]...``) and ``--stdin``."""
    func = click.option(
        "--stdin", "stdin", is_flag=True,
        help="Give the program agmem's stdin (by default it reads /dev/null, so a "
        "program that reads input cannot wait forever).",
    )(func)
    return click.argument(
        "program", nargs=-1, type=click.UNPROCESSED, metavar="[[--] SCRIPT.py|-m MODULE [ARGS]...]"
    )(func)


def given(ctx: click.Context, name: str) -> bool:
    """Whether the option ``name`` was typed (not a default, nor a baseline's value)."""
    return ctx.get_parameter_source(name) not in (
        None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP
    )


def program_spec(ctx: click.Context, options: dict[str, Any]) -> ProgramSpec | None:
    """The program typed on the command line, checked; None when none was. Pops its options.

    Refuses, in one line, a word that looks like one of agmem's options but is none, a
    program beside ``--workload`` (or another workload-only option), and ``--stdin``
    without a program.
    """
    words: tuple[str, ...] = options.pop("program", ())
    keep_stdin: bool = options.pop("stdin", False)
    if not words:
        if keep_stdin:
            raise UsageError("--stdin gives a program agmem's stdin, and no program was given")
        return None
    if words[0].startswith("--") and words[0] != "--":
        raise UsageError(f"no such option: {words[0]} (a program's own options go after it)")
    refuse_workload_options(ctx, words)
    spec = check_program(parse_program_args(words))
    warn_if_it_runs_nothing(spec, bool(options.get("quiet")))
    misplaced = misplaced_options(ctx.command, ctx, spec.args)
    if misplaced and not options.get("quiet"):
        click.echo(
            f"agmem: note: {', '.join(misplaced)} after {spec.name} went to the program, not to "
            f"agmem: agmem's options go before the script (or write -- before the script "
            "to keep this as it is)", err=True)
    return spec


def warn_if_it_runs_nothing(spec: ProgramSpec, quiet: bool) -> None:
    """A warning for a script that defines a workload function and calls none of its code."""
    warning = runs_nothing_warning(spec)
    if warning is not None and not quiet:
        click.echo(f"agmem: warning: {warning}", err=True)


def refuse_workload_options(ctx: click.Context, words: tuple[str, ...], skip: str = "") -> None:
    """Refuse a workload-only option typed beside a program (but ``skip``): it would be ignored."""
    for name in WORKLOAD_ONLY:
        if name != skip and given(ctx, name):
            flag = next(p.opts[0] for p in ctx.command.params if p.name == name)
            raise UsageError(
                f"{flag} sets a workload's run; the program {shlex.join(words[:2])} runs as "
                "it is: leave out one or the other"
            )


def with_program(config: RunConfig, spec: ProgramSpec | None, keep_stdin: bool) -> RunConfig:
    """``config`` measuring ``spec`` (unchanged when ``spec`` is None)."""
    if spec is None:
        return config
    return dataclasses.replace(config, program=spec.words, stdin=keep_stdin)


def config_with_program(ctx: click.Context, options: dict[str, Any]) -> RunConfig:
    """The RunConfig of a command's workload options, measuring the program typed, if any."""
    keep_stdin = bool(options.get("stdin"))
    spec = program_spec(ctx, options)
    return with_program(config_from_options(options), spec, keep_stdin)


def confine_program(config: RunConfig, where: str) -> ProgramSpec:
    """Refuse a program a file names (``where``) unless it lies in the current directory tree.

    A baseline can come from anyone (a pull request): checking it runs its program, so
    agmem runs only code found here unless the program is named on the command line.
    """
    spec = check_program(ProgramTarget(config).spec)
    root = Path.cwd().resolve()
    if spec.script is not None:
        source: Path | None = Path(spec.script)
    else:
        assert spec.module is not None
        origin = find_module_origin(f"{spec.module}.__main__", [os.getcwd(), *sys.path])
        origin = origin or find_module_origin(spec.module, [os.getcwd(), *sys.path])
        source = Path(origin) if origin and os.path.isabs(origin) else None
    if source is not None and source.resolve().is_relative_to(root):
        return spec
    raise WorkloadError(
        f"{where} names the program {spec.command!r}, which lies outside the current "
        f"directory {root}: agmem runs only code found there unless you name the program "
        "on the command line"
    )


def echo_to_stderr(text: str) -> None:
    """A program's output, as it comes, on agmem's stderr (stdout carries the report)."""
    stream = sys.stderr
    if stream is not None:
        stream.write(text)
        stream.flush()


def program_echo(quiet: bool) -> Callable[[str], None] | None:
    """Where a program's output is shown: agmem's stderr, unless ``--quiet``."""
    return None if quiet else echo_to_stderr
