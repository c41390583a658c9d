"""The explain section, rendered: cycle shapes by bytes held, where, what was waiting, what grew.

Render only: every figure comes from an :class:`~autograd_mem.schema.explain.ExplainReport`.
The same sentences serve the terminal (:func:`renderable`, a rich Group) and Markdown
(:func:`markdown`), and :func:`describe_shape` gives the one line a failure message
needs. Whatever is not listed is still counted: a remainder line says how many
objects in how many shapes were left out, so the figures always add up to what the
collector found. A sentence saying there was no cycle appears only when the collector
found nothing at all, in the window or in the collection after it. Bytes held are the
most held at once (``bytes_held_at_most``), beside the total freed; paths are shortened
from the left, so a file's name and line survive at any width.
"""

from __future__ import annotations

import os

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from autograd_mem.schema.explain import CycleShape, ExplainReport, PathStep, SourceLine, TopLine
from autograd_mem.schema.units import format_bytes, format_count

# Shapes and growing types listed; the rest are summed in a remainder line.
SHAPES_SHOWN = 5
GROWTH_SHOWN = 5
LINES_SHOWN = 5

ARROW = " → "


def _plural(count: int, noun: str) -> str:
    return f"{format_count(count)} {noun}{'' if count == 1 else 's'}"


def _step_text(step: PathStep) -> str:
    if step.type == "…":
        return f"… {step.edge} …"
    # ".me" and "['y']" read on from the type; "?" and "(key)" stand apart from it.
    joiner = "" if step.edge[:1] in ".[" else " "
    return f"{step.type}{joiner}{step.edge}"


def path_text(shape: CycleShape) -> str:
    """``Variable.creator → Square.outputs → tuple[0] → Variable``; the types when no path."""
    if not shape.path:
        return ", ".join(shape.types) + " (not on a cycle)"
    return ARROW.join([*map(_step_text, shape.path), shape.path[0].type])


def _shown_path(path: str) -> str:
    """Relative to the working directory when under it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def shorten_left(path: str, width: int) -> str:
    """``…/targets/workloads.py``: whole directories dropped from the left until it fits;
    the file's name always stays whole."""
    if len(path) <= width:
        return path
    parts = path.split(os.sep)
    for start in range(1, len(parts)):
        shortened = "…" + os.sep + os.sep.join(parts[start:])
        if len(shortened) <= width:
            return shortened
    return "…" + os.sep + parts[-1]


def site_text(site: SourceLine | None, width: int | None = None) -> str:
    """``workloads/leak.py:13 in step``; within ``width`` by shortening the path from the left."""
    if site is None:
        return "unknown (not traced)"
    path = _shown_path(site.file)
    tail = f":{site.line} in {site.function}"
    if width is None or len(path) + len(tail) <= width:
        return f"{path}{tail}"
    shortened = shorten_left(path, max(1, width - len(tail)))
    if len(shortened) + len(tail) > width:  # the line number matters more than the function
        tail = f":{site.line}"
        shortened = shorten_left(path, max(1, width - len(tail)))
    return f"{shortened}{tail}"


class Site:
    """``made at …/workloads.py:326 in seed_step`` at whatever width the console gives it:
    the path is shortened from the left, so the file's name and line always show."""

    def __init__(self, prefix: str, site: SourceLine | None, style: str = "dim") -> None:
        self.prefix, self.site, self.style = prefix, site, style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = options.max_width - len(self.prefix)
        yield Text(self.prefix + site_text(self.site, room), style=self.style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        whole = len(self.prefix + site_text(self.site))
        return Measurement(min(whole, len(self.prefix) + 24), whole)


def describe_shape(shape: CycleShape) -> str:
    """One line for a failure message: count, path, bytes held at once and source line."""
    what = _plural(shape.cycles, "cycle") if shape.cycles else _plural(shape.objects, "object")
    return (
        f"{what} {path_text(shape)} holding up to {format_bytes(shape.bytes_held_at_most)} at once "
        f"({format_bytes(shape.bytes_freed_total)} freed in all), "
        f"made at {site_text(shape.allocated_at)}"
    )


def summary(report: ExplainReport) -> str:
    """What the collector found, in one sentence; "no cycle" only when neither the window's
    collections nor the one after it found anything."""
    waiting = report.waiting
    if report.garbage_objects == 0 and waiting.garbage_objects == 0:
        return (
            "The collector found no garbage in the rerun, nor in one more collection once it "
            "ended: no reference cycle held memory."
        )
    if report.garbage_objects == 0:
        return "The collector found no garbage while the rerun ran."
    cycles = sum(shape.cycles for shape in report.shapes)
    return (
        f"A rerun with gc.DEBUG_SAVEALL kept what the collector found: "
        f"{_plural(report.garbage_objects, 'object')} in "
        f"{_plural(report.collections, 'collection')}, {_plural(cycles, 'reference cycle')} "
        f"of {_plural(len(report.shapes), 'shape')}, holding up to "
        f"{format_bytes(report.bytes_held_at_most)} at once "
        f"({format_bytes(report.bytes_freed_total)} freed in all)."
    )


def waiting_text(report: ExplainReport) -> str | None:
    """The garbage the collector had not reached yet when the run ended, or None."""
    waiting = report.waiting
    if waiting.garbage_objects == 0:
        return None
    shapes = "; ".join(path_text(shape) for shape in waiting.shapes[:3])
    more = len(waiting.shapes) - 3
    if more > 0:
        shapes += f"; {_plural(more, 'more shape')}"
    return (
        f"Still waiting for the collector when the run ended: "
        f"{_plural(waiting.cycles, 'cycle')}, {format_bytes(waiting.bytes_held)}"
        + (f", shapes {shapes}" if shapes else "") + "."
    )


def remainder(report: ExplainReport, shown: int = SHAPES_SHOWN) -> str | None:
    """``"12 more objects in 3 shapes not shown (4.0 KiB at most)"``; None when all are listed."""
    rest = report.shapes[shown:]
    if not rest:
        return None
    objects = sum(shape.objects for shape in rest)
    held = sum(shape.bytes_held_at_most for shape in rest)
    return (
        f"{_plural(objects, 'more object')} in {_plural(len(rest), 'shape')} not shown "
        f"({format_bytes(held)} at most)"
    )


def growth_lines(report: ExplainReport, shown: int = GROWTH_SHOWN) -> list[str]:
    """``"bytearray: 3 → 1,503 (+1,500), +1.5 MiB"`` for the types that grew most."""
    return [
        f"{g.type}: {format_count(g.start)} → {format_count(g.end)} "
        f"(+{format_count(g.end - g.start)}), "
        f"{format_bytes(g.bytes_end - g.bytes_start, signed=True)}"
        for g in report.growth[:shown]
    ]


def top_line_text(line: TopLine, width: int | None = None) -> str:
    site = site_text(SourceLine(line.file, line.line, line.function), width)
    return f"{format_bytes(line.bytes)} in {_plural(line.count, 'block')}  {site}"


_GROWTH_HEADING = "Objects that grew over the run and were still there at its end"
_LINES_HEADING = "Lines holding the most memory at the end (allocated during the run, not freed)"

# The peak's lines are shown when the traced peak held this much more than the end's lines.
PEAK_SHOWN_ABOVE_BYTES = 1 << 20
PEAK_SHOWN_ABOVE_SHARE = 0.1


def peak_heading(report: ExplainReport) -> str | None:
    """"At the largest traced moment, …": when the peak held notably more than the end's
    lines do (a leak held by a function's locals, gone by the end); None otherwise."""
    peak = report.peak
    if not peak.lines:
        return None
    at_end = sum(line.bytes for line in report.top_lines)
    margin = max(PEAK_SHOWN_ABOVE_BYTES, int(PEAK_SHOWN_ABOVE_SHARE * peak.traced_bytes))
    if peak.traced_bytes - at_end < margin:
        return None
    return (
        f"At the largest traced moment sampled, {format_bytes(peak.traced_bytes)} at "
        f"{peak.seconds:.2f} s (tracemalloc's peak: {format_bytes(peak.peak_bytes)}), "
        f"freed before the end; the lines holding the most then"
    )


def imports_text(report: ExplainReport) -> str | None:
    """First-time imports, apart from growth: "Imports (set-up, not growth): 12 modules, …"."""
    imports = report.imports
    if imports.modules == 0:
        return None
    kept = "" if imports.bytes is None else f", {format_bytes(imports.bytes, signed=True)} kept"
    return (
        f"Imports (set-up, not counted as growth): {_plural(imports.modules, 'module')}"
        f"{kept}, {imports.seconds:.2f} s."
    )


def _shape_row(shape: CycleShape) -> tuple[str, str, str, str, str]:
    return (
        format_count(shape.cycles),
        format_count(shape.objects),
        format_bytes(shape.bytes_held_at_most),
        format_bytes(shape.bytes_freed_total),
        path_text(shape),
    )


def _shapes_table(shapes: tuple[CycleShape, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("cycles", justify="right", no_wrap=True)
    table.add_column("objects", justify="right", no_wrap=True)
    table.add_column("held at most", justify="right", no_wrap=True)
    table.add_column("freed in all", justify="right", no_wrap=True)
    table.add_column("cycle, where it was made, and what to do")
    for shape in shapes[:SHAPES_SHOWN]:
        *figures, path = _shape_row(shape)
        parts: list[RenderableType] = [
            Text(path, style="bold"), Site("made at ", shape.allocated_at),
        ]
        if shape.allocated_in is not None:
            parts.append(Site("innermost frame ", shape.allocated_in))
        if shape.hint:
            parts.append(Text(f"hint: {shape.hint}"))
        table.add_row(*figures, Group(*parts))
    return table


def _growth_table(report: ExplainReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("type", no_wrap=True)
    table.add_column("live objects", justify="right", no_wrap=True)
    table.add_column("bytes", justify="right", no_wrap=True)
    table.add_column("allocated at")
    for g in report.growth[:GROWTH_SHOWN]:
        table.add_row(
            g.type,
            f"{format_count(g.start)} → {format_count(g.end)}",
            format_bytes(g.bytes_end - g.bytes_start, signed=True),
            Site("", g.allocated_at) if g.allocated_at else Text("–"),
        )
    return table


def _lines_table(lines: tuple[TopLine, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("bytes", justify="right", no_wrap=True)
    table.add_column("blocks", justify="right", no_wrap=True)
    table.add_column("line")
    for line in lines[:LINES_SHOWN]:
        table.add_row(
            format_bytes(line.bytes), format_count(line.count),
            Site("", SourceLine(line.file, line.line, line.function), style=""),
        )
    return table


def renderable(report: ExplainReport) -> RenderableType:
    """The explain section for the terminal: a summary, the shapes, what was still waiting,
    what grew, and the lines still holding memory."""
    parts: list[RenderableType] = [Text(summary(report))]
    if report.shapes:
        parts.append(_shapes_table(report.shapes))
        rest = remainder(report)
        if rest:
            parts.append(Text(rest, style="dim"))
    waiting = waiting_text(report)
    if waiting:
        parts.append(Text(waiting))
        if report.waiting.shapes:
            parts.append(_shapes_table(report.waiting.shapes))
    return Group(*parts, *_memory_parts(report))


def _memory_parts(report: ExplainReport) -> list[RenderableType]:
    """What grew, the lines holding memory at the end and at the peak, the imports."""
    parts: list[RenderableType] = []
    if report.growth:
        parts += [Text(_GROWTH_HEADING + ":"), _growth_table(report)]
    if report.top_lines:
        parts += [Text(_LINES_HEADING + ":"), _lines_table(report.top_lines)]
    heading = peak_heading(report)
    if heading:
        parts += [Text(heading + ":"), _lines_table(report.peak.lines)]
    imports = imports_text(report)
    if imports:
        parts.append(Text(imports, style="dim"))
    return parts


def _markdown_shapes(shapes: tuple[CycleShape, ...]) -> list[str]:
    lines = [
        "| cycles | objects | held at most | freed in all | cycle | made at | hint |",
        "|---:|---:|---:|---:|---|---|---|",
    ]
    for shape in shapes[:SHAPES_SHOWN]:
        cycles, objects, held, freed, path = _shape_row(shape)
        cells = (
            cycles, objects, held, freed, f"`{path}`",
            f"`{site_text(shape.allocated_at)}`", shape.hint or "",
        )
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def markdown(report: ExplainReport) -> str:
    """The explain section as Markdown: the same sentences, the shapes as a table."""
    lines = [summary(report), ""]
    if report.shapes:
        lines += _markdown_shapes(report.shapes)
        rest = remainder(report)
        if rest:
            lines += ["", rest]
        lines.append("")
    waiting = waiting_text(report)
    if waiting:
        lines += [waiting, ""]
    grown = growth_lines(report)
    if grown:
        at = [f" at `{site_text(g.allocated_at)}`" if g.allocated_at else ""
              for g in report.growth[:GROWTH_SHOWN]]
        lines += [_GROWTH_HEADING + ":", ""] + [f"- {g}{a}" for g, a in zip(grown, at,
                                                                          strict=True)] + [""]
    if report.top_lines:
        lines += [_LINES_HEADING + ":", ""]
        lines += [f"- {top_line_text(line)}" for line in report.top_lines[:LINES_SHOWN]] + [""]
    heading = peak_heading(report)
    if heading:
        lines += [heading + ":", ""]
        lines += [f"- {top_line_text(line)}" for line in report.peak.lines[:LINES_SHOWN]] + [""]
    imports = imports_text(report)
    if imports:
        lines += [imports, ""]
    return "\n".join(lines).rstrip() + "\n"
