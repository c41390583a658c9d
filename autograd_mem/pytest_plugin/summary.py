"""A session's per-test memory figures: the end-of-session summary and the JSON document.

Pure: measured tests in, lines of text or a JSON-ready document out. The hooks in
``pytest_plugin`` gather the figures and hand them here.
"""

from __future__ import annotations

import linecache
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_mem.pytest_plugin.probe import BodyMeasurement
from autograd_mem.reporters.explain import path_text
from autograd_mem.schema.codec import header, to_plain
from autograd_mem.schema.explain import CycleShape
from autograd_mem.schema.units import format_bytes, format_count

DOCUMENT_KIND = "pytest"
SHAPES_PER_TEST = 5  # in the JSON document, largest first
_SOURCE_WIDTH = 40  # characters of a source line quoted in the summary


@dataclass(frozen=True)
class MeasuredTest:
    """One test's figures, with what it was measured under."""

    nodeid: str
    marked: bool  # carries @pytest.mark.agmem (and was judged by its limits)
    mode: str | None  # the reference mode it ran under; None: left as it was
    measurement: BodyMeasurement


def document(tests: Sequence[MeasuredTest]) -> dict[str, Any]:
    """The ``--agmem-json`` document: a header, then each test's figures in run order."""
    return {**header(DOCUMENT_KIND), "tests": [_test_plain(test) for test in tests]}


def _test_plain(test: MeasuredTest) -> dict[str, Any]:
    m = test.measurement
    return {
        "nodeid": test.nodeid,
        "marked": test.marked,
        "mode": test.mode,
        "body_raised": m.body_raised,
        "peak_growth_bytes": m.peak_growth_bytes,
        "live_variables": m.live_variables,
        "live_functions": m.live_functions,
        "collected": m.collected,
        "collections": m.collections,
        "cycles": m.cycles,
        "cycles_complete": m.cycles_complete,
        "shapes": [_shape_plain(shape) for shape in m.shapes[:SHAPES_PER_TEST]],
    }


def _shape_plain(shape: CycleShape) -> dict[str, Any]:
    return {**to_plain(shape), "path": path_text(shape)}


# --- the summary ---------------------------------------------------------------------

_COLUMNS = ("peak growth", "collected", "cycles")


def summary_lines(tests: Sequence[MeasuredTest], top: int, root: str) -> list[str]:
    """The end-of-session text: the top tests by peak growth, then by objects collected.

    Each table row is one test; under it, its largest cycle shape when it left any.
    ``root`` is the directory file names are shown relative to.
    """
    if not tests:
        return ["agmem: no test was measured."]
    lines = [
        f"agmem: {format_count(len(tests))} test(s) measured, the test call only (not its "
        "fixtures).",
        "Peak growth by tracemalloc; collected: what the cyclic collector freed then.",
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


def _top(
    tests: Sequence[MeasuredTest], top: int, figure: Callable[[BodyMeasurement], int]
) -> list[MeasuredTest]:
    """The ``top`` tests with the largest non-zero figure, in run order among equals."""
    ranked = sorted(
        (test for test in tests if figure(test.measurement) > 0),
        key=lambda test: -figure(test.measurement),
    )
    return ranked[:top]


def _table(tests: Sequence[MeasuredTest], root: str) -> list[str]:
    rows = [_row(test.measurement) for test in tests]
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, name in enumerate(_COLUMNS)]
    indent = "  " + " " * (sum(widths) + 2 * len(widths))

    def line(cells: Sequence[str], label: str) -> str:
        return "  " + "".join(f"{c:>{w}}  " for c, w in zip(cells, widths, strict=True)) + label

    lines = [line(_COLUMNS, "test")]
    for test, row in zip(tests, rows, strict=True):
        lines.append(line(row, test.nodeid))
        shape = test.measurement.largest_shape
        if shape is not None:
            lines += [f"{indent}{line}" for line in shape_lines(shape, root)]
        elif test.measurement.collected and test.measurement.cycles is None:
            lines.append(f"{indent}cycles not read: the test set the collector's debug flags")
    return lines


def _row(m: BodyMeasurement) -> tuple[str, str, str]:
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
    held = format_bytes(shape.bytes_held)
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
