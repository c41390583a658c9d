"""Why a check failed: the forensics of the failing run set against the baseline's own.

Pure: two explain documents in (the baseline's, which may be missing, and the
rerun's), causes and cycle rows out. A cause is what grew against the baseline, with
its bytes and the user's line: a cycle shape that is new or holds more, a type whose
live objects grew more. Shapes made by the standard library or an installed package
are listed as causes but never gated: an ``argparse`` parser's own cycles are not the
program's regression, and its author cannot change them.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterable

from autograd_mem.schema.check import INFO, TOLERANCE, Cause, Limits, MetricCheck
from autograd_mem.schema.explain import CycleShape, ExplainReport, SourceLine

MAX_CAUSES = 3


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(sorted(os.path.realpath(root) + os.sep for root in roots))


_LIBRARY_ROOTS = _library_roots()


def is_library_file(path: str) -> bool:
    """A file of the standard library or of an installed package (site-packages)."""
    real = os.path.realpath(path)
    return real.startswith(_LIBRARY_ROOTS) or f"{os.sep}site-packages{os.sep}" in real


def shape_key(shape: CycleShape) -> tuple[str, ...]:
    """What makes two shapes the same: their labelled path (types and references)."""
    if shape.path:
        steps = [f"{step.type}{step.edge}" for step in shape.path]
        # The same cycle read from another of its objects: the smallest rotation names it.
        return min(tuple(steps[i:] + steps[:i]) for i in range(len(steps)))
    return shape.types


def shape_text(shape: CycleShape) -> str:
    """The labelled path people read: ``dict['children'] → list[0] → dict['parent'] → dict``."""
    if not shape.path:
        return " + ".join(shape.types)
    steps = [f"{step.type}{step.edge}" for step in shape.path]
    return " → ".join([*steps, shape.path[0].type])


def line_text(site: SourceLine | None) -> str:
    return "" if site is None else f"{site.file}:{site.line}"


def _shape_bytes(shape: CycleShape) -> int:
    """The most the shape held at once: comparable between two runs of any length."""
    return shape.bytes_held_at_most


def all_shapes(report: ExplainReport) -> tuple[CycleShape, ...]:
    """The shapes the window's collections found, then those still waiting at its end (a
    program's kept objects become garbage only when it ends)."""
    return (*report.shapes, *report.waiting.shapes)


def _by_key(report: ExplainReport | None) -> dict[tuple[str, ...], int]:
    totals: dict[tuple[str, ...], int] = {}
    for shape in () if report is None else all_shapes(report):
        key = shape_key(shape)
        totals[key] = totals.get(key, 0) + _shape_bytes(shape)
    return totals


def _own(shape: CycleShape) -> bool:
    """Made by the user's code: the innermost allocating frame (``allocated_in`` where the
    explain document keeps it apart from the user's line) lies outside the libraries."""
    site = getattr(shape, "allocated_in", None) or shape.allocated_at
    return site is not None and not is_library_file(site.file)


def _whose(shape: CycleShape) -> str:
    if shape.allocated_at is None:
        return " (where it was made was not traced)"
    return "" if _own(shape) else " (library code)"


def _first_of_each(shapes: Iterable[CycleShape]) -> list[CycleShape]:
    """One shape per key (a shape the window found may be waiting at its end too)."""
    return list({shape_key(shape): shape for shape in reversed(list(shapes))}.values())[::-1]


def cycle_causes(before: ExplainReport | None, after: ExplainReport) -> list[Cause]:
    """Shapes that are new, or hold more than in the baseline's forensics, largest first."""
    held_before, held_now = _by_key(before), _by_key(after)
    causes = []
    for shape in _first_of_each(all_shapes(after)):
        key = shape_key(shape)
        grown = held_now[key] - held_before.get(key, 0)
        if grown <= 0:
            continue
        new = key not in held_before
        plural = "s" if shape.cycles != 1 else ""
        detail = "new shape" if new else f"{shape.cycles:,} cycle{plural}, more bytes"
        detail += _whose(shape)
        causes.append(Cause("cycle", shape_text(shape), grown, line_text(shape.allocated_at),
                            detail))
    return causes


def type_causes(before: ExplainReport | None, after: ExplainReport) -> list[Cause]:
    """Types whose live count grew more than in the baseline's forensics.

    Their bytes are the type's growth in the rerun (the explain document's), their line
    the one that allocated most of it.
    """
    grown_before = {} if before is None else {g.type: g.end - g.start for g in before.growth}
    causes = []
    for growth in after.growth:
        more = (growth.end - growth.start) - grown_before.get(growth.type, 0)
        if more > 0:
            grown = max(0, growth.bytes_end - growth.bytes_start)
            causes.append(Cause("type", growth.type, grown, line_text(growth.allocated_at),
                                f"+{more:,} live objects"))
    return causes


def line_causes(before: ExplainReport | None, after: ExplainReport) -> list[Cause]:
    """Lines holding more bytes at the end than in the baseline's forensics."""
    held_before = {} if before is None else {(t.file, t.line): t.bytes for t in before.top_lines}
    causes = []
    for top in after.top_lines:
        grown = top.bytes - held_before.get((top.file, top.line), 0)
        if grown > 0:
            causes.append(Cause("line", top.function, grown, f"{top.file}:{top.line}",
                                f"{top.count:,} blocks still allocated"))
    return causes


def find_causes(before: ExplainReport | None, after: ExplainReport) -> tuple[Cause, ...]:
    """The two or three causes that explain most of the difference, largest first.

    A cause of the user's own code comes before a library one of the same size; of a type
    and a line naming the same bytes, both may be listed: they are two views of one leak.
    """
    found = [
        *cycle_causes(before, after), *type_causes(before, after), *line_causes(before, after)
    ]
    found.sort(key=lambda c: (-c.bytes, "(library code)" in c.detail))
    return tuple(found[:MAX_CAUSES])


def shape_rows(
    before: ExplainReport | None, after: ExplainReport, limits: Limits
) -> list[MetricCheck]:
    """One row per cycle shape of the user's own code: gated by shape, by its bytes.

    A new shape fails; a known one fails when its bytes grew past the tolerance (the
    relative margin of its own bytes, or ``min_delta_bytes``). Without the baseline's
    forensics there is nothing to set a shape against: the rows are ``info``.
    """
    held_before, held_now = _by_key(before), _by_key(after)
    rows = []
    for shape in _own_shapes(_first_of_each(all_shapes(after))):
        site = shape.allocated_at
        name = "cycle" if site is None else f"cycle at {os.path.basename(site.file)}:{site.line}"
        path = shape_text(shape)
        now = held_now[shape_key(shape)]
        if before is None:
            rows.append(MetricCheck(name, "bytes", INFO, None, now, None, None,
                                    f"{path}; the baseline has no forensics to set it against"))
            continue
        base = held_before.get(shape_key(shape))
        if base is None:
            rows.append(
                MetricCheck(name, "bytes", TOLERANCE, 0, now, 0, False, f"new shape {path}")
            )
            continue
        limit = base + max(limits.tolerance * base, limits.min_delta_bytes)
        rows.append(MetricCheck(name, "bytes", TOLERANCE, base, now, limit, now <= limit, path))
    return rows


def _own_shapes(shapes: Iterable[CycleShape]) -> list[CycleShape]:
    return [shape for shape in shapes if _own(shape)]
