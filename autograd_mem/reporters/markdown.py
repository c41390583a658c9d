"""Markdown reports (for a pull request comment or a notebook): the same rows as the table."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from autograd_mem.analysis.compare import Comparison
from autograd_mem.analysis.regression import CheckReport
from autograd_mem.reporters import check_rows, explain, rows
from autograd_mem.reporters.chart import chart_title, render_timelines
from autograd_mem.schema.run import Measurement

CHART_WIDTH = 60


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(headings: list[str], body: list[list[str]], align: list[str]) -> list[str]:
    lines = ["| " + " | ".join(_escape(h) for h in headings) + " |"]
    lines.append("|" + "|".join("---:" if a == "right" else "---" for a in align) + "|")
    lines += ["| " + " | ".join(_escape(c) for c in line) + " |" for line in body]
    return lines


def _chart(measurements: list[Measurement], labels: Sequence[str] | None = None) -> list[str]:
    chart = render_timelines(measurements, width=CHART_WIDTH, labels=labels)
    return ["```text", chart.plain, "```"]


def _explain(measurement: Measurement, heading: str) -> list[str]:
    report = measurement.explain
    if report is None:
        return []
    return ["", f"### {heading}", "", explain.markdown(report).rstrip("\n")]


@functools.singledispatch
def render(report: object) -> str:
    """Any report agmem makes, as Markdown: one entry point for every command."""
    raise TypeError(f"no Markdown report for {type(report).__name__}")


@render.register
def render_run(measurement: Measurement) -> str:
    """One mode's report as Markdown."""
    lines = [
        f"## agmem run: {rows.describe_config(measurement)}",
        "",
        f"_{rows.describe_environment(measurement)}_",
        "",
    ]
    notes = rows.incomplete_notes(measurement)
    lines += [f"> **Incomplete:** {_escape(note)}" for note in notes] + ([""] if notes else [])
    shown = rows.all_rows(measurement) + rows.setup_rows(measurement)
    body = [[row.title, rows.cell(measurement, row)] for row in shown]
    lines += _table(["Metric", "Value"], body, ["left", "right"])
    lines += ["", f"### {chart_title([measurement])}", "", *_chart([measurement])]
    lines += _explain(measurement, "What the collector found (--explain)")
    return "\n".join(lines) + "\n"


@render.register
def render_comparison(comparison: Comparison) -> str:
    """The side-by-side comparison as Markdown, verdict first."""
    lines = [
        f"## agmem compare: {rows.describe_shared_config(comparison)}",
        "",
        *[f"_{line}_" for line in rows.describe_environments(comparison)],
        "",
        *[f"**Verdict:** {line}" for line in comparison.verdict.splitlines()],
        "",
    ]
    headings = ["Metric", *comparison.labels, *rows.ratio_headings(comparison)]
    body = [
        [title, *[median if spread is None else f"{median} {spread}" for median, spread in cells],
         *ratios]
        for title, cells, ratios in rows.comparison_rows(comparison)
    ]
    lines += _table(headings, body, ["left"] + ["right"] * (len(headings) - 1))
    lines += ["", f"### {chart_title(comparison.measurements)}", ""]
    lines += _chart(list(comparison.measurements), comparison.labels)
    for label, m in zip(comparison.labels, comparison.measurements, strict=True):
        lines += _explain(m, f"What the collector found in {comparison.variant_name(label)}")
    return "\n".join(lines) + "\n"


@render.register
def render_check(report: CheckReport) -> str:
    """The check as a pull-request comment: verdict first, then every metric."""
    first, *rest = check_rows.header_lines(report)
    warnings = set(check_rows.environment_warnings(report))
    mark = "✅" if report.passed else "❌"
    lines = [f"## agmem check {mark} {report.summary}", "", f"_{first}_", ""]
    for line in rest:
        lines += [f"> **Warning:** {line}" if line in warnings else f"- {line}", ""]
    body = [
        check_rows.cells(row, percent=True)
        for _judged, members in check_rows.by_class(report)
        for row in members
    ]
    lines += _table(check_rows.HEADINGS, body, ["left", "left"] + ["right"] * 5)
    lines += ["", *[f"- note: {line}" for line in check_rows.notes(report)]]
    lines += [f"- {line}" for line in check_rows.cause_lines(report)]
    lines += [f"_{check_rows.legend(report)}_"]
    return "\n".join(lines) + "\n"
