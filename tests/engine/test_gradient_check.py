"""gradient_check passes right gradients and names the input and element of wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F


class WrongSquare(am.Function):
    """Square with a gradient off by a factor of 2 at the last element only."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * x

    def backward(self, gy: am.Variable) -> am.Variable:
        (x,) = self.inputs
        factor = np.full(x.shape, 2.0)
        factor[..., -1] = 4.0
        return gy * x * factor


def test_right_gradient_passes() -> None:
    assert am.gradient_check(lambda a, b: F.sin(a) * b, np.ones((2, 2)), np.full((2, 2), 3.0))


def test_wrong_gradient_names_the_input_and_the_worst_element() -> None:
    # given: a correct first input and a wrong gradient for the second
    x = np.array([[1.0, 2.0], [3.0, 4.0]])

    # when/then
    with pytest.raises(AssertionError) as caught:
        am.gradient_check(lambda a, b: a + WrongSquare()(b), np.zeros(2), x)
    message = str(caught.value)
    assert "gradient of input 1 (shape (2, 2))" in message
    assert "at index (1, 1)" in message  # the largest error: x=4, off by 2*4*|w|


def test_float32_inputs_are_checked_in_float64() -> None:
    x = np.linspace(-1, 1, 5, dtype=np.float32)
    assert am.gradient_check(F.tanh, x, rtol=1e-6, atol=1e-8)


def test_tolerances_are_honoured() -> None:
    class SlightlyOff(am.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return 2 * x

        def backward(self, gy: am.Variable) -> am.Variable:
            return gy * 2.001

    x = np.ones(3)
    with pytest.raises(AssertionError):
        am.gradient_check(lambda v: SlightlyOff()(v), x)
    assert am.gradient_check(lambda v: SlightlyOff()(v), x, rtol=1e-2)


def test_an_input_the_output_does_not_depend_on_has_zero_gradient() -> None:
    assert am.gradient_check(lambda a, b: F.exp(a), np.ones(2), np.ones(3))
