"""What ``pytest --agmem`` prints: the end-of-session summary and a failed budget's report.

Pure: the session's document in, lines of text out. The hooks gather the figures and
hand them here.
"""

from __future__ import annotations

import linecache
import os
from collections.abc import Callable, Mapping, Sequence

from autograd_mem.pytest_plugin.marks import Exceeded, show_budgets
from autograd_mem.pytest_plugin.origin import is_library_shape
from autograd_mem.reporters.explain import path_text
from autograd_mem.schema.explain import CycleShape
from autograd_mem.schema.pytest_session import BodyFigures, MeasuredTest, PytestSession
from autograd_mem.schema.units import format_bytes, format_count

_SOURCE_WIDTH = 40  # characters of a source line quoted in the summary

# What each detail collects around a test, said in the summary (the JSON says ``detail``).
DETAIL_LINES = {
    "young": "Collected: the young generations around each test, and all of them after a test "
    "whose own collections reached older ones (--agmem-full: full collections, slower).",
    "full": "Collected: a full collection before and after each test (--agmem-full).",
}


def failure_text(
    name: str, exceeded: Sequence[Exceeded], figures: BodyFigures, mode: str | None,
    root: str = os.curdir, include_library: bool = False,
) -> str:
    """The text of a failed test: each budget exceeded, every figure measured, and the
    largest cycle shape the call left (its path, the bytes it held, where it was made): the
    project's own, with the largest a library made apart, unless ``include_library``."""
    under = f" under reference mode {mode!r}" if mode else ""
    lines = [f"agmem: {name} exceeded its memory budget{under}:"]
    lines += [f"  - {verdict.budget}: {verdict.line}" for verdict in exceeded]
    cycles = ""
    if figures.cycles is not None:
        at_least = "" if figures.cycles_complete else "at least "
        cycles = f", {at_least}{format_count(figures.cycles)} cycle(s)"
    lines.append(
        f"  measured: peak growth {format_bytes(figures.peak_growth_bytes)}, "
        f"live engine objects left {format_count(figures.live_objects)}, "
        f"collected {format_count(figures.collected)} "
        f"in {format_count(figures.collections)} collection(s){cycles}"
    )
    lines += _shape_lines_by_origin(figures, include_library, root)
    return "\n".join(lines)


def _shape_lines_by_origin(figures: BodyFigures, include_library: bool, root: str) -> list[str]:
    """The largest cycle; unless ``include_library``, the project's own largest, and the
    largest one only libraries made on a line apart, as not counted."""
    if include_library:
        shown, library = figures.largest_shape, None
    else:
        own = [shape for shape in figures.shapes if not is_library_shape(shape)]
        shown = own[0] if own else None
        library = next((shape for shape in figures.shapes if is_library_shape(shape)), None)
    lines: list[str] = []
    if shown is not None:
        first, *more = shape_lines(shown, root)
        lines += [f"  {first}", *(f"    {line}" for line in more)]
    if library is not None:
        made = library.allocated_at
        where = "" if made is None else f", made at {source_line(made.file, made.line, root)}"
        lines.append(f"  largest cycle made by a library (not counted by max_cycles): "
                     f"{describe_shape(library)}{where}")
    return lines


# --- the summary ---------------------------------------------------------------------

_COLUMNS = ("peak growth", "collected", "cycles")


def summary_lines(
    session: PytestSession, top: int, root: str, budgets: Mapping[str, int] | None = None
) -> list[str]:
    """The end-of-session text: the top tests by peak growth, then by objects collected.

    Each table row is one test; under it, its largest cycle shape when it left any.
    ``root`` is the directory file names are shown relative to; ``budgets``, the
    session's, are named with the tests that exceeded any budget.
    """
    tests = session.tests
    if not tests:
        return ["agmem: no test was measured."]
    lines = [
        f"agmem: {format_count(len(tests))} test(s) measured, the test call only (not its "
        "fixtures).",
        "Peak growth by tracemalloc; collected: what the cyclic collector freed then.",
        DETAIL_LINES[session.detail],
        *_budget_lines(tests, budgets or {}),
    ]
    by_peak = _top(tests, top, lambda m: m.peak_growth_bytes)
    lines += ["", f"Top {len(by_peak)} by peak memory growth:", *_table(by_peak, root)]
    by_collected = _top(tests, top, lambda m: m.collected)
    if by_collected:
        title = f"Top {len(by_collected)} by objects left to the cyclic collector:"
        lines += ["", title, *_table(by_collected, root)]
    else:
        lines += ["", "No test left objects to the cyclic collector."]
    return lines


def _budget_lines(tests: Sequence[MeasuredTest], budgets: Mapping[str, int]) -> list[str]:
    failed = [test for test in tests if test.exceeded]
    if not budgets and not failed:
        return []
    said = show_budgets(budgets)
    lines = [f"Budgets for every test: {said}." if said else "Budgets: set by markers only."]
    if failed:
        lines.append(f"{format_count(len(failed))} test(s) exceeded a budget:")
        lines += [f"  {test.nodeid} ({', '.join(test.exceeded)})" for test in failed]
    return lines


def _top(
    tests: Sequence[MeasuredTest], top: int, figure: Callable[[BodyFigures], int]
) -> list[MeasuredTest]:
    """The ``top`` tests with the largest non-zero figure, in run order among equals."""
    ranked = sorted(
        (test for test in tests if figure(test.figures) > 0),
        key=lambda test: -figure(test.figures),
    )
    return ranked[:top]


def _table(tests: Sequence[MeasuredTest], root: str) -> list[str]:
    rows = [_row(test.figures) for test in tests]
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, name in enumerate(_COLUMNS)]
    indent = "  " + " " * (sum(widths) + 2 * len(widths))

    def line(cells: Sequence[str], label: str) -> str:
        return "  " + "".join(f"{c:>{w}}  " for c, w in zip(cells, widths, strict=True)) + label

    lines = [line(_COLUMNS, "test")]
    for test, row in zip(tests, rows, strict=True):
        lines.append(line(row, test.nodeid))
        shape = test.figures.largest_shape
        if shape is not None:
            lines += [f"{indent}{line}" for line in shape_lines(shape, root)]
        elif test.figures.collected and test.figures.cycles is None:
            lines.append(f"{indent}cycles not read: the test set the collector's debug flags")
        if test.figures.older_garbage_possible:
            lines.append(f"{indent}collected may include older garbage: a full collection "
                         "ran during or after the test")
        if not test.figures.collector_watched:
            lines.append(f"{indent}figures incomplete: the test removed agmem's gc callback")
    return lines


def _row(m: BodyFigures) -> tuple[str, str, str]:
    cycles = "–" if m.cycles is None else format_count(m.cycles)
    if m.cycles is not None and not m.cycles_complete:
        cycles = f"≥{cycles}"
    return format_bytes(m.peak_growth_bytes), format_count(m.collected), cycles


def shape_lines(shape: CycleShape, root: str) -> list[str]:
    """A test's largest cycle: ``largest cycle: 10 × Leaky.me → Leaky, 1.0 MiB held``, then
    where it was made and the hint, each on a line of its own (``root`` as for the summary)."""
    lines = [f"largest cycle: {describe_shape(shape)}"]
    if shape.allocated_at is not None:
        site = shape.allocated_at
        lines.append(f"made at {source_line(site.file, site.line, root)}")
    if shape.hint:
        lines.append(f"hint: {shape.hint}")
    return lines


def describe_shape(shape: CycleShape) -> str:
    """``10 × Leaky.me → Leaky, 1.0 MiB held``: how many cycles, their path, what they held."""
    held = format_bytes(shape.bytes_held_at_most)
    return f"{format_count(shape.cycles)} × {path_text(shape)}, {held} held"


def source_line(file: str, line: int, root: str) -> str:
    """``tests/test_x.py:9 (Leaky())``: the place, relative to ``root``, and its code."""
    shown = file
    if os.path.isabs(file):
        relative = os.path.relpath(file, root)
        if not relative.startswith(os.pardir):
            shown = relative
    code = linecache.getline(file, line).strip()
    if len(code) > _SOURCE_WIDTH:
        code = code[: _SOURCE_WIDTH - 1] + "…"
    return f"{shown}:{line}" + (f" ({code})" if code else "")
