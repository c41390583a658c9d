"""Delivering a rendered report: stdout or a file, in the chosen format, plus SVG/HTML exports.

Every file is written with ``write_atomic`` and only after the runs are over, so an
interrupted or failed run never leaves a half-written report behind.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console, RenderableType

from autograd_mem.cli.options import OutputOptions
from autograd_mem.files import check_distinct_outputs, write_atomic
from autograd_mem.reporters import json_report, markdown, table

# The text formats: each reporter module renders any report through one ``render``.
# The table is rendered by rich (for the terminal and the SVG/HTML exports).
TEXT_FORMATS: dict[str, Callable[[object], str]] = {
    "json": json_report.render,
    "markdown": markdown.render,
}

# Wide enough for a comparison of four modes with their ratios; exports use it too.
REPORT_WIDTH = 120


def _plain_text(renderable: RenderableType) -> str:
    """The table report as plain text, for a file: no colour codes, a fixed width."""
    buffer = io.StringIO()
    Console(file=buffer, width=REPORT_WIDTH, color_system=None, force_terminal=False,
            soft_wrap=False).print(renderable)
    return buffer.getvalue()


def _recording_console() -> Console:
    return Console(record=True, file=io.StringIO(), width=REPORT_WIDTH, force_terminal=True,
                   color_system="truecolor")


def note(output: OutputOptions, message: str) -> None:
    """A message for people: stderr, unless ``--quiet``."""
    if not output.quiet:
        click.echo(f"agmem: {message}", err=True)


def deliver(output: OutputOptions, report: object, *, title: str) -> None:
    """Render ``report`` in ``output.format`` to stdout or ``--output``, then the exports."""
    check_distinct_outputs({"--output": output.output, "--svg": output.svg, "--html": output.html})
    text_format = TEXT_FORMATS.get(output.format)
    text = text_format(report) if text_format is not None else None

    if output.output is not None:
        write_atomic(output.output, text if text is not None else _plain_text(table.render(report)))
        note(output, f"wrote {output.format} report to {output.output}")
    elif text is not None:
        click.echo(text, nl=False)
    else:
        Console(file=sys.stdout, soft_wrap=False).print(table.render(report))

    for path, export in ((output.svg, "svg"), (output.html, "html")):
        if path is not None:
            write_atomic(Path(path), _export(table.render(report), export, title))
            note(output, f"wrote {export.upper()} export to {path}")


def _export(renderable: RenderableType, export: str, title: str) -> str:
    """The rendered table report as an SVG or HTML document."""
    console = _recording_console()
    console.print(renderable)
    if export == "html":
        return console.export_html()
    # Rich pads with leading no-break spaces; without xml:space="preserve" some
    # renderers (librsvg, hence rsvg-convert) drop them and right-aligned
    # figures and the chart's axis shift left.
    return console.export_svg(title=title).replace("<svg ", '<svg xml:space="preserve" ', 1)
