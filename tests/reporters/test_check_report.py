"""The check report rendered: a table that fits a CI log's 80 columns, and Markdown for a PR."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from autograd_mem.analysis.regression import Limits, check
from autograd_mem.reporters.markdown import render_check as markdown_check
from autograd_mem.reporters.table import render_check as table_check
from autograd_mem.schema import baseline as baseline_file
from reporters.factory import ENVIRONMENT, MiB, make_measurement


def render(renderable: object, width: int = 80) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(renderable)
    return buffer.getvalue()


def leaky_report():
    """A strong-mode rerun of a weak-mode baseline, under a live-objects budget too."""
    saved = baseline_file.from_measurement(make_measurement("weak"))
    now = make_measurement("strong", peak_growth_bytes=40 * MiB, collected=12_792,
                           live_variables_end=800)
    return check(now, saved, Limits(max_live_objects=0), baseline_path="base.json")


def test_the_table_fits_80_columns_with_every_figure_whole() -> None:
    text = render(table_check(leaky_report()))
    # nothing was cut short to fit: no ellipsis, no line over 80 columns
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # each class is a section, each row has its figures in human units
    for section in ("exact", "tolerance", "budget", "info"):
        assert f"\n {section} " in text or f"\n{section} " in text
    assert "live_variables_end" in text and "800" in text and "regressed" in text
    assert "live_objects_end" in text and "over budget" in text
    assert "40.0 MiB" in text and "12,792" in text
    assert "configuration overridden: mode 'weak' → 'strong'" in text
    assert "FAIL: " in text


def test_another_interpreter_is_said_in_the_table_and_the_markdown() -> None:
    saved = baseline_file.from_measurement(make_measurement("weak"))
    other = dataclasses.replace(
        make_measurement("weak"),
        environment=dataclasses.replace(ENVIRONMENT, python_version="3.13.0"),
    )
    report = check(other, saved, Limits(), baseline_path="base.json")
    difference = "differs from the baseline: Python CPython 3.11.7 → CPython 3.13.0"
    not_gated = "exact metrics are shown, not gated: Python 3.11 → 3.13"
    table = " ".join(render(table_check(report), width=200).split())
    for sentence in (difference, not_gated):
        assert sentence in table
        assert f"> **Warning:** {sentence}" in markdown_check(report)


def test_markdown_leads_with_the_verdict_and_lists_every_row() -> None:
    report = leaky_report()
    text = markdown_check(report)
    assert text.startswith("## agmem check ❌ FAIL: ")
    table_lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table_lines) == 1 + len(report.rows)  # heading + one line per row
    assert "| live_variables_end | exact | 4 | 800 | +796 (+19900.0%) | ≤ 4 | regressed |" in text


def test_no_pause_reads_0_s_as_in_the_run_report() -> None:
    # given a weak-mode rerun of a weak-mode baseline, where the collector never ran
    still = make_measurement("weak", collections=(0, 0, 0))
    saved = baseline_file.from_measurement(still)
    report = check(still, saved, Limits(), baseline_path="base.json")

    text = render(table_check(report))

    # then its pauses read "0 s", as `agmem run` prints them, not a precise-looking "0.0 µs"
    pause = next(line for line in text.splitlines() if "gc_pause_seconds" in line)
    assert pause.split()[1:4] == ["0", "s", "0"]
    assert "µs" not in pause
