"""JSON reports: the versioned documents of result.py and compare.py, as text."""

from __future__ import annotations

from autograd_mem.compare import Comparison, comparison_to_dict
from autograd_mem.result import Measurement, dumps, measurement_to_dict


def render_run(measurement: Measurement) -> str:
    """The ``kind: "run"`` document of one measurement."""
    return dumps(measurement_to_dict(measurement))


def render_comparison(comparison: Comparison) -> str:
    """The ``kind: "comparison"`` document: every measurement, the ratios and the verdict."""
    return dumps(comparison_to_dict(comparison))
