"""The explain section, rendered: cycle shapes by bytes held, what they held, where, and what grew.

Render only: every figure comes from an :class:`~autograd_mem.schema.explain.ExplainReport`.
The same sentences serve the terminal (:func:`renderable`, a rich Group) and Markdown
(:func:`markdown`), and :func:`describe_shape` gives the one line a failure message
needs. Whatever is not listed is still counted: a remainder line says how many
objects in how many shapes were left out, so the figures always add up to what the
collector found. A sentence saying there was no cycle appears only when the collector
found nothing at all.
"""

from __future__ import annotations

import os

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from autograd_mem.schema.explain import CycleShape, ExplainReport, PathStep, SourceLine
from autograd_mem.schema.units import format_bytes, format_count

# Shapes and growing types listed; the rest are summed in a remainder line.
SHAPES_SHOWN = 5
GROWTH_SHOWN = 5

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


def site_text(site: SourceLine | None) -> str:
    """``workloads/leak.py:13 in step``, relative to the working directory when under it."""
    if site is None:
        return "unknown (not traced)"
    path = site.file
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        relative = path
    if not relative.startswith(".."):
        path = relative
    return f"{path}:{site.line} in {site.function}"


def describe_shape(shape: CycleShape) -> str:
    """One line for a failure message: count, path, bytes held and source line."""
    what = _plural(shape.cycles, "cycle") if shape.cycles else _plural(shape.objects, "object")
    return (
        f"{what} {path_text(shape)} holding {format_bytes(shape.bytes_held)}, "
        f"made at {site_text(shape.allocated_at)}"
    )


def summary(report: ExplainReport) -> str:
    """What the collector found, in one sentence; "no cycle" only when it found nothing."""
    if report.garbage_objects == 0:
        return (
            "The collector found no garbage in the rerun: nothing was left to it, "
            "so no reference cycle held memory."
        )
    cycles = sum(shape.cycles for shape in report.shapes)
    return (
        f"A rerun with gc.DEBUG_SAVEALL kept what the collector found: "
        f"{_plural(report.garbage_objects, 'object')} in "
        f"{_plural(report.collections, 'collection')}, {_plural(cycles, 'reference cycle')} "
        f"of {_plural(len(report.shapes), 'shape')}, holding {format_bytes(report.bytes_held)}."
    )


def remainder(report: ExplainReport, shown: int = SHAPES_SHOWN) -> str | None:
    """``"12 more objects in 3 shapes not shown (4.0 KiB)"``, or None when all are listed."""
    rest = report.shapes[shown:]
    if not rest:
        return None
    objects = sum(shape.objects for shape in rest)
    held = sum(shape.bytes_held for shape in rest)
    return (
        f"{_plural(objects, 'more object')} in {_plural(len(rest), 'shape')} not shown "
        f"({format_bytes(held)})"
    )


def growth_lines(report: ExplainReport, shown: int = GROWTH_SHOWN) -> list[str]:
    """``"Record: 3 → 1,003 (+1,000)"`` for the types that grew most while the workload ran."""
    return [
        f"{g.type}: {format_count(g.start)} → {format_count(g.end)} "
        f"(+{format_count(g.end - g.start)})"
        for g in report.growth[:shown]
    ]


_GROWTH_HEADING = "Live objects that grew over the run (alive at its end, not garbage)"


def _shape_row(shape: CycleShape) -> tuple[str, str, str, str]:
    return (
        format_count(shape.cycles),
        format_count(shape.objects),
        format_bytes(shape.bytes_held),
        path_text(shape),
    )


def renderable(report: ExplainReport) -> RenderableType:
    """The explain section for the terminal: a summary, the shapes table, what grew."""
    parts: list[RenderableType] = [Text(summary(report))]
    if report.shapes:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("cycles", justify="right", no_wrap=True)
        table.add_column("objects", justify="right", no_wrap=True)
        table.add_column("held", justify="right", no_wrap=True)
        table.add_column("cycle, where it was made, and what to do")
        for shape in report.shapes[:SHAPES_SHOWN]:
            *figures, path = _shape_row(shape)
            # "fold": a source path longer than the column goes on to the next line, whole,
            # rather than cut to "workloads…" at 80 columns.
            detail = Text(path, style="bold", overflow="fold")
            detail.append(f"\nmade at {site_text(shape.allocated_at)}", style="dim")
            if shape.hint:
                detail.append(f"\nhint: {shape.hint}")
            table.add_row(*figures, detail)
        parts.append(table)
        rest = remainder(report)
        if rest:
            parts.append(Text(rest, style="dim"))
    grown = growth_lines(report)
    if grown:
        parts.append(Text(_GROWTH_HEADING + ":\n" + "\n".join(f"  {g}" for g in grown)))
    return Group(*parts)


def markdown(report: ExplainReport) -> str:
    """The explain section as Markdown: the same sentences, the shapes as a table."""
    lines = [summary(report), ""]
    if report.shapes:
        lines += [
            "| cycles | objects | held | cycle | made at | hint |",
            "|---:|---:|---:|---|---|---|",
        ]
        for shape in report.shapes[:SHAPES_SHOWN]:
            cycles, objects, held, path = _shape_row(shape)
            cells = (
                cycles, objects, held, f"`{path}`",
                f"`{site_text(shape.allocated_at)}`", shape.hint or "",
            )
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        rest = remainder(report)
        if rest:
            lines += ["", rest]
        lines.append("")
    grown = growth_lines(report)
    if grown:
        lines += [_GROWTH_HEADING + ":", ""] + [f"- {g}" for g in grown] + [""]
    return "\n".join(lines).rstrip() + "\n"
