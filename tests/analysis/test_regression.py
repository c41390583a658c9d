"""The regression verdict: each metric judged by its class, environments and budgets."""

from __future__ import annotations

import dataclasses
import json

import pytest

from autograd_mem.analysis.regression import (
    BUDGET,
    EXACT,
    INFO,
    TOLERANCE,
    Limits,
    check,
    to_document,
)
from autograd_mem.errors import ResultFormatError
from autograd_mem.schema import baseline as baseline_file
from autograd_mem.schema import check as check_document
from autograd_mem.schema.codec import check_schema
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Environment, Measurement, Metrics, RunResult

MiB = 1024**2

ENV = Environment(
    python_version="3.11.9",
    python_implementation="CPython",
    numpy_version="2.1.0",
    platform="Linux-x86_64",
    gc_generations=("0", "1", "2"),
    gc_layout="generational",
    gc_threshold=(700, 10, 10),
)


def metrics(**changes: object) -> Metrics:
    """A weak-mode seed run's figures, with ``changes`` applied."""
    values: dict[str, object] = dict(
        baseline_rss_bytes=40 * MiB,
        peak_rss_bytes=41 * MiB,
        peak_rss_growth_bytes=1 * MiB,
        end_rss_bytes=41 * MiB,
        floor_bytes=640_000,
        live_variables_end=4,
        live_functions_end=3,
        max_live_variables=8,
        max_live_functions=6,
        gc_collections=(12, 1, 0),
        gc_collected_per_generation=(0, 0, 0),
        gc_uncollectable_per_generation=(0, 0, 0),
        gc_collected=0,
        gc_uncollectable=0,
        gc_pause_seconds=0.001,
        gc_max_pause_seconds=0.0002,
        wall_seconds=0.05,
        seconds_per_iteration=0.00005,
    )
    values.update(changes)
    return Metrics(**values)  # type: ignore[arg-type]


def measurement(*runs: Metrics, env: Environment = ENV, **config: object) -> Measurement:
    return Measurement(
        config=RunConfig(**config),  # type: ignore[arg-type]
        environment=env,
        runs=tuple(RunResult(metrics=m) for m in (runs or (metrics(),))),
    )


def saved(*runs: Metrics, **config: object) -> baseline_file.Baseline:
    return baseline_file.from_measurement(measurement(*runs, **config))


def row(report, metric: str, judged: str | None = None):
    matches = [r for r in report.rows if r.metric == metric and judged in (None, r.judged)]
    assert len(matches) == 1, [r.metric for r in report.rows]
    return matches[0]


def test_the_same_figures_pass_and_every_row_names_its_class() -> None:
    # given a baseline and a new measurement with identical figures
    report = check(measurement(), saved(), Limits())
    # then every gated metric holds, the exit code is 0, and each row has a known class
    assert report.passed and report.exit_code == 0
    assert {r.judged for r in report.rows} == {EXACT, TOLERANCE, INFO}
    assert row(report, "live_variables_end").judged == EXACT
    assert row(report, "gc_collections[0]").judged == EXACT
    assert row(report, "peak_rss_growth_bytes").judged == TOLERANCE
    assert row(report, "wall_seconds").judged == INFO
    assert report.summary.startswith("PASS")


def test_one_more_live_object_is_a_regression() -> None:
    # given one Variable and one collection more than the baseline
    now = measurement(metrics(live_variables_end=5, gc_collections=(13, 1, 0)))
    report = check(now, saved(), Limits())
    # then both fail exactly, with exit code 1, and the summary names them
    assert report.exit_code == 1
    assert [r.metric for r in report.failures] == ["live_variables_end", "gc_collections[0]"]
    assert row(report, "live_variables_end").verdict == "regressed"
    assert row(report, "live_variables_end").change == 1
    assert report.summary == "FAIL: 2 metrics regressed: live_variables_end, gc_collections[0]"


def test_fewer_objects_pass_as_improved() -> None:
    report = check(measurement(metrics(live_variables_end=2)), saved(), Limits())
    assert report.passed
    assert row(report, "live_variables_end").verdict == "improved"


def test_rss_growth_must_exceed_both_the_relative_and_the_absolute_margin() -> None:
    # given a 10 MiB peak growth baseline: 10% is 1 MiB, the same as --min-delta
    base = saved(metrics(peak_rss_growth_bytes=10 * MiB))
    limits = Limits(tolerance=0.10, min_delta_bytes=2 * MiB)
    # when the growth rises by 1.5 MiB (over 10%, under the 2 MiB min-delta) it holds
    ok = check(measurement(metrics(peak_rss_growth_bytes=int(11.5 * MiB))), base, limits)
    assert row(ok, "peak_rss_growth_bytes").passed
    # when it rises by 2.5 MiB (over both) it fails
    bad = check(measurement(metrics(peak_rss_growth_bytes=int(12.5 * MiB))), base, limits)
    assert row(bad, "peak_rss_growth_bytes").verdict == "regressed"
    assert row(bad, "peak_rss_growth_bytes").limit == 12 * MiB


def test_the_limit_starts_from_the_baselines_largest_run_and_its_spread() -> None:
    # given three baseline runs of peak growth 10, 10.5 and 14 MiB (a noisy machine)
    base = saved(*(metrics(peak_rss_growth_bytes=int(m * MiB)) for m in (10, 10.5, 14)))
    report = check(measurement(metrics(peak_rss_growth_bytes=int(17.5 * MiB))), base, Limits())
    growth = row(report, "peak_rss_growth_bytes")
    # then the limit is the largest run plus the widest margin: the 4 MiB spread
    assert growth.baseline == int(10.5 * MiB)
    assert growth.limit == 14 * MiB + 4 * MiB
    assert growth.passed


def test_wall_time_is_reported_but_gated_only_with_max_slowdown() -> None:
    slow = measurement(metrics(wall_seconds=0.5))
    assert row(check(slow, saved(), Limits()), "wall_seconds").verdict == "info"
    gated = row(check(slow, saved(), Limits(max_slowdown=1.5)), "wall_seconds")
    assert gated.judged == TOLERANCE and gated.verdict == "regressed"
    assert gated.limit == pytest.approx(0.075)


def test_exact_metrics_allow_the_largest_value_the_baseline_runs_saw() -> None:
    # given a baseline whose two runs disagreed on a "deterministic" count
    base = saved(metrics(gc_collected=10), metrics(gc_collected=12))
    report = check(measurement(metrics(gc_collected=12)), base, Limits())
    collected = row(report, "gc_collected")
    # then the largest is the limit, and the row says the runs disagreed
    assert collected.passed and collected.limit == 12
    assert collected.note == "baseline runs disagreed"


def test_another_python_minor_version_reports_exact_metrics_without_gating_them() -> None:
    other = dataclasses.replace(ENV, python_version="3.13.0", gc_threshold=(2000, 10, 10))
    # given a new run under another Python, with more live objects and more collected
    now = measurement(metrics(gc_collected=105, live_variables_end=9), env=other)
    report = check(now, saved(metrics(gc_collected=100)), Limits())
    # then every difference is named...
    assert "Python CPython 3.11.9 → CPython 3.13.0" in report.differences
    assert "collector thresholds (700, 10, 10) → (2000, 10, 10)" in report.differences
    # ...the exact counts are shown but not gated, said once in one line...
    for name in ("gc_collected", "live_variables_end"):
        assert row(report, name).judged == INFO
        assert row(report, name).note.startswith("not gated")
    assert report.not_gated == (
        "exact metrics are shown, not gated: Python 3.11 → 3.13; another collector layout"
    )
    # ...and the portable bytes still are
    assert row(report, "peak_rss_growth_bytes").judged == TOLERANCE
    assert report.passed


def test_a_patch_release_is_named_and_a_real_leak_still_fails() -> None:
    other = dataclasses.replace(ENV, python_version="3.11.4")
    report = check(measurement(metrics(live_variables_end=800), env=other), saved(), Limits())
    assert report.differences == ("Python CPython 3.11.9 → CPython 3.11.4",)
    assert [r.metric for r in report.failures] == ["live_variables_end"]


def test_another_engine_revision_stops_exact_gating_and_names_every_difference() -> None:
    # given a baseline saved by another engine revision and older agmem, with other numpy
    base = dataclasses.replace(saved(), engine_revision="aaaaaaaaaaaa", tool_version="0.0.1")
    now = measurement(metrics(live_variables_end=447),
                      env=dataclasses.replace(ENV, numpy_version="2.5.5"))
    report = check(now, base, Limits(), engine_revision="bbbbbbbbbbbb")
    # then each difference is named, and the engine's exact counts are not gated
    assert report.differences == (
        "agmem 0.0.1 → 0.1.0",
        "engine revision aaaaaaaaaaaa → bbbbbbbbbbbb",
        "numpy 2.1.0 → 2.5.5",
    )
    assert row(report, "live_variables_end").judged == INFO
    assert "engine revision aaaaaaaaaaaa → bbbbbbbbbbbb" in report.not_gated
    assert report.passed
    # while the same revision gates them exactly
    same = check(now, base, Limits(), engine_revision="aaaaaaaaaaaa")
    assert [r.metric for r in same.failures] == ["live_variables_end"]


def test_budgets_judge_without_a_baseline() -> None:
    # given a strong-mode run that left objects and made the collector work
    now = measurement(
        metrics(live_variables_end=40, live_functions_end=30, gc_collected=7,
                peak_rss_growth_bytes=60 * MiB)
    )
    limits = Limits(max_peak_rss_growth_bytes=50 * MiB, max_live_objects=0, max_collected=0)
    report = check(now, None, limits)
    # then each budget fails with the measured value against the limit
    assert {(r.metric, r.now, r.limit) for r in report.failures} == {
        ("peak_rss_growth_bytes", 60 * MiB, 50 * MiB),
        ("live_objects_end", 70, 0),
        ("gc_collected", 7, 0),
    }
    assert all(r.judged == BUDGET and r.verdict == "over budget" for r in report.failures)
    assert report.summary == (
        "FAIL: 3 metrics over budget: peak_rss_growth_bytes, live_objects_end, gc_collected"
    )
    # and the other figures are shown for context only
    assert row(report, "wall_seconds").verdict == "info"


def test_budgets_within_limits_pass() -> None:
    limits = Limits(max_peak_rss_growth_bytes=50 * MiB, max_live_objects=10, max_collected=0)
    assert check(measurement(), None, limits).passed


def test_config_overrides_are_listed() -> None:
    report = check(measurement(mode="strong"), saved(mode="weak"), Limits())
    assert report.config_differences == ("mode 'weak' → 'strong'",)


def test_metrics_measured_on_one_side_only_are_info() -> None:
    now = measurement(metrics(tracemalloc_peak_bytes=5 * MiB, tracemalloc_current_bytes=MiB))
    report = check(now, saved(), Limits())
    assert row(report, "tracemalloc_peak_bytes").verdict == "info"
    assert row(report, "tracemalloc_peak_bytes").note == "not measured in the baseline"


def test_check_json_is_a_versioned_document_read_back_by_its_strict_reader() -> None:
    report = check(measurement(metrics(live_functions_end=9)), saved(), Limits(max_collected=0))
    document = json.loads(json.dumps(check_document.to_dict(to_document(report))))
    check_schema(document, "check")
    assert document["passed"] is False and document["exit_code"] == 1
    assert document["regressed"] == ["live_functions_end"]
    assert len(document["rows"]) == len(report.rows)
    first = document["rows"][0]
    assert set(first) == {"metric", "unit", "class", "baseline", "now", "change", "limit",
                          "verdict", "note"}
    # read back, it is the same document
    assert check_document.from_dict(document) == to_document(report)
    # and a verdict edited by hand, or an unknown key, is refused
    for edit in ({"passed": True}, {"surprise": 1}):
        with pytest.raises(ResultFormatError):
            check_document.from_dict({**document, **edit})
    edited_row = {**document["rows"][0], "verdict": "regressed"}
    with pytest.raises(ResultFormatError):
        check_document.from_dict({**document, "rows": [edited_row, *document["rows"][1:]]})


def test_tracemalloc_peak_is_exact_for_built_in_workloads() -> None:
    # given a seed baseline traced by tracemalloc, and a run 67 bytes above it
    base = saved(metrics(tracemalloc_peak_bytes=643_216, tracemalloc_current_bytes=321_904))
    now = measurement(metrics(tracemalloc_peak_bytes=643_283, tracemalloc_current_bytes=321_904))
    report = check(now, base, Limits())
    # then the built-in workload's peak is judged exactly, and 67 bytes fail it
    assert row(report, "tracemalloc_peak_bytes").judged == EXACT
    assert [r.metric for r in report.failures] == ["tracemalloc_peak_bytes"]


def test_tracemalloc_peak_of_a_user_workload_is_judged_with_the_tolerance() -> None:
    # given the same figures for a user workload, whose peak varies by a few dozen bytes
    traced = {"workload": "my_pkg.train:step"}
    base = saved(metrics(tracemalloc_peak_bytes=643_216, tracemalloc_current_bytes=1), **traced)
    small = measurement(
        metrics(tracemalloc_peak_bytes=643_283, tracemalloc_current_bytes=1), **traced
    )
    large = measurement(
        metrics(tracemalloc_peak_bytes=643_216 + 2 * MiB, tracemalloc_current_bytes=1), **traced
    )
    # then 67 bytes pass under the tolerance, with a note saying why, and 2 MiB still fail
    small_row = row(check(small, base, Limits()), "tracemalloc_peak_bytes")
    assert (small_row.judged, small_row.passed) == (TOLERANCE, True)
    assert "user workload" in small_row.note
    assert row(check(large, base, Limits()), "tracemalloc_peak_bytes").passed is False


PROGRAM = {"program": ("job.py",)}


def test_a_programs_collector_counts_are_shown_and_gated_only_on_request() -> None:
    # given a program whose baseline runs collected 131 and 133 objects in 284-285 collections
    base = saved(metrics(gc_collected=131, gc_collections=(284, 1, 0)),
                 metrics(gc_collected=133, gc_collections=(285, 1, 0)), **PROGRAM)
    # when an argparse option makes it 137 objects in 288 collections
    now = measurement(metrics(gc_collected=137, gc_collections=(288, 1, 0)), **PROGRAM)
    report = check(now, base, Limits())
    # then the counts are info, and the check passes
    assert row(report, "gc_collected").judged == INFO
    assert row(report, "gc_collections[0]").judged == INFO
    assert report.passed
    # with --gate-collector they are judged against the spread plus the 10% tolerance
    gated = check(now, base, Limits(gate_collector=True))
    collected = row(gated, "gc_collected")
    assert collected.judged == TOLERANCE
    assert collected.limit == 133 + 2 + 14  # largest run + spread + ceil(10% of 131)
    assert gated.passed
    doubled = measurement(metrics(gc_collected=262, gc_collections=(288, 1, 0)), **PROGRAM)
    assert [r.metric for r in check(doubled, base, Limits(gate_collector=True)).failures] == [
        "gc_collected"
    ]


def test_retained_memory_is_judged_against_the_peak_growth() -> None:
    # given a program with 40 MiB of peak growth that keeps 50 KiB at the end
    base = saved(metrics(peak_rss_growth_bytes=40 * MiB, retained_bytes=50 * 1024), **PROGRAM)
    limits = Limits()  # 2.5% of the peak growth (1 MiB) or --min-delta (1 MiB)
    # when 1% more input keeps 0.4 MiB more, it passes; a 2 MiB leak fails
    ok = measurement(metrics(peak_rss_growth_bytes=40 * MiB, retained_bytes=450 * 1024),
                     **PROGRAM)
    leak = measurement(metrics(peak_rss_growth_bytes=40 * MiB, retained_bytes=2 * MiB + 50 * 1024),
                       **PROGRAM)
    assert row(check(ok, base, limits), "retained_bytes").passed
    failed = row(check(leak, base, limits), "retained_bytes")
    assert failed.verdict == "regressed" and failed.limit == 50 * 1024 + MiB
    # and for a program of 400 MiB peak growth the margin is 2.5% of it: 10 MiB
    big = saved(metrics(peak_rss_growth_bytes=400 * MiB, retained_bytes=300 * MiB), **PROGRAM)
    more = measurement(metrics(peak_rss_growth_bytes=404 * MiB, retained_bytes=303 * MiB),
                       **PROGRAM)
    assert row(check(more, big, limits), "retained_bytes").limit == 310 * MiB


def test_a_programs_rss_figures_are_info_but_its_peak_growth_is_gated() -> None:
    report = check(measurement(**PROGRAM), saved(**PROGRAM), Limits())
    assert row(report, "peak_rss_bytes").judged == INFO
    assert row(report, "end_rss_bytes").judged == INFO
    assert row(report, "peak_rss_growth_bytes").judged == TOLERANCE
    assert row(report, "live_variables_end").judged == EXACT
