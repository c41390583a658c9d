"""``agmem run``: measure one reference mode of a workload, or a whole program, and report it."""

from __future__ import annotations

from typing import Any

import click

from autograd_mem.cli import pipeline
from autograd_mem.cli.options import output_from_options, output_options, workload_options
from autograd_mem.cli.output import deliver
from autograd_mem.cli.programs import (
    ProgramCommand,
    config_with_program,
    program_echo,
    program_options,
)
from autograd_mem.errors import ExitCode, ProgramExitError, exit_code_epilog

# agmem run passes a program's own status on, as time(1) and timeout(1) do: not one of
# agmem's codes (ExitCode), but the program's.
PROGRAM_STATUS = """\b
  n    a program's own exit status, its report still shown: n for sys.exit(n) or
       os._exit(n), 1 for an uncaught exception, 128+N if killed by signal N
"""

EPILOG = """\b
Examples:
  agmem run --mode strong                      the notebook's graph, collector on
  agmem run --mode strong --gc off --explain   what the collector would have freed
  agmem run --workload mlp --repeat 5          a training loop, median of 5 runs
  agmem run --workload my_pkg.train:step --mode weak --format json -o run.json
  agmem run train.py --epochs 2                a script, unchanged, with its arguments
  agmem run --explain -- train.py --epochs 2   agmem's options before --, the program's after
  agmem run -m my_pkg.train --epochs 2         a module, as python -m runs it

\b
A program runs once, unchanged, as __main__ in a fresh interpreter, in the current
directory, with its own sys.argv; its stdin is /dev/null unless --stdin. Every word
from the program's first on is the program's. Its output is shown on agmem's stderr
as it comes (stdout carries the report) and kept for the error message if it fails;
--quiet keeps it hidden. Memory includes its child processes (workers, DataLoaders).

""" + exit_code_epilog(
    (ExitCode.OK, ExitCode.USAGE, ExitCode.RUN_FAILED, ExitCode.INTERRUPTED)
) + "\n" + PROGRAM_STATUS


@click.command("run", cls=ProgramCommand, epilog=EPILOG)
@workload_options
@program_options
@output_options
@click.pass_context
def command(ctx: click.Context, **options: Any) -> None:
    """Measure one reference mode of a workload, or a whole program, in a fresh interpreter.

    Reports peak RSS, growth above the baseline and against the floor, live
    Variables and Functions, every collection per generation with its pause, the
    time per iteration (or the program's run time), and the RSS timeline with the
    collections marked.
    """
    config = config_with_program(ctx, options)
    output = output_from_options(options)
    try:
        [measurement] = pipeline.measure(
            [config], force=options["force"], quiet=output.quiet, echo=program_echo(output.quiet)
        )
    except ProgramExitError as exc:
        # What was measured is still worth seeing; agmem then exits with the program's
        # own status, as time(1) and timeout(1) pass it on.
        deliver(output, exc.measurement)
        exc.exit_code = exc.status
        raise
    deliver(output, measurement)
