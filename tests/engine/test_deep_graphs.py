"""A chain of 100,000 ops runs forward, backward and teardown without recursion."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import REFERENCE_MODES, census

DEPTH = 100_000


@pytest.mark.parametrize("collector", ["on", "off"])
@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_chain_of_100000_ops_forward_backward_and_teardown(mode: str, collector: str) -> None:
    # given: a recursion limit far below the depth, so any recursion would raise
    gc.collect()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    was_enabled = gc.isenabled()
    if collector == "off":
        gc.disable()
    try:
        with am.reference_mode(mode):
            # when: y = -(-(...(-x))) with DEPTH negations, differentiated, then dropped
            x = am.Variable(np.array(1.0))
            y = x
            for _ in range(DEPTH):
                y = F.neg(y)
            y.backward()
            gradient = float(x.grad.data)
            del y
            if collector == "on" or mode == "strong":
                gc.collect()
            alive = census.snapshot()[:2]
    finally:
        sys.setrecursionlimit(limit)
        if was_enabled:
            gc.enable()
        gc.collect()

    # then: the chain rule held all the way, and only x (and its gradient) is left
    assert gradient == (-1.0) ** DEPTH
    assert alive == (2, 0)
