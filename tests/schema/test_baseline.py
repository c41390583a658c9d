"""The baseline file: round trip, atomic save, and every broken file as one BaselineError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograd_mem.errors import BaselineError, ExitCode
from autograd_mem.schema import baseline as baseline_file
from autograd_mem.schema import saved as saved_file
from autograd_mem.schema.codec import SCHEMA_VERSION, dumps
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import (
    Environment,
    Measurement,
    Metrics,
    RunResult,
    measurement_to_dict,
)

ENV = Environment("3.11.9", "CPython", "2.1.0", "Linux", ("0", "1", "2"), "generational",
                  (700, 10, 10))


def run_metrics(peak_growth: int) -> Metrics:
    return Metrics(
        baseline_rss_bytes=40_000_000, peak_rss_bytes=40_000_000 + peak_growth,
        peak_rss_growth_bytes=peak_growth, end_rss_bytes=40_500_000, floor_bytes=None,
        live_variables_end=4, live_functions_end=3, max_live_variables=8,
        max_live_functions=6, gc_collections=(10, 0, 0), gc_collected_per_generation=(0, 0, 0),
        gc_uncollectable_per_generation=(0, 0, 0), gc_collected=0, gc_uncollectable=0,
        gc_pause_seconds=0.001, gc_max_pause_seconds=0.0001, wall_seconds=0.1,
        seconds_per_iteration=0.0001,
    )


def three_runs() -> Measurement:
    return Measurement(
        config=RunConfig(mode="weak", repeat=3),
        environment=ENV,
        runs=tuple(RunResult(metrics=run_metrics(g)) for g in (3_000_000, 1_000_000, 2_000_000)),
    )


@pytest.fixture
def saved_path(tmp_path: Path) -> Path:
    path = tmp_path / "base.json"
    baseline_file.save(path, baseline_file.from_measurement(three_runs()))
    return path


def test_a_saved_baseline_loads_back_with_median_and_spread(saved_path: Path) -> None:
    # when a baseline of three runs is saved and loaded
    loaded = saved_file.read_baseline(saved_path)
    # then it keeps the configuration, the environment, the median and the min–max
    assert loaded == baseline_file.from_measurement(three_runs(), created_at=loaded.created_at)
    assert loaded.metrics.peak_rss_growth_bytes == 2_000_000
    assert loaded.metrics_min.peak_rss_growth_bytes == 1_000_000
    assert loaded.metrics_max.peak_rss_growth_bytes == 3_000_000
    assert loaded.runs == 3
    document = json.loads(saved_path.read_text())
    assert document["kind"] == "baseline" and document["schema_version"] == SCHEMA_VERSION
    # and no temporary file is left beside it
    assert [p.name for p in saved_path.parent.iterdir()] == ["base.json"]


def load_error(path: Path) -> str:
    with pytest.raises(BaselineError) as caught:
        saved_file.read_baseline(path)
    assert caught.value.exit_code == ExitCode.USAGE
    message = caught.value.message
    assert "\n" not in message
    return message


def test_a_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nope.json")
    assert message.startswith("baseline file not found:") and "agmem baseline save" in message


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    assert "cannot read baseline" in load_error(tmp_path)


def test_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    assert load_error(empty).endswith("is empty")


@pytest.mark.parametrize("kept", [0.1, 0.33, 0.5, 0.77, 0.999])
def test_a_truncated_file_is_named_truncated(saved_path: Path, kept: float) -> None:
    # given a baseline cut short anywhere (inside a string, a number, between keys)
    text = saved_path.read_text()
    saved_path.write_text(text[: int(len(text) * kept)])
    # then the message says truncated, not merely corrupt
    assert "is truncated" in load_error(saved_path)


def test_a_corrupt_file_is_named_corrupt(saved_path: Path) -> None:
    saved_path.write_text('{"schema_version": 1, oops}')
    assert "is corrupt: not valid JSON" in load_error(saved_path)
    saved_path.write_bytes(b"\xff\xfe\x00garbage")
    assert "is corrupt: not UTF-8" in load_error(saved_path)


def test_a_future_schema_names_both_versions(saved_path: Path) -> None:
    document = json.loads(saved_path.read_text())
    document["schema_version"] = SCHEMA_VERSION + 1
    saved_path.write_text(json.dumps(document))
    message = load_error(saved_path)
    assert f"schema_version {SCHEMA_VERSION + 1}" in message
    assert f"reads schema_version {SCHEMA_VERSION}" in message
    assert "newer agmem" in message


def test_a_run_result_is_not_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(dumps(measurement_to_dict(three_runs())))
    assert "a 'run' document by its 'kind', not a baseline" in load_error(path)


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("metrics", "live_variables_end", "four",
         "metrics.live_variables_end must be a count of 0 or more, got 'four'"),
        ("metrics", "gc_collections", [1, None, 0],
         "metrics.gc_collections[1] must be a count of 0 or more, got None"),
        ("config", "size", "big", "config.size must be a positive integer, got 'big'"),
        ("metrics_max", "unknown_metric", 1, "unknown keys"),
    ],
)
def test_ill_typed_figures_are_refused(
    saved_path: Path, section: str, key: str, value: object, expected: str
) -> None:
    document = json.loads(saved_path.read_text())
    document[section][key] = value
    saved_path.write_text(json.dumps(document))
    assert expected in load_error(saved_path)


def test_a_missing_metric_is_refused(saved_path: Path) -> None:
    document = json.loads(saved_path.read_text())
    del document["metrics"]["gc_collected"]
    saved_path.write_text(json.dumps(document))
    assert "missing key 'gc_collected'" in load_error(saved_path)


def test_saving_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="cannot write baseline"):
        baseline_file.save(tmp_path / "no" / "base.json",
                           baseline_file.from_measurement(three_runs()))
