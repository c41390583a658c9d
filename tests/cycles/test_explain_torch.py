"""Acceptance with PyTorch (skipped without it): an output stored on ctx is explained."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path

import pytest

from autograd_mem.measure import runner
from autograd_mem.schema.config import RunConfig

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.slow, pytest.mark.torch]

WORKLOAD = Path(__file__).resolve().parent.parent / "workloads" / "torch_ctx_output.py"
ITERATIONS = 12


def workload_elements() -> int:
    spec = importlib.util.spec_from_file_location("explain_workload_torch", WORKLOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ELEMENTS


def heap_freed_per_cycle() -> float | None:
    """The C heap (glibc mallinfo2) one gc.collect() frees, per cycle the workload left."""
    from autograd_mem.probes import allocated

    spec = importlib.util.spec_from_file_location("explain_workload_torch_heap", WORKLOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gc.collect()
    gc.disable()
    try:
        for iteration in range(ITERATIONS):
            module.step(iteration)
        before = allocated.malloc_bytes()
        gc.collect()
        after = allocated.malloc_bytes()
    finally:
        gc.enable()
    return None if before is None or after is None else (before - after) / ITERATIONS


def test_an_output_stored_on_its_context_is_explained_with_its_storage():
    report = runner.measure(
        RunConfig(workload=f"{WORKLOAD}:step", explain=True, iterations=ITERATIONS)
    ).explain
    assert report is not None
    # 12 small cycles start no collection: they are still waiting when the window ends
    shapes = report.shapes or report.waiting.shapes
    assert len(shapes) == 1
    shape = shapes[0]
    # the backward node (ctx) and the Tensor it holds, whose grad_fn is that node
    assert shape.types == ("DoubleBackward", "Tensor")
    assert [(s.type, s.edge) for s in shape.path] == [
        ("DoubleBackward", ".y"), ("Tensor", ".grad_fn"),
    ]
    assert shape.cycles == ITERATIONS
    assert shape.hint is not None and "save_for_backward" in shape.hint
    # the storage counted: each output, and the input leaf its graph holds (x, alive only
    # through the graph once step() returned), ELEMENTS float32s each
    storage = torch.ones(workload_elements()).untyped_storage().nbytes()
    per_cycle = shape.bytes_freed_total / shape.cycles
    assert 2 * storage <= per_cycle <= 1.10 * 2 * storage
    # against an independent measure: what one collection of such cycles frees in the C heap
    freed = heap_freed_per_cycle()
    if freed is not None:
        assert abs(per_cycle - freed) <= 0.25 * freed
    assert shape.allocated_at is not None
    assert Path(shape.allocated_at.file) == WORKLOAD
    assert shape.allocated_at.function in ("step", "forward")
