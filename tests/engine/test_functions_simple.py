"""The ``*_simple`` functions: the same values as their one-node counterparts, gradients checked.

Cases follow DeZero's tests (``test_linear``, ``test_sigmoid``, ``test_softmax``,
``test_loss``, ``test_softmax_cross_entropy``, ``test_pooling``, ``test_conv2d``),
with the one-node function as the reference instead of Chainer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import REFERENCE_MODES
from autograd_mem.utils import gradient_check

rng = np.random.default_rng(59)


def normal(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


labels = np.array([2, 0, 1, 0])
x34, w32, b2 = normal(3, 4), normal(4, 2), normal(2)
images, filters = normal(2, 3, 7, 6), normal(4, 3, 3, 3)

# name -> (simple function, one-node function, arguments)
PAIRS: dict[str, tuple[Callable, Callable, tuple]] = {
    "linear": (F.linear_simple, F.linear, (normal(3, 4), w32, b2)),
    "linear without bias": (F.linear_simple, F.linear, (normal(3, 4), w32)),
    "sigmoid": (F.sigmoid_simple, F.sigmoid, (normal(3, 4),)),
    "softmax": (F.softmax_simple, F.softmax, (normal(3, 4),)),
    "mean_squared_error": (F.mean_squared_error_simple, F.mean_squared_error, (x34, normal(3, 4))),
    "softmax_cross_entropy": (
        F.softmax_cross_entropy_simple, F.softmax_cross_entropy, (normal(4, 3), labels),
    ),
    "pooling": (F.pooling_simple, F.pooling, (images, 2, 2, 0)),
    "pooling padded": (F.pooling_simple, F.pooling, (images, 3, 2, 1)),
    "conv2d": (F.conv2d_simple, F.conv2d, (images, filters, normal(4), 1, 1)),
}  # fmt: skip


@pytest.mark.parametrize("mode", REFERENCE_MODES)
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_simple_function_matches_its_one_node_counterpart(name: str, mode: str) -> None:
    simple, one_node, args = PAIRS[name]
    with am.reference_mode(mode):
        expected = one_node(*args).data
        got = simple(*args).data
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", REFERENCE_MODES)
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_simple_function_passes_dezeros_gradient_check(name: str, mode: str) -> None:
    simple, _, (first, *rest) = PAIRS[name]
    with am.reference_mode(mode):
        assert gradient_check(lambda x: simple(x, *rest), first.copy())


def test_linear_simple_releases_the_products_data_as_dezero_does() -> None:
    # given x @ W + b built by linear_simple
    y = F.linear_simple(am.Variable(x34), am.Variable(w32), am.Variable(b2))
    # then the product node's output keeps its shape but no buffer, and backward still works
    product = y.creator.inputs[0]
    assert product.shape == (3, 2) and product.data.strides == (0, 0)
    assert product.data.base.nbytes == product.dtype.itemsize
    y.backward()
    np.testing.assert_allclose(y.creator.inputs[1].grad.data, [3.0, 3.0])


def test_softmax_simple_is_the_unshifted_formula() -> None:
    # DeZero's simple softmax does not subtract the max: exp(1000) overflows to nan
    with np.errstate(over="ignore", invalid="ignore"):
        y = F.softmax_simple(np.array([[1000.0, 0.0]]))
    assert np.isnan(y.data[0, 0])
    np.testing.assert_allclose(F.softmax(np.array([[1000.0, 0.0]])).data, [[1.0, 0.0]])


def test_batch_nrom_is_dezeros_spelling_of_batch_nrm() -> None:
    x, gamma, beta = normal(5, 3), normal(3), normal(3)
    mean, var = np.zeros(3), np.ones(3)
    with am.test_mode():
        y = F.batch_nrom(x, gamma, beta, mean, var)
    np.testing.assert_allclose(y.data, x / np.sqrt(1 + 2e-5) * gamma + beta)


def test_im2col_array_and_col2im_array_are_adjoint() -> None:
    # <im2col(x), c> == <x, col2im(c)> for any x and c: the defining property of an adjoint
    x = normal(2, 3, 5, 4)
    cols = F.im2col_array(x, 3, 1, 1)
    c = normal(*cols.shape)
    back = F.col2im_array(c, x.shape, 3, 1, 1)
    assert back.shape == x.shape
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)
