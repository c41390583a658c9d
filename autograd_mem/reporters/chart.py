"""The RSS timeline drawn in the terminal, one strip per run on one scale, collections marked.

The x axis is the iteration, not the clock: the two reference modes run the same
iterations at different speeds (the collector's pauses slow the strong graph), and
only on the iteration axis do their strips line up. The y axis is growth above
each run's own baseline RSS, so that every strip starts from the same zero.

A whole program has no iterations: its x axis is the clock, in seconds from its
first line, shared by every strip (the slower program's strip is the longer), and its
RSS is that of its process tree, its worker processes included.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement as Measure
from rich.text import Text

from autograd_mem.analysis.target_view import target_view
from autograd_mem.reporters.rows import plural
from autograd_mem.schema.run import Measurement
from autograd_mem.schema.units import format_bytes, format_count, format_seconds

# Eighths of a character cell, from empty to full: 8 levels per row of height.
_BLOCKS = " ▁▂▃▄▅▆▇█"
_SERIES_STYLES = ("red", "green", "magenta", "cyan", "yellow", "blue")
# A mode keeps its colour whatever the order or the company: weak is never drawn in
# strong's red. Labels not listed take the series colours by position.
_MODE_STYLES = {"strong": "red", "weak": "green", "strong/off": "magenta", "weak/off": "cyan"}
_GENERATION_STYLES = ("", "yellow", "bold red")
# A collection is a mark that grows with the generation, never its number: a row of
# "0"s (generation 0, the usual one) read as "zero collections".
_GENERATION_MARKS = "•◆■"
# The y-axis labels take at least this many columns ("+34.5 MiB ┤"); a longer label
# ("+628.0 KiB") widens the axis of the whole chart, so the strips stay aligned.
_AXIS_WIDTH = 11
_RIGHT_MARGIN = len(" ◂ floor")
MIN_WIDTH, MAX_WIDTH = 20, 100
# The RSS scale never tops out below one pymalloc arena (1 MiB since CPython 3.10): a
# healthy run whose RSS rose a few hundred KiB and stayed flat would otherwise fill the
# whole strip and look like a leak. Growth that small is what one new arena costs.
MIN_SCALE_BYTES = 1024**2


def _columns_of(position: float, span: float, width: int) -> int:
    """The column of an iteration (or a program's second) on an axis ``span`` long."""
    return min(width - 1, int(max(0, position) * width // max(span, 1e-9)))


def on_the_clock(measurements: Sequence[Measurement]) -> bool:
    """Whether the x axis is seconds: the runs are whole programs, which have no iterations."""
    return any(target_view(m.config).runs_once for m in measurements)


def _span(measurement: Measurement) -> float:
    """The length of a run on its axis: its iterations, or a program's seconds."""
    if target_view(measurement.config).runs_once:
        return measurement.metrics.wall_seconds
    return measurement.config.iterations


def _points(measurement: Measurement) -> Iterator[tuple[float, int]]:
    """``(position, RSS)`` of each sample in the run: iteration (from the first) or second.

    A program's RSS is that of its process tree: its own, and its children's.
    """
    timeline = measurement.timeline
    if not target_view(measurement.config).runs_once:
        for rss, iteration in zip(timeline.rss_bytes, timeline.iteration, strict=True):
            if iteration >= 0:
                yield iteration, rss
        return
    children = timeline.children_rss_bytes or (0,) * len(timeline.rss_bytes)
    totals = (own + below for own, below in zip(timeline.rss_bytes, children, strict=True))
    yield from zip(timeline.seconds, totals, strict=True)


def growth_by_column(
    measurement: Measurement, width: int, span: float | None = None
) -> list[int | None]:
    """The highest sampled growth above baseline in each column; None before the first sample.

    A column without a sample of its own (iterations faster than the sampler) holds the
    value of the column before it, as RSS holds its level between two samples, up to
    the run's end. ``span`` is the axis's length (a comparison's longest run, in
    iterations or, for programs, seconds; this run's own by default).
    """
    baseline = measurement.metrics.baseline_rss_bytes
    own = _span(measurement)
    span = span or own
    peaks: list[int | None] = [None] * width
    for position, rss in _points(measurement):
        column = _columns_of(position, span, width)
        growth = max(0, rss - baseline)
        current = peaks[column]
        peaks[column] = growth if current is None else max(current, growth)
    held: int | None = None
    # The last iteration's column, or the column of a program's end.
    last = own if target_view(measurement.config).runs_once else own - 1
    for column in range(_columns_of(last, span, width) + 1):
        if peaks[column] is None:
            peaks[column] = held
        else:
            held = peaks[column]
    return peaks


def collections_by_column(
    measurement: Measurement, width: int, span: float | None = None
) -> list[int | None]:
    """The highest generation collected in each column, None where the collector did not run."""
    marks: list[int | None] = [None] * width
    span = span or _span(measurement)
    on_clock = target_view(measurement.config).runs_once
    buckets = measurement.gc_buckets
    for start, iteration, counts in zip(
        buckets.start_seconds, buckets.iteration, buckets.collections, strict=True
    ):
        collected = [generation for generation, count in enumerate(counts) if count]
        if not collected:
            continue
        column = _columns_of(start if on_clock else iteration, span, width)
        current = marks[column]
        marks[column] = max(collected) if current is None else max(current, *collected)
    return marks


def live_variables_by_column(
    measurement: Measurement, width: int, iterations: int | None = None
) -> list[int | None]:
    """The most Variables alive at an iteration's end in each column (the child's census)."""
    record = measurement.per_iteration
    iterations = iterations or measurement.config.iterations
    peaks: list[int | None] = [None] * width
    # A long run's record is bucketed: each count is its bucket's highest, at its first.
    for iteration, count in zip(record.iteration, record.live_variables, strict=True):
        column = _columns_of(iteration, iterations, width)
        current = peaks[column]
        peaks[column] = count if current is None else max(current, count)
    return peaks


def _bars(text: Text, values: list[int | None], top: int, rows: int, row: int, style: str) -> None:
    """One row of a bar strip: eighths of a cell, anything above zero at least a sliver."""
    for value in values:
        if value is None:
            text.append(" ")
            continue
        # A workload that builds no Variables has a scale of 0: empty bars, not ÷ 0.
        level = round(value * rows * 8 / top) if top > 0 else 0
        eighths = (max(level, 1) if value > 0 else 0) - row * 8
        text.append(_BLOCKS[max(0, min(8, eighths))], style=style)


def _rss_rows(text: Text, measurement: Measurement, values: list[int | None], top: int,
              height: int, style: str, axis_width: int) -> None:
    floor = measurement.metrics.floor_bytes
    floor_row = None if not floor else min(height - 1, floor * height // top)
    for row in range(height - 1, -1, -1):
        if row == height - 1:
            axis = format_bytes(top, signed=True)
        elif row == 0:
            axis = "+0 B"
        else:
            axis = ""
        text.append(axis.rjust(axis_width - 2) + " ┤", style="dim")
        _bars(text, values, top, height, row, style)
        if row == floor_row:
            text.append(" ◂ floor", style="dim")
        text.append("\n")


def _generation_mark(generation: int) -> str:
    """The mark of a collection of ``generation`` (the oldest generations share the last)."""
    return _GENERATION_MARKS[min(generation, len(_GENERATION_MARKS) - 1)]


def gc_legend(measurements: Sequence[Measurement]) -> str:
    """``• gen 0 ◆ gen 1 ■ gen 2``: what each mark of the ``gc`` row stands for.

    Named by the generations of the interpreters measured (``young``/``old`` on the
    incremental collector); a free-threaded build has one, unnamed.
    """
    names = max((m.environment.gc_generations for m in measurements), key=len, default=())
    if not names:
        return f"{_generation_mark(0)} a collection"
    shown = names[: len(_GENERATION_MARKS)]
    return " ".join(f"{_generation_mark(i)} gen {name}" for i, name in enumerate(shown))


def _scales(measurements: Sequence[Measurement]) -> tuple[int, int]:
    """The top of the RSS scale and of the live-Variables scale, shared by every strip."""
    samples = [
        max(0, rss - m.metrics.baseline_rss_bytes) for m in measurements for _, rss in _points(m)
    ]
    # The kernel's high-water mark can lie above every sample: it tops the scale, so the
    # axis and the peak growth quoted above each strip are the same figure.
    peaks = [m.metrics.peak_rss_growth_bytes for m in measurements]
    floors = [m.metrics.floor_bytes for m in measurements if m.metrics.floor_bytes]
    top = max([*samples, *peaks, *floors, MIN_SCALE_BYTES])
    # Topped by the census's own high-water mark, the figure the strip's title quotes.
    live_top = max(
        [0, *(n for m in measurements for n in m.per_iteration.live_variables),
         *(m.metrics.max_live_variables for m in measurements)]
    )
    return top, live_top


def _axis_width(measurements: Sequence[Measurement]) -> int:
    """Columns left of the strips: the longest y-axis label, " ┤", never under the minimum."""
    top, live_top = _scales(measurements)
    longest = max(len(format_bytes(top, signed=True)), len(format_count(live_top)))
    return max(_AXIS_WIDTH, longest + 2)


def chart_title(measurements: Sequence[Measurement]) -> str:
    """``RSS and live Variables per iteration``; without the Variables where none was alive.

    Programs are drawn against the clock: ``RSS over time, in seconds``.
    """
    _, live_top = _scales(measurements)
    one_scale = ", one scale" if len(measurements) > 1 else ""
    if on_the_clock(measurements):
        return f"RSS over time, in seconds{one_scale}"
    shown = "RSS and live Variables" if live_top > 0 else "RSS"
    return f"{shown} per iteration{one_scale}"


def render_timelines(
    measurements: Sequence[Measurement],
    *,
    width: int = 60,
    height: int = 5,
    labels: Sequence[str] | None = None,
) -> Text:
    """One strip per measurement, all on the scale of the highest growth among them.

    Under each RSS strip, two rows of the live Variables the child counted at each
    iteration's end (on one scale too: RSS hides what the allocator keeps, the census
    does not), then a row marking the collections: the digit is the oldest generation
    collected in that stretch of iterations. A run's analytical floor, when known, is
    pointed at on the right, so the eye can tell how far above the unavoidable the
    memory went.
    """
    top, live_top = _scales(measurements)
    axis_width = _axis_width(measurements)
    names = list(labels) if labels is not None else [run_name(m) for m in measurements]
    name_width = max(len(n) for n in names) if names else 0
    # One axis for all: the longest run's iterations, or its seconds for programs.
    span = max((_span(m) for m in measurements), default=1)
    scale = _Scale(width, height, top, live_top, axis_width, span, on_the_clock(measurements))

    text = Text()
    for index, measurement in enumerate(measurements):
        # Keyed by the name shown: a mode keeps its colour, other variants take the
        # series colours by position.
        style = _MODE_STYLES.get(names[index], _SERIES_STYLES[index % len(_SERIES_STYLES)])
        text.append(names[index].ljust(name_width), style=f"bold {style}")
        _strip(text, measurement, scale, style)
    if measurements:
        _footer(text, scale, gc_legend(measurements))
    return text


def run_name(measurement: Measurement) -> str:
    """A run's name in a report: a workload's mode, a program's script or module."""
    return target_view(measurement.config).short_label


@dataclass(frozen=True)
class _Scale:
    """What every strip of one chart shares: its size, its two scales and its axis width."""

    width: int
    height: int
    top: int  # of the RSS growth
    live_top: int  # of the live Variables
    axis_width: int
    span: float  # the axis's length: the longest run's iterations (or seconds)
    clock: bool = False  # the axis is seconds: the runs are programs


def _strip(text: Text, measurement: Measurement, scale: _Scale, style: str) -> None:
    """One measurement's title line, RSS rows, live-Variables rows and collections row."""
    axis_width = scale.axis_width
    growth = format_bytes(measurement.metrics.peak_rss_growth_bytes, signed=True)
    children = measurement.metrics.children_peak_rss_bytes
    if children:
        growth += f" (child processes up to {format_bytes(children)})"
    live = (f", up to {plural(measurement.metrics.max_live_variables, 'live Variable')}"
            if scale.live_top > 0 else "")
    collections = plural(sum(measurement.metrics.gc_collections), "collection")
    text.append(
        f"  peak growth {growth}, {collections}{live}\n",
        style="dim",
    )
    values = growth_by_column(measurement, scale.width, scale.span)
    if all(value is None for value in values):
        # Faster than the sampler: say so rather than draw an empty strip.
        took = format_seconds(measurement.metrics.wall_seconds)
        every = format_seconds(measurement.config.sample_interval_seconds)
        what, remedy = ("program", "sample more often") if scale.clock else (
            "iterations", "run more iterations")
        text.append(
            " " * axis_width + f"no RSS sample in the {took} the {what} took\n"
            + " " * axis_width + f"(one every {every}): {remedy} for one\n",
            style="yellow",
        )
    else:
        _rss_rows(text, measurement, values, scale.top, scale.height, style, axis_width)
    live = live_variables_by_column(measurement, scale.width, int(scale.span))
    # No Variable in any strip (a workload that does not use the engine): no empty rows.
    if scale.live_top > 0 and any(v is not None for v in live):
        # The census per iteration: the saw-tooth of a graph the collector has to cut.
        for row, axis in ((1, format_count(scale.live_top)), (0, "live Var.")):
            text.append(axis.rjust(axis_width - 2) + " ┤", style="dim")
            _bars(text, live, scale.live_top, 2, row, f"dim {style}")
            text.append("\n")
    text.append("gc".rjust(axis_width - 2) + " ┤", style="dim")
    for mark in collections_by_column(measurement, scale.width, scale.span):
        if mark is None:
            text.append(" ")
        else:
            text.append(
                _generation_mark(mark),
                style=_GENERATION_STYLES[min(mark, len(_GENERATION_STYLES) - 1)],
            )
    text.append("\n")


def _footer(text: Text, scale: _Scale, gc_marks: str) -> None:
    """The x axis under the strips (iterations, or a program's seconds), and the legend."""
    width, axis_width = scale.width, scale.axis_width
    if scale.clock:
        left, right = "0 s", f"time → {format_seconds(scale.span)}"
        baseline = "the program's baseline, child processes included"
    else:
        left, right = "0", f"iteration → {format_count(int(scale.span))}"
        baseline = "the run's baseline"
    text.append(" " * (axis_width - 1) + "└" + "─" * width + "\n", style="dim")
    text.append(" " * axis_width + left + right.rjust(width - len(left)) + "\n", style="dim")
    text.append(
        # One paragraph: the console wraps it to its own width (hard line breaks
        # made ragged lines in a narrow terminal).
        f"RSS: growth above {baseline} (freed memory mostly stays with the "
        "allocator, so RSS holds its peak) · "
        # A program has no per-iteration census: no live-Variables rows to explain.
        + ("live Var.: Variables alive at each iteration's end · "
           if scale.live_top and not scale.clock else "")
        + f"gc: a collection there, marked by the oldest generation collected ({gc_marks})",
        style="dim italic",
    )


class Timelines:
    """A renderable drawing ``render_timelines`` as wide as the console allows."""

    def __init__(
        self,
        measurements: Sequence[Measurement],
        *,
        height: int = 5,
        labels: Sequence[str] | None = None,
    ) -> None:
        self.measurements = list(measurements)
        self.height = height
        self.labels = labels

    def _width(self, max_width: int) -> int:
        axis_width = _axis_width(self.measurements)
        return max(MIN_WIDTH, min(MAX_WIDTH, max_width - axis_width - _RIGHT_MARGIN))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield render_timelines(
            self.measurements,
            width=self._width(options.max_width),
            height=self.height,
            labels=self.labels,
        )

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measure:
        width = self._width(options.max_width) + _axis_width(self.measurements) + _RIGHT_MARGIN
        return Measure(width, width)
