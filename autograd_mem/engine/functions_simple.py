"""DeZero's ``*_simple`` functions: the book's first versions, composed of other ops.

Each builds several graph nodes where its counterpart builds one, so its graph holds
more intermediate arrays: the same result, at a larger memory cost while the graph
lives. ``conv2d_simple`` and ``pooling_simple`` are in ``functions_conv``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_mem.engine.core import Variable, as_variable
from autograd_mem.engine.functions_nn import clip, softmax
from autograd_mem.engine.ops import exp, log, matmul
from autograd_mem.engine.ops import sum as sum_


def linear_simple(x: Any, W: Any, b: Any = None) -> Variable:
    """``x @ W + b`` as two nodes; the product's array is released once the sum is made.

    As DeZero does (step 44): the addition's gradient does not need the product's
    values, so the graph need not keep them. DeZero sets ``t.data = None``; here the
    addition's gradient reads its inputs' shapes, so ``t.data`` becomes a read-only
    zero-stride view of one zero with the product's shape and dtype: the buffer is
    freed all the same.
    """
    t = matmul(x, W)
    if b is None:
        return t
    y = t + b
    t.data = np.broadcast_to(np.zeros((), dtype=t.dtype), t.shape)
    return y


def sigmoid_simple(x: Any) -> Variable:
    """``1 / (1 + exp(-x))`` as four nodes."""
    x = as_variable(x)
    return 1 / (1 + exp(-x))


def softmax_simple(x: Any, axis: Any = 1) -> Variable:
    """``exp(x) / sum(exp(x))`` over ``axis``, without the max shift (it may overflow)."""
    y = exp(as_variable(x))
    return y / sum_(y, axis=axis, keepdims=True)


def mean_squared_error_simple(x0: Any, x1: Any) -> Variable:
    """``sum((x0 - x1) ** 2) / len(x0)`` as four nodes."""
    diff = as_variable(x0) - as_variable(x1)
    return sum_(diff**2) / len(diff)


def softmax_cross_entropy_simple(x: Any, t: Any) -> Variable:
    """Mean ``-log softmax(x)[t]``, probabilities clipped at 1e-15 so log stays finite."""
    x, t = as_variable(x), as_variable(t)
    n = x.shape[0]
    log_p = log(clip(softmax(x), 1e-15, 1.0))
    return -1 * sum_(log_p[np.arange(n), t.data]) / n


__all__ = [
    "linear_simple",
    "mean_squared_error_simple",
    "sigmoid_simple",
    "softmax_cross_entropy_simple",
    "softmax_simple",
]
