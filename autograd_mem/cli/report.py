"""``agmem report``: render a saved run or comparison again, in any format, running nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from autograd_mem.analysis.compare import Comparison, comparison_from_dict
from autograd_mem.cli.help import SectionedCommand
from autograd_mem.cli.options import output_from_options, render_output_options
from autograd_mem.cli.output import deliver
from autograd_mem.errors import ExitCode, ResultFormatError, exit_code_epilog
from autograd_mem.schema.baseline import JsonFile, read_json
from autograd_mem.schema.run import Measurement, measurement_from_dict

# A run document holds bounded series (at most 4,096 points each) per run; a comparison
# of a few variants repeated a few times stays within a few tens of MiB. Reading at most
# this much bounds what a hostile file can make agmem parse.
MAX_RESULT_BYTES = 64 * 1024**2

RESULT_FILE = JsonFile(
    "result", MAX_RESULT_BYTES, ResultFormatError,
    "a saved run or comparison is at most a few tens of MiB",
    "save one with `agmem run --format json -o {name}`",
)

# The documents agmem can render again, by their ``kind``; each reader checks its schema.
READERS: Mapping[str, Callable[[Any, str], Measurement | Comparison]] = {
    "run": measurement_from_dict,
    "comparison": comparison_from_dict,
}

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
    """A saved run or comparison, read through the schema's codecs; anything else is one line.

    Used by ``agmem report`` and by ``agmem compare a.json b.json``.
    """
    data = read_json(path, RESULT_FILE)
    kind = data.get("kind") if isinstance(data, Mapping) else None
    reader = READERS.get(kind) if isinstance(kind, str) else None
    if reader is None:
        shown = f"a {kind!r} document" if isinstance(kind, str) else "not an agmem result"
        raise ResultFormatError(
            f"result {path}: {shown}; agmem report reads a saved run or comparison "
            "(written by `agmem run` or `agmem compare` with --format json)"
        )
    return reader(data, f"result {path}")


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
