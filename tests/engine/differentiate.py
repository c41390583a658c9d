"""Differentiation helpers shared by the op tests: each op module's tests call these."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import autograd_mem as am

Unary = Callable[[am.Variable], am.Variable]


def backward_gradients(
    function: Callable[..., am.Variable], inputs: Sequence[np.ndarray], create_graph: bool
) -> list[np.ndarray]:
    """The inputs' gradients after one backward, on the array path or the graph-building one."""
    xs = [am.Variable(x.copy()) for x in inputs]
    function(*xs).backward(create_graph=create_graph)
    return [x.grad.data for x in xs]


def derivative(function: Unary) -> Unary:
    """x -> d function / dx, as a Variable with a graph (create_graph)."""

    def first_derivative(x: am.Variable) -> am.Variable:
        function(x).backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        return gx

    return first_derivative
