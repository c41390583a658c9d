"""JSON reports: valid, versioned, and read back to what was rendered."""

from __future__ import annotations

import json

from autograd_mem.analysis.compare import compare, comparison_from_dict
from autograd_mem.reporters.json_report import render_comparison, render_run
from autograd_mem.schema.run import measurement_from_dict
from reporters.factory import MiB, make_measurement


def test_run_document_round_trips():
    m = make_measurement("strong", peak_growth_bytes=[30 * MiB, 31 * MiB], collected=7,
                         explain=True)

    assert measurement_from_dict(json.loads(render_run(m))) == m


def test_comparison_document_round_trips():
    c = compare([make_measurement("strong", collected=5), make_measurement("weak")])

    assert comparison_from_dict(json.loads(render_comparison(c))) == c
