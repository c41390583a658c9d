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
    delta = format_bytes(limits.min_delta_bytes)
    tolerance = (
        f"fails past the baseline's largest run + {limits.tolerance:.0%} or {delta} or its "
        f"spread; retained: + {limits.retained_tolerance:.1%} of peak growth or {delta}"
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
    """Per-row remarks worth a line, beyond what the provenance line already says."""
    return [
        f"{row.metric}: {row.note}"
        for row in report.rows
        if row.note and not row.note.startswith("not gated")
    ]


def header_lines(report: CheckReport) -> list[str]:
    """The checked configuration, the baseline and where it came from, every difference."""
    lines = [describe_config(report.measurement)]
    saved = report.baseline
    if saved is None:
        lines.append("no baseline: absolute budgets only")
    else:
        runs = saved.runs
        lines.append(
            f"baseline {report.baseline_path} ({runs} run{'s' if runs != 1 else ''}, saved "
            f"{saved.created_at} by agmem {saved.tool_version}, engine {saved.engine_revision})"
        )
    lines += environment_warnings(report)
    if report.config_differences:
        lines.append("configuration overridden: " + ", ".join(report.config_differences))
    return lines


def environment_warnings(report: CheckReport) -> list[str]:
    """Every difference from the baseline's provenance, and what is not gated because of it."""
    lines = []
    if report.differences:
        lines.append("differs from the baseline: " + "; ".join(report.differences))
    if report.not_gated:
        lines.append(report.not_gated)
    return lines


def cause_lines(report: CheckReport) -> list[str]:
    """The causes the forensics found, one line each, and what was done to find them."""
    lines = [report.forensics] if report.forensics else []
    for cause in report.causes:
        size = format_bytes(cause.bytes, signed=True)
        where = f" at {cause.line}" if cause.line else ""
        detail = f" ({cause.detail})" if cause.detail else ""
        lines.append(f"cause: {cause.kind} {cause.what}: {size}{where}{detail}")
    return lines


def by_class(report: CheckReport) -> list[tuple[str, list[MetricCheck]]]:
    """The rows grouped by class, strictest first, in report order within each."""
    groups = [(name, [row for row in report.rows if row.judged == name]) for name in CLASSES]
    return [(name, rows) for name, rows in groups if rows]
