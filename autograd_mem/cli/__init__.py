"""The ``agmem`` command: a click group, and ``main()``, the one place errors become exit codes."""

from __future__ import annotations

import sys

import click

from autograd_mem._version import __version__
from autograd_mem.cli.output import TYPED_ARGS
from autograd_mem.errors import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    AgmemError,
)


def _one_line_usage_error(exc: click.UsageError) -> click.exceptions.Exit:
    """Click's own usage errors (unknown option, missing argument) as agmem's one line.

    Click would print a usage block and an ``Error:`` line; every other bad input
    gets ``agmem: error: …``, and a CI log or a script should not have to tell the two
    apart. Asking for help with no arguments (``NoArgsIsHelpError``) keeps click's help.
    """
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    click.echo(f"agmem: error: {exc.format_message()}{where}", err=True)
    return click.exceptions.Exit(EXIT_USAGE)

EPILOG = """\b
Examples:
  agmem compare                          both reference modes, side by side
  agmem run --mode strong --gc off       one mode, one report
  agmem run --mode weak --format json    the result as JSON on stdout
  agmem baseline save base.json --mode weak
  agmem check --baseline base.json       fail CI when memory regresses

\b
Exit codes:
  0    success
  1    a memory regression (agmem check)
  2    bad usage or input (options, workload, baseline file)
  3    the measured run failed (workload error, crash, killed)
  130  interrupted (Ctrl-C)
"""


class AgmemGroup(click.Group):
    """The group that turns agmem's errors into their exit codes, for every subcommand.

    Doing it here rather than around ``cli.main`` means ``click.testing.CliRunner``
    and the console script see the same messages and exit codes.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: object,
    ) -> click.Context:
        typed = tuple(args)  # before click consumes them: the command as typed, for titles
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)  # type: ignore[arg-type]
        except click.UsageError as exc:
            raise _one_line_usage_error(exc) from None
        ctx.meta[TYPED_ARGS] = typed
        return ctx

    def invoke(self, ctx: click.Context) -> object:
        try:
            rv = super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line_usage_error(exc) from None
        except AgmemError as exc:
            click.echo(f"agmem: error: {exc.message}", err=True)
            if exc.detail:
                click.echo(exc.detail.rstrip("\n"), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("agmem: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        # Click's standalone mode discards a command's return value; a subcommand that
        # returns a non-zero int (``agmem check``: 1 on a regression) exits with it.
        if isinstance(rv, int) and not isinstance(rv, bool) and rv != 0:
            ctx.exit(rv)
        return rv


@click.group(
    cls=AgmemGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="agmem")
def cli() -> None:
    """Profile the memory of autodiff graphs under strong and weak references.

    Each measured run happens in a fresh interpreter while agmem samples its RSS,
    counts live Variables and Functions and times every collection of CPython's
    cyclic garbage collector.
    """


# Each command's line in `agmem --help`, whole: click would cut a docstring's first
# sentence to the width left ("Save the reference measurement that `agmem check` compares...").
SUMMARIES = {
    "run": "Measure a workload in a fresh interpreter.",
    "compare": "Compare modes, workloads or saved runs side by side.",
    "report": "Render a saved run or comparison again.",
    "check": "Fail when memory regresses against a baseline.",
    "baseline": "Save the measurement `agmem check` compares with.",
}


def _register() -> None:
    # One module per subcommand; each exposes a click command named after it.
    from autograd_mem.cli import baseline, check, compare, report, run

    for module in (run, compare, report, check, baseline):
        module.command.short_help = SUMMARIES[module.command.name]
        cli.add_command(module.command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0, 1, 2, 3 or 130; see ``agmem --help``)."""
    try:
        cli.main(args=argv, prog_name="agmem", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        click.echo(str(code), err=True)
        return EXIT_USAGE
    return 0


def entry_point() -> None:
    """The console script: ``agmem``."""
    sys.exit(main())
