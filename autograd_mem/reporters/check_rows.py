"""The cells and sentences of an ``agmem check`` report, shared by its table and Markdown."""

from __future__ import annotations

from autograd_mem.analysis.regression import (
    BUDGET,
    CLASSES,
    EXACT,
    INFO,
    TOLERANCE,
    CheckReport,
    MetricCheck,
)
from autograd_mem.reporters.rows import describe_config
from autograd_mem.schema.units import format_bytes, format_count, format_seconds

HEADINGS = ["metric", "class", "baseline", "now", "change", "limit", "verdict"]


def _value(value: float | None, unit: str, *, signed: bool = False) -> str:
    if value is None:
        return "–"
    if unit == "bytes":
        return format_bytes(value, signed=signed)
    if unit == "seconds":
        text = format_seconds(value)
        return f"+{text}" if signed and value > 0 else text
    return format_count(value, signed=signed)


def cells(row: MetricCheck, *, percent: bool = False) -> list[str]:
    """One row's cells: sizes in KiB/MiB, counts with separators, signed change.

    ``percent`` adds the relative change; the terminal table leaves it out to fit
    in 80 columns (a CI log's width).
    """
    change = row.change
    change_text = _value(change, row.unit, signed=True)
    if percent and change and row.baseline:
        change_text += f" ({change / row.baseline:+.1%})"
    limit = "–" if row.limit is None else f"≤ {_value(row.limit, row.unit)}"
    return [row.metric, row.judged, _value(row.baseline, row.unit), _value(row.now, row.unit),
            change_text, limit, row.verdict]


def class_descriptions(report: CheckReport) -> dict[str, str]:
    """What each class means with this check's own limits."""
    limits = report.limits
    tolerance = (
        f"fails when growth > {limits.tolerance:.0%} of baseline "
        f"and > {format_bytes(limits.min_delta_bytes)}"
    )
    if limits.max_slowdown is not None:
        tolerance += f"; wall time ≤ {limits.max_slowdown:g}× baseline"
    return {
        EXACT: "deterministic, must not grow",
        TOLERANCE: tolerance,
        BUDGET: "absolute limits",
        INFO: "shown, not gated",
    }


def legend(report: CheckReport) -> str:
    return " · ".join(f"{name}: {text}" for name, text in class_descriptions(report).items())


def notes(report: CheckReport) -> list[str]:
    """Per-row remarks worth a line, beyond what the environment warning already says."""
    return [
        f"{row.metric}: {row.note}"
        for row in report.rows
        if row.note and "environment differs" not in row.note
    ]


def header_lines(report: CheckReport) -> list[str]:
    """The checked configuration, the baseline, and every difference said plainly."""
    lines = [describe_config(report.measurement)]
    if report.baseline_path is None:
        lines.append("no baseline: absolute budgets only")
    else:
        runs = report.baseline_runs or 0
        lines.append(f"baseline {report.baseline_path} ({runs} run{'s' if runs != 1 else ''})")
    lines += environment_warnings(report)
    if report.config_differences:
        lines.append("configuration overridden: " + ", ".join(report.config_differences))
    return lines


def environment_warnings(report: CheckReport) -> list[str]:
    """The plain-words line about another interpreter, or nothing."""
    if not report.environment_differences:
        return []
    return [
        "environment differs from the baseline's ("
        + "; ".join(report.environment_differences)
        + "): deterministic metrics are compared with the tolerance, not exactly"
    ]


def by_class(report: CheckReport) -> list[tuple[str, list[MetricCheck]]]:
    """The rows grouped by class, strictest first, in report order within each."""
    groups = [(name, [row for row in report.rows if row.judged == name]) for name in CLASSES]
    return [(name, rows) for name, rows in groups if rows]
