"""Check backpropagated gradients against central differences computed in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd_mem.engine.core import Variable


def gradient_check(
    f: Callable[..., Variable],
    *xs: Any,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    eps: float = 1e-6,
    seed: int = 0,
) -> bool:
    """Return True if backward's gradients of ``f`` at ``xs`` match numerical ones.

    ``f`` takes Variables and returns one Variable of any shape. Rather than
    differentiating ``sum(f(x))`` (blind to errors that cancel across outputs, such as
    a transposed gradient), both sides differentiate ``sum(f(x) * w)`` for a fixed
    random ``w``. Inputs are copied to float64 so the numerical side is not limited by
    float32 rounding.

    Raises AssertionError naming the input (by position), the element where the two
    gradients disagree most, and both values, because "gradient wrong" alone sends
    one looking in the wrong op.
    """
    arrays = [np.array(x.data if isinstance(x, Variable) else x, dtype=np.float64) for x in xs]
    inputs = [Variable(a.copy()) for a in arrays]
    y = f(*inputs)
    weights = np.asarray(np.random.default_rng(seed).standard_normal(y.shape))
    y.grad = Variable(weights)
    y.backward()

    for position, (array, variable) in enumerate(zip(arrays, inputs, strict=True)):
        analytic = np.zeros_like(array) if variable.grad is None else variable.grad.data
        if analytic.shape != array.shape:
            raise AssertionError(
                f"gradient of input {position} has shape {analytic.shape}, "
                f"the input has shape {array.shape}"
            )
        numerical = _numerical_gradient(f, arrays, position, weights, eps)
        excess = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
        if excess.size and (excess.max() > 0 or not np.all(np.isfinite(analytic))):
            worst = np.unravel_index(
                np.nanargmax(np.where(np.isfinite(excess), excess, np.inf)), array.shape
            )
            raise AssertionError(
                f"gradient of input {position} (shape {array.shape}) differs at index "
                f"{tuple(int(i) for i in worst)}: backward gives {analytic[worst]!r}, "
                f"central difference gives {numerical[worst]!r} (rtol={rtol}, atol={atol})"
            )
    return True


def _numerical_gradient(
    f: Callable[..., Variable],
    arrays: list[np.ndarray],
    position: int,
    weights: np.ndarray,
    eps: float,
) -> np.ndarray:
    """d sum(f * weights) / d arrays[position], one element at a time, centrally."""

    def weighted_output(values: list[np.ndarray]) -> float:
        return float(np.sum(f(*[Variable(v) for v in values]).data * weights))

    values = [a.copy() for a in arrays]
    target = values[position]
    gradient = np.zeros_like(target)
    for index in np.ndindex(target.shape):
        original = target[index]
        target[index] = original + eps
        plus = weighted_output(values)
        target[index] = original - eps
        minus = weighted_output(values)
        target[index] = original
        gradient[index] = (plus - minus) / (2 * eps)
    return gradient
