"""``agmem report``: render a saved run or comparison again, in any format, running nothing."""

from __future__ import annotations

from typing import Any

import click

from autograd_mem.analysis.compare import Comparison, from_record
from autograd_mem.cli.help import SectionedCommand
from autograd_mem.cli.options import output_from_options, render_output_options
from autograd_mem.cli.output import deliver
from autograd_mem.errors import ExitCode, exit_code_epilog
from autograd_mem.schema import saved
from autograd_mem.schema.comparison import ComparisonRecord
from autograd_mem.schema.run import Measurement

EPILOG = """\b
Examples:
  agmem run --format json -o run.json          save a run ...
  agmem report run.json                        ... and read it again as a table
  agmem report run.json --svg run.svg          ... or as a picture
  agmem compare --format json -o cmp.json
  agmem report cmp.json --format markdown -o cmp.md

""" + exit_code_epilog(
    (ExitCode.OK, ExitCode.USAGE)
)


def read_result(path: str) -> Measurement | Comparison:
    """A saved run or comparison, read by the schema's one reader of saved files; a
    comparison's ratios and verdict are computed again from its runs.

    Used by ``agmem report`` and by ``agmem compare a.json b.json``.
    """
    document = saved.read_result(path)
    return from_record(document) if isinstance(document, ComparisonRecord) else document


@click.command("report", cls=SectionedCommand, epilog=EPILOG)
@click.argument("result_path", metavar="RESULT.json")
@render_output_options
def command(result_path: str, **options: Any) -> None:
    """Render a saved run or comparison again, without running anything.

    RESULT.json is a document `agmem run` or `agmem compare` wrote with --format json.
    It is read through the same schema as it was written with: a document of another
    kind, of an unknown schema_version, or whose figures do not add up is refused.
    The comparison's ratios and verdict are computed again from its runs.
    """
    output = output_from_options(options)
    deliver(output, read_result(result_path))
