"""Rich renderables for the terminal: the run report and the side-by-side comparison.

Each function returns a renderable and prints nothing: the command decides the
Console (stdout, a file, or a recording one for SVG/HTML export).
"""

from __future__ import annotations

import functools

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement as Measure
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autograd_mem.analysis.compare import Comparison
from autograd_mem.analysis.regression import CheckReport
from autograd_mem.reporters import check_rows, explain, rows
from autograd_mem.reporters.chart import Timelines, chart_title
from autograd_mem.schema.run import Measurement


def _stacked(median: str, spread: str | None) -> Text:
    """The median, and under it the min – max of the repeats, dimmed."""
    text = Text(median)
    if spread is not None:
        text.append("\n" + spread, style="dim")
    return text


def _section(title: str, body: list[rows.Row], measurement: Measurement) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_header=True, pad_edge=False)
    table.add_column(title, style="bold", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    for row in body:
        table.add_row(row.title, _stacked(*rows.cell_parts(measurement, row)))
    return table


def _explain(measurement: Measurement) -> Panel | None:
    report = measurement.explain
    if report is None:
        return None
    return Panel(
        explain.renderable(report),
        title="What the collector found (--explain)",
        title_align="left",
        border_style="blue",
    )


@functools.singledispatch
def render(report: object) -> RenderableType:
    """Any report agmem makes, as a rich renderable: one entry point for every command."""
    raise TypeError(f"no table report for {type(report).__name__}")


@render.register
def render_run(measurement: Measurement) -> RenderableType:
    """The report of one mode: memory, collector, time, timeline, and the explain pass."""
    header = Text.assemble(
        ("agmem run", "bold"),
        "  ",
        rows.describe_config(measurement),
        "\n",
        (rows.describe_environment(measurement), "dim"),
    )
    parts: list[RenderableType] = [header]
    parts += [Text(f"incomplete: {note}", style="yellow") for note in rows.incomplete_notes(
        measurement)]
    parts += [
        _section("Memory", rows.memory_rows(measurement), measurement),
        _section("Collector", rows.collector_rows(measurement), measurement),
        _section("Time", rows.time_rows(measurement), measurement),
    ]
    setup = rows.setup_rows(measurement)
    if setup:
        parts.append(_section("Setup apart from growth", setup, measurement))
    parts += [
        Panel(
            Timelines([measurement]),
            title=chart_title([measurement]),
            title_align="left",
            border_style="dim",
            expand=False,
        ),
    ]
    explain = _explain(measurement)
    if explain is not None:
        parts.append(explain)
    return Group(*parts)


class _FigureColumns:
    """The comparison's figures in one table, ratios beside the figures or under them.

    The titles may wrap; the figures may not (a cut figure would be a wrong one). Four
    variants and their ratios side by side need about 120 columns; a narrower console
    gets each ratio under the figure it divides, dimmed (``reference ÷ it``), which
    keeps four variants in one table from 80 columns up. Only when even that is too
    wide (five variants and more, or under 80 columns) do the variants go on in a
    second table under the same row titles, rather than figures cut to "+620.0 …".
    """

    def __init__(self, labels: list[str], body: list[tuple[str, list[Text], list[str]]]) -> None:
        self.labels = labels
        self.body = body

    def _table(self, headings: list[str], cells: list[list[Text]], columns: list[int],
               ratio_from: int, caption: str | None = None) -> Table:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, caption=caption,
                      caption_justify="left", caption_style="dim")
        table.add_column("", style="bold", min_width=14)
        for i in columns:
            widest = max(cell_len(line) for text in [Text(headings[i]), *(row[i] for row in cells)]
                         for line in text.plain.split("\n"))
            table.add_column(headings[i], justify="right", no_wrap=True, min_width=widest,
                             style="cyan" if i >= ratio_from else "")
        for (title, _, _), row in zip(self.body, cells, strict=True):
            table.add_row(title, *(row[i] for i in columns))
        return table

    def beside(self) -> Table:
        """The ratios in columns of their own: ``strong ÷ weak``."""
        reference = self.labels[0]
        headings = [*self.labels, *(f"{reference} ÷\n{label}" for label in self.labels[1:])]
        cells = [[*values, *(Text(r) for r in ratios)] for _, values, ratios in self.body]
        return self._table(headings, cells, list(range(len(headings))), len(self.labels))

    def folded(self, columns: list[int]) -> Table:
        """Each ratio under the figure it divides, for the variants ``columns``."""
        cells = []
        for _, values, ratios in self.body:
            row = [values[0].copy()]
            for value, ratio in zip(values[1:], ratios, strict=True):
                text = value.copy()
                if ratio:
                    text.append(f"\n÷ {ratio}", style="cyan dim")
                row.append(text)
            cells.append(row)
        caption = f"÷: {self.labels[0]} ÷ the variant, under its figure"
        return self._table(self.labels, cells, columns, len(self.labels), caption)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # Measured unbounded: a measurement is clamped to the width it is given.
        unbounded = options.update(max_width=10_000)

        def fits(table: Table) -> bool:
            return Measure.get(console, unbounded, table).minimum <= options.max_width

        wide = self.beside()
        if fits(wide):
            yield wide
            return
        groups: list[list[int]] = [[]]
        for i in range(len(self.labels)):
            if groups[-1] and not fits(self.folded([*groups[-1], i])):
                groups.append([i])
            else:
                groups[-1].append(i)
        for group in groups:
            yield self.folded(group)


@render.register
def render_comparison(comparison: Comparison) -> RenderableType:
    """Variants side by side with ``reference ÷ variant`` ratios, their timelines, the verdict."""
    header = Text.assemble(("agmem compare", "bold"), "  ", rows.describe_shared_config(comparison))
    for line in rows.describe_environments(comparison):
        header.append("\n" + line, style="dim")
    body = [
        (title, [_stacked(median, spread) for median, spread in cells], ratios)
        for title, cells, ratios in rows.comparison_rows(comparison)
    ]
    table = _FigureColumns(list(comparison.labels), body)

    # A line of text, not a panel: it wraps cleanly in a narrow terminal and copies whole.
    verdict = Text()
    for line in comparison.verdict.splitlines():
        verdict.append("Verdict: ", style="bold green")
        verdict.append(line + "\n", style="bold")
    parts: list[RenderableType] = [
        header,
        table,
        Panel(
            Timelines(comparison.measurements, labels=comparison.labels),
            title=chart_title(comparison.measurements),
            title_align="left",
            border_style="dim",
            expand=False,
        ),
        verdict,
    ]
    for label, measurement in zip(comparison.labels, comparison.measurements, strict=True):
        explain = _explain(measurement)
        if explain is not None:
            explain.title = f"What the collector found in {comparison.variant_name(label)}"
            parts.append(explain)
    return Group(*parts)

_VERDICT_STYLES = {
    "regressed": "bold red",
    "over budget": "bold red",
    "improved": "cyan",
    "ok": "green",
    "info": "dim",
}


@render.register
def render_check(report: CheckReport) -> RenderableType:
    """Every metric, grouped by how it is judged: baseline, now, change, limit, verdict."""
    first, *rest = check_rows.header_lines(report)
    warnings = set(check_rows.environment_warnings(report))
    header = Text.assemble(("agmem check", "bold"), "  ", first)
    for line in rest:
        header.append("\n")
        header.append(line, style="bold yellow" if line in warnings else "dim")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_edge=False)
    headings = [h for h in check_rows.HEADINGS if h != "class"]
    for i, heading in enumerate(headings):
        table.add_column(heading, justify="left" if i == 0 else "right", no_wrap=True)
    for judged, members in check_rows.by_class(report):
        # The class is a section title rather than a column, so the table fits 80 columns
        # (a CI log's width); the legend below says what each class means.
        table.add_row(Text(judged, style="bold underline"))
        for row in members:
            metric, _judged, *values, verdict = check_rows.cells(row)
            table.add_row(
                metric, *values, Text(verdict, style=_VERDICT_STYLES.get(verdict, "")),
                style="dim" if row.passed is None else None,
            )
    parts: list[RenderableType] = [header, table, Text(check_rows.legend(report), style="dim")]
    parts += [Text(f"note: {line}", style="yellow") for line in check_rows.notes(report)]
    parts += [Text(line, style="bold red" if line.startswith("cause") else "yellow")
              for line in check_rows.cause_lines(report)]
    parts.append(
        Panel(
            Text(report.summary, style="bold"),
            title="Verdict",
            title_align="left",
            border_style="green" if report.passed else "red",
            expand=False,
        )
    )
    return Group(*parts)
