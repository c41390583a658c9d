"""Delivering a rendered report: stdout or a file, in the chosen format, plus the SVG and the page.

Every file is written with ``write_atomic`` and only after the runs are over, so an
interrupted or failed run never leaves a half-written report behind. Text that goes
to a pipe or a file carries no trailing spaces (rich pads every line to its width).
"""

from __future__ import annotations

import io
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console, RenderableType

from autograd_mem.cli.options import OutputOptions
from autograd_mem.reporters import json_report, markdown, page, table
from autograd_mem.schema.files import write_atomic

# The text formats: each reporter module renders any report through one ``render``.
# The table is rendered by rich (for the terminal and the SVG/HTML exports).
TEXT_FORMATS: dict[str, Callable[[object], str]] = {
    "json": json_report.render,
    "markdown": markdown.render,
}

# Wide enough for a comparison of four modes with their ratios; exports use it too.
REPORT_WIDTH = 120
# Where the command group keeps the arguments as typed (``AgmemGroup.make_context``).
TYPED_ARGS = "agmem.typed_args"

def command_as_typed() -> str:
    """``agmem compare --workload a.py:step ...``: the command line as the user typed it.

    Shell-quoted, so it can be pasted back; the title of an SVG or HTML export.
    """
    context = click.get_current_context(silent=True)
    typed = context.meta.get(TYPED_ARGS) if context is not None else None
    return shlex.join(["agmem", *(typed or ())])


def _without_trailing_spaces(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _plain_text(renderable: RenderableType, width: int = REPORT_WIDTH) -> str:
    """The table report as plain text, for a file or a pipe: no colour codes, no padding."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False,
            soft_wrap=False).print(renderable)
    return _without_trailing_spaces(buffer.getvalue())


def _recording_console() -> Console:
    return Console(record=True, file=io.StringIO(), width=REPORT_WIDTH, force_terminal=True,
                   color_system="truecolor")


def note(output: OutputOptions, message: str) -> None:
    """A message for people: stderr, unless ``--quiet``."""
    if not output.quiet:
        click.echo(f"agmem: {message}", err=True)


def deliver(output: OutputOptions, report: object) -> None:
    """Render ``report`` in ``output.format`` to stdout or ``--output``, then the exports.

    The exports' title is the command as typed, so a picture says how to make it again.
    """
    text_format = TEXT_FORMATS.get(output.format)
    text = text_format(report) if text_format is not None else None
    if text is not None and output.format != "json":
        text = _without_trailing_spaces(text)

    if output.output is not None:
        write_atomic(output.output, text if text is not None else _plain_text(table.render(report)))
        note(output, f"wrote {output.format} report to {output.output}")
    elif text is not None:
        click.echo(text, nl=False)
    elif sys.stdout.isatty():
        Console(file=sys.stdout, soft_wrap=False).print(table.render(report))
    else:
        # A pipe: the width rich would use (COLUMNS, else 80), without its padding.
        width = Console(file=sys.stdout).width
        click.echo(_plain_text(table.render(report), width), nl=False)

    if output.svg is not None:
        write_atomic(Path(output.svg), _svg(table.render(report), command_as_typed()))
        note(output, f"wrote SVG export to {output.svg}")
    if output.html is not None:
        write_atomic(Path(output.html), page.render(report, command_as_typed()))
        note(output, f"wrote HTML page to {output.html}")


def _svg(renderable: RenderableType, title: str) -> str:
    """The rendered table report as an SVG document."""
    console = _recording_console()
    console.print(renderable)
    # Rich pads with leading no-break spaces; without xml:space="preserve" some
    # renderers (librsvg, hence rsvg-convert) drop them and right-aligned
    # figures and the chart's axis shift left.
    return console.export_svg(title=title).replace("<svg ", '<svg xml:space="preserve" ', 1)
