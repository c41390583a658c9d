"""Labelling a cycle through torch tensors raises no warning in the user's program."""

from __future__ import annotations

import warnings

import pytest

from autograd_mem.cycles.labels import Labeller, Reading

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def test_a_non_leaf_tensor_is_read_without_a_warning_and_its_references_labelled():
    # given: a non-leaf tensor (reading its .grad warns) and what it refers to
    x = torch.ones(4, requires_grad=True)
    y = x * 2
    leaf_grad = torch.zeros(4)
    x.grad = leaf_grad
    members = [y, y.grad_fn, x, leaf_grad]
    readings = {}
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")  # (an error would be caught by the reader itself)
        labeller = Labeller()
        for obj in (y, x):
            reading = Reading({id(m): i for i, m in enumerate(members)})
            labeller.read(obj, reading)
            readings[id(obj)] = dict(reading.edges)
    # then: no warning, y's backward node labelled, and a leaf's .grad still read
    assert [str(w.message)[:60] for w in raised] == []
    assert readings[id(y)].get(".grad_fn") == 1
    assert readings[id(x)].get(".grad") == 3
