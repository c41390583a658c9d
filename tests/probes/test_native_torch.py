"""Tensors' native bytes with PyTorch (skipped without it): storage, and what graphs saved."""

from __future__ import annotations

import gc
import warnings

import pytest

from autograd_mem.probes import allocated, native

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

ELEMENTS = 1 << 20  # float32: 4 MiB per tensor


def test_a_kept_loss_holds_the_tensors_its_graph_saved():
    # given: a scalar kept, as losses.append(loss) keeps it, with its graph
    before = allocated.malloc_bytes()
    x = torch.ones(ELEMENTS, requires_grad=True)
    hidden = x.exp()  # saves its result
    loss = hidden.sin().sum()  # sin saves its input (hidden); the sin's output is freed
    del hidden
    gc.collect()
    held = None if before is None else allocated.malloc_bytes() - before
    # when
    counted = native.NativeSizer().bytes_of(loss)
    # then: the leaf and the saved activation, each once, and the scalar itself
    assert counted == 2 * ELEMENTS * 4 + loss.untyped_storage().nbytes()
    if held is not None:  # the independent measure: the C heap grew by as much
        assert abs(held - counted) <= 0.05 * counted


def test_a_storage_is_counted_once_per_sizer_and_freed_buffers_not_at_all():
    x = torch.ones(ELEMENTS, requires_grad=True)
    view = x[: ELEMENTS // 2]
    loss = (x * x).sum()
    loss.backward()  # frees what the graph saved
    sizer = native.NativeSizer()
    assert sizer.total([x, view, x]) == ELEMENTS * 4
    # x's storage is already counted by this sizer; the graph's saved copies were freed
    assert sizer.bytes_of(loss) == loss.untyped_storage().nbytes()


def test_reading_a_non_leaf_tensor_raises_no_warning():
    x = torch.ones(4, requires_grad=True)
    y = x * 2  # not a leaf: reading y.grad warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # y and x (and the scalar 2 that MulBackward saved)
        assert native.NativeSizer().bytes_of(y) >= 2 * 4 * 4
