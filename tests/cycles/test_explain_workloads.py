"""Acceptance: ``--explain`` on user code, one workload file each, through the real explain pass.

Each workload makes one kind of cycle (or none) with a known payload. The test runs it
through ``runner.measure`` (a measured child and an explain child) and checks the
report against figures it works out itself: the payload from ``sys.getsizeof`` of the
same objects built here, the source line from a marker comment in the workload's file.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from autograd_mem.measure import runner
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.explain import CycleShape, ExplainReport

pytestmark = pytest.mark.slow

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"
ITERATIONS = 12
MARKER = "# allocates the cycle"


def explain(name: str, mode: str = "strong") -> Found:
    config = RunConfig(
        workload=f"{WORKLOADS / name}.py:step", mode=mode, explain=True, iterations=ITERATIONS
    )
    report = runner.measure(config).explain
    assert report is not None
    return Found.of(report)


@dataclass(frozen=True)
class Found:
    """The part of the report that found the cycles. In a window this short the collector
    may never run, or run once part-way: then the collection after the window finds them,
    or the rest of them, still waiting; one shape found in both is one shape here."""

    shapes: tuple[CycleShape, ...]
    garbage_objects: int
    bytes_held_at_most: int
    bytes_freed_total: int
    report: ExplainReport

    @staticmethod
    def of(report: ExplainReport) -> Found:
        waiting = report.waiting
        merged: dict[tuple, CycleShape] = {}
        for shape in (*report.shapes, *waiting.shapes):
            key = (shape.types, shape.path)
            seen = merged.get(key)
            merged[key] = shape if seen is None else dataclasses.replace(
                seen,
                cycles=seen.cycles + shape.cycles,
                objects=seen.objects + shape.objects,
                bytes_held_at_most=max(seen.bytes_held_at_most, shape.bytes_held_at_most),
                bytes_freed_total=seen.bytes_freed_total + shape.bytes_freed_total,
            )
        return Found(
            tuple(merged.values()),
            report.garbage_objects + waiting.garbage_objects,
            max(report.bytes_held_at_most, waiting.bytes_held),
            report.bytes_freed_total + waiting.bytes_held,
            report,
        )


def workload_module(name: str) -> ModuleType:
    """The workload's module, imported here only to read its constants."""
    path = WORKLOADS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"explain_workload_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def marked_lines(name: str) -> set[int]:
    source = (WORKLOADS / f"{name}.py").read_text().splitlines()
    return {number for number, text in enumerate(source, start=1) if MARKER in text}


def only_shape(report: Found) -> CycleShape:
    assert len(report.shapes) == 1, report.shapes
    return report.shapes[0]


def steps(shape: CycleShape) -> list[tuple[str, str]]:
    return [(step.type, step.edge) for step in shape.path]


def assert_accounted(report: Found, shape: CycleShape, name: str, payload: int) -> None:
    """Every collected object is in a shape; each cycle held its payload (within 10%);
    the cycle was allocated on a marked line of the workload's ``step``."""
    assert sum(s.objects for s in report.shapes) == report.garbage_objects
    assert sum(s.bytes_freed_total for s in report.shapes) == report.bytes_freed_total
    assert shape.bytes_held_at_most <= report.bytes_held_at_most <= report.bytes_freed_total
    per_cycle = shape.bytes_freed_total / shape.cycles
    assert abs(per_cycle - payload) <= 0.10 * payload, (per_cycle, payload)
    site = shape.allocated_at
    assert site is not None
    assert Path(site.file) == WORKLOADS / f"{name}.py"
    assert site.line in marked_lines(name)
    assert site.function == "step"


def bytearray_bytes(name: str) -> int:
    return sys.getsizeof(bytearray(workload_module(name).PAYLOAD_BYTES))


def test_a_self_referencing_instance_and_its_bytearray():
    report = explain("self_reference")
    shape = only_shape(report)
    assert shape.types == ("Leaky",)
    assert steps(shape) == [("Leaky", ".me")]
    assert shape.cycles == ITERATIONS
    assert shape.hint is not None and "referring to itself" in shape.hint
    assert_accounted(report, shape, "self_reference", bytearray_bytes("self_reference"))


def test_two_objects_referring_to_each_other_through_dicts():
    report = explain("dict_pair")
    shape = only_shape(report)
    assert shape.types == ("Node", "dict")
    assert steps(shape) == [
        ("Node", ".links"), ("dict", "['peer']"), ("Node", ".links"), ("dict", "['peer']"),
    ]
    assert shape.cycles == ITERATIONS
    # two nodes per cycle, each with its payload
    assert_accounted(report, shape, "dict_pair", 2 * bytearray_bytes("dict_pair"))


def test_a_closure_that_refers_to_its_own_function():
    report = explain("self_closure")
    shape = only_shape(report)
    assert shape.types == ("cell", "function")
    assert steps(shape) == [("function", ".__closure__['countdown']"), ("cell", ".cell_contents")]
    assert shape.hint is not None and "closure" in shape.hint
    # the payload is in the closure's other cell: garbage the cycle kept, not on it
    assert_accounted(report, shape, "self_closure", bytearray_bytes("self_closure"))


def test_a_bound_method_stored_on_its_own_instance():
    report = explain("bound_method")
    shape = only_shape(report)
    assert shape.types == ("Handler", "method")
    assert steps(shape) == [("Handler", ".callback"), ("method", ".__self__")]
    assert shape.hint is not None and "bound method" in shape.hint
    assert_accounted(report, shape, "bound_method", bytearray_bytes("bound_method"))


def test_an_exception_kept_with_its_traceback():
    report = explain("kept_exception")
    shape = only_shape(report)
    assert shape.types == ("ValueError", "frame", "traceback")
    assert steps(shape) == [
        ("ValueError", ".__traceback__"),
        ("traceback", ".tb_frame"),
        ("frame", ".f_locals['error']"),
    ]
    assert shape.hint is not None and "traceback" in shape.hint
    # the frame holds every local of the function, the payload among them
    assert_accounted(report, shape, "kept_exception", bytearray_bytes("kept_exception"))


def test_a_parent_and_its_list_of_children():
    report = explain("parent_children")
    shape = only_shape(report)
    assert shape.types == ("Child", "Parent", "list")
    (child, parent, children) = steps(shape)
    assert (child, parent) == (("Child", ".parent"), ("Parent", ".children"))
    assert children[0] == "list" and re.fullmatch(r"\[\d\]", children[1])
    assert shape.cycles == ITERATIONS
    module = workload_module("parent_children")
    payload = module.CHILDREN * sys.getsizeof(bytearray(module.PAYLOAD_BYTES))
    assert_accounted(report, shape, "parent_children", payload)


def test_the_engine_in_strong_mode():
    report = explain("engine_graph", mode="strong")
    shape = only_shape(report)
    assert shape.types == ("Square", "Variable", "tuple")
    assert steps(shape) == [("Variable", ".creator"), ("Square", ".outputs"), ("tuple", "[0]")]
    assert shape.hint is not None and "weak mode" in shape.hint
    module = workload_module("engine_graph")
    assert shape.cycles == ITERATIONS * module.SQUARES
    # each iteration's arrays (the input's and one per square) over its cycles
    arrays = ITERATIONS * (module.SQUARES + 1) * sys.getsizeof(np.ones(module.SIZE))
    assert_accounted(report, shape, "engine_graph", arrays // shape.cycles)
    array_bytes = np.ones(module.SIZE).nbytes
    assert report.report.array_bytes_held == ITERATIONS * (module.SQUARES + 1) * array_bytes


def test_the_engine_in_weak_mode_leaves_no_cycle():
    report = explain("engine_graph", mode="weak")
    assert report.shapes == ()
    assert report.garbage_objects == 0
    assert report.bytes_freed_total == report.bytes_held_at_most == 0
    assert report.report.example_cycle == ()


def test_a_growing_list_has_no_cycle_but_shows_growth():
    report = explain("growing_list")
    assert report.shapes == ()
    assert report.garbage_objects == 0
    growth = {g.type: g for g in report.report.growth}
    # one Record kept per measured iteration (the warm-up's are there at the start)
    assert growth["Record"].end - growth["Record"].start == ITERATIONS
    # its payloads are untracked, counted as what the records refer to; most bytes first
    assert growth["bytearray"].end - growth["bytearray"].start == ITERATIONS
    assert report.report.growth[0].type == "bytearray"
