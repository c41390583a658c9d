"""Convolution, pooling, im2col and col2im: forward against loop-by-loop numpy, gradients checked.

Cases follow DeZero's public test suite (conv2d, conv2d_simple, deconv2d, pooling,
im2col); the references below are written as plain loops over output pixels, the
most direct reading of each definition, instead of Chainer's functions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import REFERENCE_MODES
from autograd_mem.engine import functions_conv as conv_module
from autograd_mem.engine.functions_conv import pair
from tests.engine.differentiate import backward_gradients, derivative

rng = np.random.default_rng(99)


def normal(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def padded(x: np.ndarray, pad) -> np.ndarray:
    ph, pw = pair(pad)
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def out_size(h, w, kernel, stride, pad):
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride), pair(pad)
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def conv_reference(x, W, b, stride, pad):
    oc, _, kh, kw = W.shape
    sh, sw = pair(stride)
    oh, ow = out_size(*x.shape[2:], (kh, kw), stride, pad)
    xp = padded(x, pad)
    y = np.zeros((x.shape[0], oc, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, W)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def deconv_reference(x, W, b, stride, pad):
    """Each input pixel scatters its kernel-sized contribution; the padding is cropped."""
    n, _, h, w = x.shape
    _, oc, kh, kw = W.shape
    (sh, sw), (ph, pw) = pair(stride), pair(pad)
    full = np.zeros((n, oc, sh * (h - 1) + kh, sw * (w - 1) + kw))
    for i in range(h):
        for j in range(w):
            full[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] += np.einsum(
                "nc,cokl->nokl", x[:, :, i, j], W
            )
    y = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def pool_reference(x, kernel, stride, pad, reduce):
    (kh, kw), (sh, sw) = pair(kernel), pair(stride)
    oh, ow = out_size(*x.shape[2:], kernel, stride, pad)
    xp = padded(x, pad)
    y = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = reduce(xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw], (2, 3))
    return y


def distinct(*shape: int) -> np.ndarray:
    """Values 1 apart in random order: no two elements of a pooling window tie."""
    return rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64)


# ---------------------------------------------------------------- forward

def test_every_conv_function_of_the_issue_is_in_functions() -> None:
    expected = ["conv2d", "deconv2d", "conv2d_simple", "pooling", "average_pooling", "im2col",
                "col2im"]  # fmt: skip
    assert [name for name in expected if not callable(getattr(F, name, None))] == []
    assert set(conv_module.__all__) <= set(F.__all__)


def test_im2col_of_one_3x3_image_and_kernel_is_one_row() -> None:
    x = np.arange(9).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(F.im2col(x, 3, 3, 0, to_matrix=True).data, [np.arange(9)])
    assert F.im2col(x, 3, 3, 0, to_matrix=False).shape == (1, 1, 3, 3, 1, 1)


@pytest.mark.parametrize(("kernel", "stride", "pad"), [(3, 1, 0), ((2, 3), (2, 1), (1, 2))])
def test_im2col_rows_are_the_patches_in_row_major_order(kernel, stride, pad) -> None:
    x = normal(2, 3, 5, 6)
    (kh, kw), (sh, sw) = pair(kernel), pair(stride)
    oh, ow = out_size(5, 6, kernel, stride, pad)
    xp = padded(x, pad)
    rows = [
        xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw].ravel()
        for n in range(2) for i in range(oh) for j in range(ow)
    ]  # fmt: skip
    np.testing.assert_array_equal(F.im2col(x, kernel, stride, pad).data, np.array(rows))


@pytest.mark.parametrize("to_matrix", [True, False])
def test_col2im_is_the_adjoint_of_im2col(to_matrix: bool) -> None:
    # <im2col(x), c> == <x, col2im(c)> for every x and c: col2im adds each patch back
    x = normal(2, 3, 7, 5)
    kernel, stride, pad = (3, 2), (2, 1), 1
    col = F.im2col(x, kernel, stride, pad, to_matrix).data
    c = normal(*col.shape)
    back = F.col2im(c, x.shape, kernel, stride, pad, to_matrix).data
    np.testing.assert_allclose(np.vdot(col, c), np.vdot(x, back), rtol=1e-12)


CONV_CASES = [
    # n, c, h, w, out channels, kernel, stride, pad: DeZero's cases
    (1, 5, 15, 15, 8, (3, 3), (1, 1), (1, 1)),
    (1, 5, 15, 15, 8, (3, 3), (3, 1), (2, 1)),
    (1, 5, 20, 15, 3, (5, 3), 1, 3),
]


@pytest.mark.parametrize("function", [F.conv2d, F.conv2d_simple], ids=["conv2d", "simple"])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("bias", [False, True])
def test_conv2d_matches_the_loop_reference(function, case, bias: bool) -> None:
    n, c, h, w, o, k, s, p = case
    x = normal(n, c, h, w).astype(np.float32)
    W = normal(o, c, *k).astype(np.float32)
    b = normal(o).astype(np.float32) if bias else None
    y = function(x, W, b, s, p)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, conv_reference(x, W, b, s, p), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bias", [False, True])
def test_deconv2d_matches_the_loop_reference(bias: bool) -> None:
    # DeZero's case, with a batch of 2 instead of 10
    x = rng.uniform(0, 1, (2, 1, 5, 10)).astype(np.float32)
    W = rng.uniform(0, 1, (1, 3, 10, 10)).astype(np.float32)
    b = rng.uniform(0, 1, 3).astype(np.float32) if bias else None
    y = F.deconv2d(x, W, b, stride=(5, 5), pad=(5, 5))
    assert y.shape == (2, 3, 20, 45)
    np.testing.assert_allclose(y.data, deconv_reference(x, W, b, 5, 5), rtol=1e-5)


def test_deconv2d_is_the_adjoint_of_conv2d_in_its_input() -> None:
    x, W = normal(2, 3, 9, 8), normal(4, 3, 3, 2)
    y = F.conv2d(x, W, None, (2, 3), 1).data
    g = normal(*y.shape)
    back = F.deconv2d(g, W, None, (2, 3), 1, outsize=(9, 8)).data
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(x, back), rtol=1e-12)


@pytest.mark.parametrize(("shape", "kernel", "stride", "pad"), [
    ((1, 5, 16, 16), 2, 2, 0),
    ((1, 5, 15, 15), 2, 2, 0),
    ((2, 3, 7, 6), 3, 2, 1),
])  # fmt: skip
def test_pooling_and_average_pooling_match_the_loop_reference(shape, kernel, stride, pad) -> None:
    x = normal(*shape).astype(np.float32)
    y = F.pooling(x, kernel, stride, pad)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, pool_reference(x, kernel, stride, pad, np.max))
    np.testing.assert_allclose(
        F.average_pooling(x, kernel, stride, pad).data,
        pool_reference(x, kernel, stride, pad, np.mean),
        rtol=1e-5, atol=1e-6,  # float32 sums against float64 ones
    )


# ---------------------------------------------------------------- gradients

_x = normal(1, 2, 6, 5)
_W = normal(3, 2, 3, 2)
_b = normal(3)
_dx = normal(2, 1, 3, 4)
_dW = normal(1, 3, 4, 4)

GRADIENT_CASES: dict[str, tuple[Callable[..., am.Variable], list[np.ndarray]]] = {
    "im2col matrix": (lambda x: F.im2col(x, 3, 3, 0, to_matrix=True), [np.arange(9.0).reshape(1, 1, 3, 3)]),  # noqa: E501
    "im2col strided padded": (lambda x: F.im2col(x, (3, 2), (2, 1), 1, False), [normal(2, 2, 5, 4)]),  # noqa: E501
    "col2im matrix": (lambda c: F.col2im(c, (1, 1, 3, 3), 3, 3, 0, True), [rng.random((1, 9))]),
    "col2im": (lambda c: F.col2im(c, (1, 1, 3, 3), 3, 3, 0, False), [rng.random((1, 1, 3, 3, 1, 1))]),  # noqa: E501
    "conv2d x": (lambda x: F.conv2d(x, _W, _b, (2, 1), 1), [_x]),
    "conv2d W": (lambda W: F.conv2d(_x, W, _b, (2, 1), 1), [_W]),
    "conv2d b": (lambda b: F.conv2d(_x, _W, b, (2, 1), 1), [_b]),
    "conv2d all, no bias": (lambda x, W: F.conv2d(x, W, None, 1, (0, 1)), [_x, _W]),
    "conv2d_simple all": (lambda x, W, b: F.conv2d_simple(x, W, b, (1, 2), 1), [_x, _W, _b]),
    "deconv2d x": (lambda x: F.deconv2d(x, _dW, None, 2, 1), [_dx]),
    "deconv2d W": (lambda W: F.deconv2d(_dx, W, _b, 2, 1), [_dW]),
    "deconv2d b": (lambda b: F.deconv2d(_dx, _dW, b, 2, 1), [_b]),
    "pooling": (lambda x: F.pooling(x, 2, 2, 0), [distinct(1, 2, 6, 6)]),
    "pooling overlapping": (lambda x: F.pooling(x, 3, 2, 0), [distinct(2, 2, 7, 5)]),
    "average_pooling": (lambda x: F.average_pooling(x, 2, 2, 0), [normal(1, 2, 4, 6)]),
    "average_pooling padded": (lambda x: F.average_pooling(x, 3, 2, 1), [normal(2, 1, 5, 5)]),
}


@pytest.mark.parametrize("mode", REFERENCE_MODES)
@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradient_matches_central_differences(case: str, mode: str) -> None:
    function, inputs = GRADIENT_CASES[case]
    with am.reference_mode(mode):
        assert am.gradient_check(function, *inputs)


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_fast_and_graph_building_backward_agree(case: str) -> None:
    function, inputs = GRADIENT_CASES[case]

    for fast, graph in zip(
        backward_gradients(function, inputs, False),
        backward_gradients(function, inputs, True),
        strict=True,
    ):
        np.testing.assert_allclose(fast, graph, rtol=1e-12, atol=1e-12)


# Squared, so that the first derivative still depends on the input: its backward then
# runs each op's gradient ops (deconv2d, conv2d_grad_w, the pooling gradients) in turn.
SECOND_DERIVATIVE_CASES = {
    "conv2d in x": (lambda x: F.conv2d(x, _W, _b, (2, 1), 1) ** 2, _x),
    "conv2d in W": (lambda W: F.conv2d(_x, W, None, 1, 1) ** 2, _W),
    "deconv2d in x": (lambda x: F.deconv2d(x, _dW, None, 2, 1) ** 2, _dx),
    "deconv2d in W": (lambda W: F.deconv2d(_dx, W, None, 2, 1) ** 2, _dW),
    "im2col": (lambda x: F.im2col(x, 2, 1, 1) ** 2, normal(1, 2, 3, 3)),
    "pooling": (lambda x: F.pooling(x, 3, 2, 0) ** 2, distinct(1, 2, 5, 5)),
    "average_pooling": (lambda x: F.average_pooling(x, 2, 1, 0) ** 2, normal(1, 2, 3, 4)),
}


@pytest.mark.parametrize("mode", REFERENCE_MODES)
@pytest.mark.parametrize("case", sorted(SECOND_DERIVATIVE_CASES))
def test_second_derivative_matches_central_differences(case: str, mode: str) -> None:
    function, x = SECOND_DERIVATIVE_CASES[case]
    with am.reference_mode(mode):
        assert am.gradient_check(derivative(function), x)
