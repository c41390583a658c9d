"""The ``agmem`` command: a click group, and ``main()``, the one place errors become exit codes."""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from autograd_mem._version import __version__
from autograd_mem.cli.output import TYPED_ARGS
from autograd_mem.errors import AgmemError, ExitCode, StopSignal, exit_code_epilog

# SIGTERM (timeout, a CI cancel, docker stop) and SIGHUP (the terminal closed) end agmem
# as Ctrl-C does: the children stopped, the scratch and temporary files removed.
_STOP_SIGNALS = {
    signal.SIGTERM: (ExitCode.TERMINATED, "terminated"),
    signal.SIGHUP: (ExitCode.HUNG_UP, "hung up"),
}
_HANDLED_SIGNALS = (signal.SIGINT, *_STOP_SIGNALS)


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
    return click.exceptions.Exit(ExitCode.USAGE)



def _stopping(signum: int, frame: object) -> None:
    """The handler of SIGINT, SIGTERM and SIGHUP while agmem runs: unwind, once.

    Every later signal is ignored, so that a second Ctrl-C cannot interrupt the
    cleanup the first one started (killing the children, clearing the progress line,
    removing temporary files) and leave a traceback or a glued line behind.
    """
    for other in _HANDLED_SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    code, message = _STOP_SIGNALS[signal.Signals(signum)]
    raise StopSignal(signum, code, message)


@contextmanager
def _signals_stop_agmem() -> Iterator[None]:
    """Install :func:`_stopping` for the command's duration (the main thread only can)."""
    try:
        previous = {signum: signal.signal(signum, _stopping) for signum in _HANDLED_SIGNALS}
    except ValueError:  # not the main thread: leave the signals as they are
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _say(message: str) -> None:
    """One line on stderr, starting on a fresh line even if a progress bar was drawn there."""
    start = "\r\x1b[K" if sys.stderr.isatty() else ""
    click.echo(f"{start}agmem: {message}", err=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit cannot fail again.

    As the Python documentation advises for SIGPIPE: a reader that went away (``| head``)
    must not turn into a traceback at exit.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        sys.stdout = None  # type: ignore[assignment]


def _stdout_is_devnull() -> bool:
    try:
        here, null = os.fstat(sys.stdout.fileno()), os.stat(os.devnull)
    except (OSError, ValueError, AttributeError):
        return False
    return (here.st_rdev, here.st_ino) == (null.st_rdev, null.st_ino)


def _stdout_failure(exc: OSError) -> int:
    """The exit code of a failed write to stdout: 0 for a closed pipe, 2 otherwise."""
    _silence_stdout()
    if exc.errno == errno.EPIPE:
        return ExitCode.OK
    _say(f"error: cannot write the report to stdout: {exc.strerror or exc}")
    return ExitCode.USAGE


EPILOG = """\b
Examples:
  agmem run train.py --epochs 2          a script, unchanged, with its arguments
  agmem run --explain train.py           ... and the cycles the collector freed
  agmem run --html run.html train.py     ... and a page to explore in a browser
  agmem compare before.py after.py       two programs side by side
  agmem compare                          the built-in graph in both reference modes
  agmem run --workload my.py:step        a function of yours, once per iteration
  agmem baseline save base.json train.py
  agmem check --baseline base.json       fail CI when memory regresses

""" + exit_code_epilog()


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

    def list_commands(self, ctx: click.Context) -> list[str]:
        # In the order people need them (``run`` first), not alphabetical.
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> object:
        try:
            rv = super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line_usage_error(exc) from None
        except AgmemError as exc:
            _say(f"error: {exc.message}")
            if exc.detail:
                click.echo(exc.detail.rstrip("\n"), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            _say("interrupted")
            ctx.exit(ExitCode.INTERRUPTED)
        except StopSignal as exc:
            _say(exc.message)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            # Files agmem writes report their own errors (OutputError); a bare OSError
            # without a file name here is a write to stdout that failed. Click would turn
            # a closed pipe into exit 1 and anything else into a traceback.
            if exc.filename is not None:
                raise
            ctx.exit(_stdout_failure(exc))
        except SystemExit as exc:
            # rich's Console meets a closed pipe by pointing stdout at /dev/null and
            # raising SystemExit(1); for agmem a reader that went away is not a failure.
            if exc.code == 1 and _stdout_is_devnull():
                ctx.exit(ExitCode.OK)
            raise
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
    """Profile the memory of autodiff graphs, and of any Python code held by reference cycles.

    \b
    Start here:  agmem run script.py [ARGS]...

    Each measured run (a workload, a script or a module) happens in a fresh
    interpreter while agmem samples its RSS, counts live engine objects, times
    every collection of CPython's cyclic garbage collector and, with --explain,
    names the cycles it freed and the lines that made them.
    """


# Each command's line in `agmem --help`, whole: click would cut a docstring's first
# sentence to the width left ("Save the reference measurement that `agmem check` compares...").
SUMMARIES = {
    "run": "Measure a workload, a script or a module in a fresh interpreter.",
    "compare": "Compare modes, workloads, programs or saved runs side by side.",
    "report": "Render a saved run or comparison again.",
    "check": "Fail when memory regresses against a baseline.",
    "baseline": "Save the measurement `agmem check` compares with.",
    "graph": "Draw the graph a strong-mode cycle keeps alive.",
}


def _register() -> None:
    # One module per subcommand; each exposes a click command named after it.
    from autograd_mem.cli import baseline, check, compare, graph, report, run

    for module in (run, compare, report, check, baseline, graph):
        module.command.short_help = SUMMARIES[module.command.name]
        cli.add_command(module.command)


_register()


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="agmem", standalone_mode=True)
    except SystemExit as exc:
        code: Any = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        click.echo(str(code), err=True)
        return ExitCode.USAGE
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0, 1, 2, 3, 129, 130 or 143; see ``agmem --help``)."""
    with _signals_stop_agmem():
        try:
            code = _run(argv)
            # What is still buffered goes out now, while a failure can still be reported.
            if sys.stdout is not None:
                sys.stdout.flush()
        except OSError as exc:
            if exc.filename is not None:
                raise
            return _stdout_failure(exc)
        except KeyboardInterrupt:  # arrived outside a command (while parsing, say)
            _say("interrupted")
            return ExitCode.INTERRUPTED
        except StopSignal as exc:
            _say(exc.message)
            return exc.exit_code
    return code


def entry_point() -> None:
    """The console script: ``agmem``."""
    sys.exit(main())
