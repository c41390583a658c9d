"""Round-trip of a real measurement through result.py's versioned JSON."""

from __future__ import annotations

import json

import pytest

from autograd_mem.measure import runner, series
from autograd_mem.schema.codec import dumps
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import measurement_from_dict, measurement_to_dict


@pytest.fixture(scope="module")
def measured():
    # strong/auto with explain and two repeats: every optional part of the document is filled
    # (400 iterations: enough tracked objects for a collection in the window at 3.13's
    # threshold0 of 2,000, where 150 left all the garbage waiting)
    config = RunConfig(mode="strong", iterations=400, size=2_000, repeat=2, explain=True)
    return runner.measure(config)


def test_a_measurement_survives_json_unchanged(measured):
    text = dumps(measurement_to_dict(measured))
    assert measurement_from_dict(json.loads(text)) == measured


def test_the_document_has_the_issue_keys(measured):
    document = json.loads(dumps(measurement_to_dict(measured)))
    assert {
        "schema_version",
        "tool",
        "environment",
        "config",
        "metrics",
        "timeline",
        "gc_buckets",
        "gc_longest_pauses",
    } <= set(document)
    assert document["environment"]["gc_generations"] == list(measured.environment.gc_generations)
    assert len(document["metrics"]["gc_collections"]) == len(measured.environment.gc_generations)
    assert set(document["timeline"]) == {
        "seconds", "rss_bytes", "iteration", "rss_bytes_min", "children_rss_bytes"
    }
    assert document["timeline"]["children_rss_bytes"] == []  # a workload: no process tree
    assert document["explain"]["garbage_by_type"]["Variable"] > 0
    assert len(document["runs"]) == 2


def test_the_representative_series_are_stored_once(measured):
    document = json.loads(dumps(measurement_to_dict(measured)))
    # the top level holds the representative run's series ...
    representative = [run for run in document["runs"] if run.get("representative")]
    others = [run for run in document["runs"] if not run.get("representative")]
    assert len(representative) == 1 and len(others) == 1
    assert document["per_iteration"]["live_variables"]
    # ... and its entry in runs does not repeat them, while the other run keeps its own
    for key in ("timeline", "gc_buckets", "gc_longest_pauses", "per_iteration", "explain"):
        assert key not in representative[0]
        assert key in others[0]
    assert others[0]["per_iteration"]["live_variables"]


def test_a_short_run_keeps_one_point_per_iteration(measured):
    # 400 iterations are fewer than series.MAX_POINTS: nothing is bucketed
    record = measured.per_iteration
    assert record.iteration == tuple(range(400))
    assert record.live_variables == record.live_variables_min
    assert measured.timeline.rss_bytes == measured.timeline.rss_bytes_min


def test_a_long_run_keeps_at_most_max_points_with_exact_extremes(tmp_path, monkeypatch):
    # given a workload whose live Variables climb one per iteration and fall back to 0
    # every 1,000 iterations, over more iterations than series.MAX_POINTS
    (tmp_path / "sawtooth.py").write_text(
        "from autograd_mem import Variable\nimport numpy as np\nheld = []\n"
        "def step(i):\n"
        "    if i % 1000 == 999:\n        held.clear()\n"
        "    else:\n        held.append(Variable(np.zeros(1)))\n"
    )
    monkeypatch.chdir(tmp_path)
    iterations = 3 * series.MAX_POINTS
    measurement = runner.measure(RunConfig(workload="sawtooth.py:step", iterations=iterations))
    record = measurement.per_iteration
    # then the record has MAX_POINTS buckets covering every iteration in order ...
    assert len(record.iteration) == series.MAX_POINTS
    assert record.iteration[0] == 0 and list(record.iteration) == sorted(record.iteration)
    assert len(record.live_variables) == len(record.live_variables_min) == series.MAX_POINTS
    # ... whose maxima and minima keep the saw-tooth's true peak and troughs
    assert max(record.live_variables) == measurement.metrics.max_live_variables >= 999
    assert min(record.live_variables_min) == 0
    pairs = zip(record.live_variables_min, record.live_variables, strict=True)
    assert all(lo <= hi for lo, hi in pairs)
    assert len(measurement.timeline.seconds) <= series.MAX_POINTS


@pytest.mark.parametrize(
    ("rule_name", "bad"),
    [*(("BYTES", bad) for bad in (True, -1, 2**63, 10**400, float("nan"), float("inf"), "1")),
     *(("SECONDS", bad) for bad in (True, -1.0, 10**400, float("nan"), float("inf"), "1"))],
)
def test_a_series_is_checked_item_by_item_when_any_item_is_wrong(rule_name, bad):
    # (a column of plain numbers is passed at C speed; one wrong item is still named)
    from autograd_mem.schema import rules

    rule = rules.Each(getattr(rules, rule_name))
    column = [0, 1, 2, bad, 4]
    assert rule.problem("timeline.x", [0, 1, 2, 3, 4], "") is None
    problem = rule.problem("timeline.x", column, repr(column))
    assert problem is not None and problem.startswith("timeline.x[3] must be")
