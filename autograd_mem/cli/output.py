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


def deliver(
    output: OutputOptions,
    *,
    table: Callable[[], RenderableType],
    markdown: Callable[[], str],
    json_text: Callable[[], str],
    title: str,
) -> None:
    """Render the report in ``output.format`` to stdout or ``--output``, then the exports."""
    check_distinct_outputs({"--output": output.output, "--svg": output.svg, "--html": output.html})
    if output.format == "json":
        text: str | None = json_text()
    elif output.format == "markdown":
        text = markdown()
    else:
        text = None

    if output.output is not None:
        write_atomic(output.output, text if text is not None else _plain_text(table()))
        note(output, f"wrote {output.format} report to {output.output}")
    elif text is not None:
        click.echo(text, nl=False)
    else:
        Console(file=sys.stdout, soft_wrap=False).print(table())

    for path, export in ((output.svg, "svg"), (output.html, "html")):
        if path is None:
            continue
        console = _recording_console()
        console.print(table())
        if export == "svg":
            # Rich pads with leading no-break spaces; without xml:space="preserve" some
            # renderers (librsvg, hence rsvg-convert) drop them and right-aligned
            # figures and the chart's axis shift left.
            document = console.export_svg(title=title).replace(
                "<svg ", '<svg xml:space="preserve" ', 1
            )
        else:
            document = console.export_html()
        write_atomic(Path(path), document)
        note(output, f"wrote {export.upper()} export to {path}")
