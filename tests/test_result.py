"""Round-trip of a real measurement through result.py's versioned JSON."""

from __future__ import annotations

import json

import pytest

from autograd_mem import runner
from autograd_mem.result import (
    RunConfig,
    dumps,
    measurement_from_dict,
    measurement_to_dict,
)


@pytest.fixture(scope="module")
def measured():
    # strong/auto with explain and two repeats: every optional part of the document is filled
    config = RunConfig(mode="strong", iterations=150, size=2_000, repeat=2, explain=True)
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
        "gc_events",
    } <= set(document)
    assert document["environment"]["gc_generations"] == list(measured.environment.gc_generations)
    assert len(document["metrics"]["gc_collections"]) == len(measured.environment.gc_generations)
    assert set(document["timeline"]) == {"seconds", "rss_bytes", "iteration"}
    assert document["explain"]["garbage_by_type"]["Variable"] > 0
    assert len(document["runs"]) == 2
