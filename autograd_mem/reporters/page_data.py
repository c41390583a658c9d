"""The report page's data: any report turned into the plain view the page's script draws.

Render only, like every reporter: the figures come from the documents' dataclasses,
and the table's cells are the terminal's own (``rows``, ``check_rows``), so the page
and the terminal cannot disagree. The series go in as they are in the document
(exact bytes and counts, the bounded buckets' highs and lows), each column
delta-encoded: a run of a million iterations keeps 4,096 points per column, and
their differences are short numbers, so the page stays well under a megabyte.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from autograd_mem.analysis.compare import Comparison
from autograd_mem.analysis.regression import CheckReport
from autograd_mem.analysis.target_view import target_view
from autograd_mem.reporters import check_rows, explain, rows
from autograd_mem.reporters.chart import run_name
from autograd_mem.schema.codec import to_plain
from autograd_mem.schema.explain import CycleShape, ExplainReport, SourceLine
from autograd_mem.schema.pytest_session import MeasuredTest, from_dict
from autograd_mem.schema.run import Measurement
from autograd_mem.schema.units import format_bytes, format_count

# A mode keeps the colour the terminal gives it; other labels take the rest in turn.
MODE_COLOURS = {"strong": "red", "weak": "green", "strong/off": "magenta", "weak/off": "cyan"}
COLOURS = ("red", "green", "magenta", "cyan", "orange", "blue")
# Seconds go in as whole microseconds: finer than any sample or pause agmem measures.
MICROSECONDS = 1_000_000


def deltas(column: Sequence[int]) -> list[int]:
    """``[a, b - a, c - b, ...]``: the page adds them back up (``undelta`` in page.js)."""
    out, previous = [], 0
    for value in column:
        out.append(value - previous)
        previous = value
    return out


def _micro(seconds: Sequence[float]) -> list[int]:
    return deltas([round(s * MICROSECONDS) for s in seconds])


def _colours(labels: Sequence[str]) -> list[str]:
    spare = iter([c for c in COLOURS if c not in MODE_COLOURS.values()] + list(COLOURS) * 4)
    return [MODE_COLOURS.get(label) or next(spare) for label in labels]


def _timeline(measurement: Measurement) -> dict[str, Any]:
    timeline = measurement.timeline
    return {
        "iteration": deltas(timeline.iteration),
        "seconds_us": _micro(timeline.seconds),
        "rss_bytes": deltas(timeline.rss_bytes),
        "rss_bytes_min": deltas(timeline.rss_bytes_min),
        "children_rss_bytes": deltas(timeline.children_rss_bytes),
    }


def _live(measurement: Measurement) -> dict[str, Any]:
    record = measurement.per_iteration
    return {
        "iteration": deltas(record.iteration),
        "end_seconds_us": _micro(record.end_seconds),
        "live_variables": deltas(record.live_variables),
        "live_functions": deltas(record.live_functions),
        "live_variables_min": deltas(record.live_variables_min),
        "live_functions_min": deltas(record.live_functions_min),
    }


def _collections(measurement: Measurement) -> dict[str, Any]:
    """One mark per bucket of collections (``GcBuckets``): its oldest generation collected,
    what its collections freed, their pauses (sum and longest) and how many there were."""
    buckets = measurement.gc_buckets
    oldest = [max((g for g, count in enumerate(counts) if count), default=0)
              for counts in buckets.collections]
    return {
        "generation": oldest,
        "collections": [sum(counts) for counts in buckets.collections],
        "collected": deltas(buckets.collected),
        "uncollectable": deltas(buckets.uncollectable),
        "pause_us": [round(p * MICROSECONDS, 1) for p in buckets.pause_seconds_sum],
        "pause_max_us": [round(p * MICROSECONDS, 1) for p in buckets.pause_seconds_max],
        "iteration": deltas(buckets.iteration),
        "seconds_us": _micro(buckets.start_seconds),
        "bucket_us": round(buckets.bucket_seconds * MICROSECONDS, 1),
    }


def _site(site: SourceLine | None) -> str | None:
    return explain.site_text(site) if site is not None else None


def _shape_view(shape: CycleShape, plain: dict[str, Any]) -> dict[str, Any]:
    return {**plain, "path_text": explain.path_text(shape),
            "site_text": _site(shape.allocated_at), "inner_site_text": _site(shape.allocated_in)}


def explain_view(report: ExplainReport | None) -> dict[str, Any] | None:
    """The explain panel: the terminal's sentences, every shape (the terminal lists five),
    what grew and the lines holding most, each with its source line written out."""
    if report is None:
        return None
    plain = to_plain(report)
    waiting = plain.get("waiting") or {}
    return {
        # The other fields as the document holds them: what a later schema adds still shows.
        **plain,
        "summary": explain.summary(report),
        "waiting_text": explain.waiting_text(report),
        "shapes": [_shape_view(s, p) for s, p in zip(report.shapes, plain["shapes"], strict=True)],
        "growth": [{**p, "site_text": _site(g.allocated_at)}
                   for g, p in zip(report.growth, plain["growth"], strict=True)],
        "top_lines": [{**p, "site_text": explain.site_text(SourceLine(t.file, t.line, t.function))}
                      for t, p in zip(report.top_lines, plain["top_lines"], strict=True)],
        "waiting": {**waiting, "shapes": [
            _shape_view(s, p)
            for s, p in zip(report.waiting.shapes, waiting.get("shapes", []), strict=True)]},
    }


def variant(measurement: Measurement, label: str, colour: str) -> dict[str, Any]:
    """One measured variant: what it ran, its series, its collections, its explain report."""
    metrics = measurement.metrics
    program = target_view(measurement.config).runs_once
    return {
        "label": label,
        "colour": colour,
        "program": program,
        "iterations": None if program else measurement.config.iterations,
        "wall_seconds": metrics.wall_seconds,
        "baseline_rss_bytes": metrics.baseline_rss_bytes,
        "peak_rss_bytes": metrics.peak_rss_bytes,
        "generations": list(measurement.environment.gc_generations),
        "timeline": _timeline(measurement),
        "live": _live(measurement),
        "collections": _collections(measurement),
        "explain": explain_view(measurement.explain),
    }


def _table(headings: list[str], sections: list[tuple[str, list[dict[str, Any]]]],
           ratio_from: int | None = None) -> dict[str, Any]:
    return {
        "headings": headings,
        "ratio_from": ratio_from,
        "sections": [{"title": title, "rows": body} for title, body in sections],
    }


def _cell(median: str, spread: str | None) -> str:
    return median if spread is None else f"{median}\n{spread}"


@functools.singledispatch
def view(report: object) -> dict[str, Any]:
    """Any report agmem makes, as the page's data: one entry point for every command."""
    raise TypeError(f"no page for {type(report).__name__}")


@view.register
def _run_view(measurement: Measurement) -> dict[str, Any]:
    sections = [
        (title, [{"title": row.title, "cells": [_cell(*rows.cell_parts(measurement, row))]}
                 for row in body])
        for title, body in (
            ("Memory", rows.memory_rows(measurement)),
            ("Collector", rows.collector_rows(measurement)),
            ("Time", rows.time_rows(measurement)),
            # a program's setup apart from its growth, as the terminal shows it
            ("Setup apart from growth", rows.setup_rows(measurement)),
        )
        if body
    ]
    label = run_name(measurement)
    return {
        "kind": "run",
        "heading": "agmem run",
        "header": [rows.describe_config(measurement), rows.describe_environment(measurement)],
        "verdict": [],
        "passed": None,
        "table": _table(["", "value"], sections),
        "notes": [f"incomplete: {note}" for note in rows.incomplete_notes(measurement)],
        "variants": [variant(measurement, label, _colours([label])[0])],
    }


@view.register
def _comparison_view(comparison: Comparison) -> dict[str, Any]:
    body = [
        {"title": title, "cells": [_cell(*parts) for parts in cells] + ratios}
        for title, cells, ratios in rows.comparison_rows(comparison)
    ]
    headings = ["", *comparison.labels, *rows.ratio_headings(comparison)]
    colours = _colours(comparison.labels)
    return {
        "kind": "comparison",
        "heading": "agmem compare",
        "header": [rows.describe_shared_config(comparison),
                   *rows.describe_environments(comparison)],
        # the terminal's verdict, a program's line on growth after its setup first
        "verdict": comparison.verdict.splitlines(),
        "passed": None,
        "table": _table(headings, [("", body)], ratio_from=1 + len(comparison.labels)),
        "variants": [
            variant(m, label, colour)
            for m, label, colour in zip(comparison.measurements, comparison.labels, colours,
                                        strict=True)
        ],
    }


@view.register
def _check_view(report: CheckReport) -> dict[str, Any]:
    headings = [h for h in check_rows.HEADINGS if h != "class"]
    sections = []
    for judged, members in check_rows.by_class(report):
        body = []
        for row in members:
            metric, _judged, *values, verdict = check_rows.cells(row, percent=True)
            body.append({"title": metric, "cells": [*values, verdict], "verdict": verdict})
        sections.append((judged, body))
    label = run_name(report.measurement)
    return {
        "kind": "check",
        "heading": "agmem check",
        "header": check_rows.header_lines(report),
        "notes": [check_rows.legend(report), *check_rows.notes(report)],
        "verdict": [report.summary],
        "passed": report.passed,
        "table": _table(headings, sections),
        "variants": [variant(report.measurement, label, _colours([label])[0])],
    }


# The pytest page's columns: (key, title, how a value is shown); "numeric" sorts by number.
_TEST_COLUMNS = (
    ("nodeid", "test", None),
    ("peak_growth_bytes", "peak growth", "bytes"),
    ("live_objects", "live objects left", "count"),
    ("collected", "collected", "count"),
    ("collections", "collections", "count"),
    ("cycles", "cycles", "count"),
    ("outcome", "budget", None),
)


def _test_row(test: MeasuredTest) -> dict[str, Any]:
    figures = test.figures
    row: dict[str, Any] = {
        "nodeid": test.nodeid, "marked": test.marked, "mode": test.mode,
        **to_plain(figures), "live_objects": figures.live_objects,
        "exceeded": list(test.exceeded),
    }
    # The budget column: "failed" over a budget (``exceeded`` names which), "passed" for a
    # marked test within its own.
    if test.exceeded:
        row["outcome"] = "failed"
    else:
        row["outcome"] = "passed" if test.marked else "not marked"
    for key, _, unit in _TEST_COLUMNS:
        value = row.get(key)
        if unit == "bytes" and isinstance(value, int):
            row[f"{key}_text"] = format_bytes(value, signed=True)
        elif unit == "count" and isinstance(value, int):
            complete = key != "cycles" or figures.cycles_complete
            row[f"{key}_text"] = format_count(value) + ("" if complete else "+")
    row["shapes"] = [_shape_view(shape, to_plain(shape)) for shape in figures.shapes]
    return row


def pytest_view(document: Mapping[str, Any], header: Sequence[str] = ()) -> dict[str, Any]:
    """The pytest page from a ``pytest --agmem-json`` document: every measured test.

    Read from the document, through its strict reader, so the page shows what the
    JSON holds.
    """
    tests = [_test_row(test) for test in from_dict(document).tests]
    return {
        "kind": "pytest",
        "heading": "pytest --agmem",
        "header": list(header),
        "verdict": [],
        "passed": None,
        "variants": [],
        "tests": tests,
        "test_columns": [
            {"key": key, "title": title, "numeric": unit is not None}
            for key, title, unit in _TEST_COLUMNS
        ],
    }
