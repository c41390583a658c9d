"""JSON reports: each report's versioned document (run, comparison, check), as text."""

from __future__ import annotations

import functools

from autograd_mem.analysis.compare import Comparison, comparison_to_dict
from autograd_mem.analysis.regression import CheckReport, to_document
from autograd_mem.schema import check as check_document
from autograd_mem.schema.codec import dumps
from autograd_mem.schema.run import Measurement, measurement_to_dict


@functools.singledispatch
def render(report: object) -> str:
    """The JSON document of any report agmem makes: one entry point for every command."""
    raise TypeError(f"no JSON document for {type(report).__name__}")


@render.register
def render_run(measurement: Measurement) -> str:
    """The ``kind: "run"`` document of one measurement."""
    return dumps(measurement_to_dict(measurement))


@render.register
def render_comparison(comparison: Comparison) -> str:
    """The ``kind: "comparison"`` document: every measurement, the ratios and the verdict."""
    return dumps(comparison_to_dict(comparison))


@render.register
def render_check(report: CheckReport) -> str:
    """The ``kind: "check"`` document: every row, the limits and the verdict."""
    return dumps(check_document.to_dict(to_document(report)))
