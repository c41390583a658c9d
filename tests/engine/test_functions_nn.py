"""The neural-network functions: forward against numpy, gradients against central differences.

Cases follow DeZero's public test suite (softmax, log_softmax, the losses, dropout,
batch norm), with numpy references written here instead of Chainer's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import REFERENCE_MODES
from autograd_mem.engine import functions_nn as nn_module
from tests.engine.differentiate import backward_gradients, derivative

rng = np.random.default_rng(2024)


def normal(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def softmax_reference(x: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def cross_entropy_reference(x: np.ndarray, t: np.ndarray) -> float:
    p = softmax_reference(x.astype(np.float64))
    return float(-np.log(p[np.arange(len(t)), t]).mean())


def batch_norm_reference(x, gamma, beta, mean, var, eps=2e-5):
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(
        shape
    ) + beta.reshape(shape), axes


# ---------------------------------------------------------------- forward


def test_every_nn_function_of_the_issue_is_in_functions() -> None:
    expected = [
        "softmax", "log_softmax", "leaky_relu", "clip", "expand_dims", "flatten", "average",
        "mean", "softmax_cross_entropy", "sigmoid_cross_entropy", "binary_cross_entropy",
        "accuracy", "dropout", "batch_nrm", "batch_norm", "embed_id",
    ]  # fmt: skip
    assert [name for name in expected if not callable(getattr(F, name, None))] == []
    assert set(nn_module.__all__) <= set(F.__all__)


@pytest.mark.parametrize(
    "x",
    [
        np.array([[0, 1, 2], [0, 2, 4]], np.float32),
        np.random.default_rng(0).random((10, 10)).astype(np.float32),
        np.random.default_rng(0).random((10, 10, 10)).astype(np.float32),
    ],
    ids=["2x3", "10x10", "10x10x10"],
)
def test_softmax_and_log_softmax_match_numpy_along_axis_1(x: np.ndarray) -> None:
    y = F.softmax(am.Variable(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, softmax_reference(x), rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x).data, np.log(softmax_reference(x)), atol=1e-6)


def test_softmax_does_not_overflow_on_large_inputs() -> None:
    y = F.softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(y.data, [[0.5, 0.5, 0.0]])


def test_leaky_relu_and_clip_match_numpy() -> None:
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(F.leaky_relu(x, 0.1).data, [-0.2, -0.05, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(F.clip(x, -1.0, 1.0).data, np.clip(x, -1.0, 1.0))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_expand_dims_matches_numpy(axis: int) -> None:
    x = normal(2, 3)
    np.testing.assert_array_equal(F.expand_dims(x, axis).data, np.expand_dims(x, axis))


def test_flatten_keeps_the_batch_axis() -> None:
    x = normal(2, 3, 4, 5)
    assert F.flatten(x).shape == (2, 60)
    np.testing.assert_array_equal(F.flatten(x).data, x.reshape(2, -1))


@pytest.mark.parametrize(("axis", "keepdims"), [(None, False), (0, False), (1, True)])
def test_average_and_mean_match_numpy(axis, keepdims) -> None:
    x = normal(3, 4)
    expected = x.mean(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(F.average(x, axis, keepdims).data, expected)
    np.testing.assert_allclose(F.mean(x, axis, keepdims).data, expected)


def test_softmax_cross_entropy_matches_the_definition() -> None:
    x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]], np.float32)
    t = np.array([3, 0], np.int32)
    y = F.softmax_cross_entropy(x, t)
    assert y.dtype == np.float32 and y.shape == ()
    np.testing.assert_allclose(y.data, cross_entropy_reference(x, t), rtol=1e-6)
    # labels given as a Variable give the same loss
    np.testing.assert_allclose(F.softmax_cross_entropy(x, am.Variable(t)).data, y.data)


def test_sigmoid_and_binary_cross_entropy_match_the_definition() -> None:
    x, t = normal(6, 1), (rng.random(6) > 0.5).astype(np.int64)
    p = 1 / (1 + np.exp(-x[:, 0]))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(F.sigmoid_cross_entropy(x, t).data, expected, rtol=1e-10)
    np.testing.assert_allclose(F.binary_cross_entropy(p, t).data, expected, rtol=1e-10)


def test_accuracy_is_the_fraction_of_correct_argmaxes_and_builds_no_graph() -> None:
    y = am.Variable(np.array([[0.2, 0.8, 0.0], [0.1, 0.9, 0.0], [0.8, 0.1, 0.1]]))
    result = F.accuracy(y, np.array([1, 2, 0]))
    np.testing.assert_allclose(result.data, 2 / 3)
    assert result.creator is None


def test_dropout_with_ratio_zero_or_in_test_mode_is_the_identity() -> None:
    x = normal(100, 100)
    np.testing.assert_array_equal(F.dropout(am.Variable(x), dropout_ratio=0.0).data, x)
    with am.engine.test_mode():
        np.testing.assert_array_equal(F.dropout(x).data, x)


def test_dropout_keeps_about_one_minus_ratio_and_scales_the_kept_values() -> None:
    # given a large input of ones, when half is dropped while training
    np.random.seed(0)
    y = F.dropout(np.ones((200, 200)), 0.5).data
    kept = y != 0
    # then about half survives, each doubled so that the expectation is unchanged
    assert 0.47 < kept.mean() < 0.53
    np.testing.assert_array_equal(y[kept], 2.0)


@pytest.mark.parametrize("ratio", [-0.1, 1.0])
def test_dropout_refuses_a_ratio_outside_zero_to_one(ratio: float) -> None:
    with pytest.raises(ValueError, match="dropout_ratio"):
        F.dropout(normal(3), ratio)


def batch_norm_params(*shape: int, dtype=np.float64):
    local = np.random.default_rng(7)
    c = shape[1]
    x = local.standard_normal(shape).astype(dtype)
    gamma, beta, mean = (local.standard_normal(c).astype(dtype) for _ in range(3))
    var = np.abs(local.standard_normal(c)).astype(dtype)
    return x, gamma, beta, mean, var


@pytest.mark.parametrize("shape", [(8, 1), (1, 10), (20, 10), (20, 10, 5, 5)])
def test_batch_norm_training_normalizes_with_the_batch_and_updates_running_stats(shape) -> None:
    x, gamma, beta, mean, var = batch_norm_params(*shape, dtype=np.float32)
    old_mean, old_var = mean.copy(), var.copy()
    y = F.batch_nrm(x, gamma, beta, mean, var)
    assert y.dtype == np.float32
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes)
    expected, _ = batch_norm_reference(x, gamma, beta, batch_mean, batch_var)
    np.testing.assert_allclose(y.data, expected, rtol=1e-4, atol=1e-5)
    # the running statistics moved 10% of the way (decay 0.9), the variance unbiased
    m = x.size // x.shape[1]
    np.testing.assert_allclose(mean, 0.9 * old_mean + 0.1 * batch_mean, rtol=1e-5)
    unbiased = batch_var * m / max(m - 1, 1)
    np.testing.assert_allclose(var, 0.9 * old_var + 0.1 * unbiased, rtol=1e-5)


@pytest.mark.parametrize("shape", [(8, 1), (20, 10, 5, 5)])
def test_batch_norm_in_test_mode_uses_the_running_stats_and_leaves_them(shape) -> None:
    x, gamma, beta, mean, var = batch_norm_params(*shape, dtype=np.float32)
    before = mean.copy(), var.copy()
    with am.engine.test_mode():
        y = F.batch_norm(x, gamma, beta, mean, var)
    expected, _ = batch_norm_reference(x, gamma, beta, mean, var)
    np.testing.assert_allclose(y.data, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mean, before[0])
    np.testing.assert_array_equal(var, before[1])


def test_embed_id_looks_up_rows() -> None:
    W = normal(5, 3)
    ids = np.array([[0, 4], [4, 1]])
    np.testing.assert_array_equal(F.embed_id(ids, W).data, W[ids])
    np.testing.assert_array_equal(F.embed_id(am.Variable(ids), W).data, W[ids])


# ---------------------------------------------------------------- gradients

_t4 = np.array([3, 0, 1])
_t10 = np.random.default_rng(1).integers(0, 10, 10)
_bn = batch_norm_params(8, 3)
_bn4 = batch_norm_params(4, 3, 2, 2)


def _seeded_dropout(ratio: float) -> Callable[[am.Variable], am.Variable]:
    def f(x: am.Variable) -> am.Variable:
        np.random.seed(0)  # the same mask at every evaluation of the numerical gradient
        return F.dropout(x, ratio)

    return f


GRADIENT_CASES: dict[str, tuple[Callable[..., am.Variable], list[np.ndarray]]] = {
    "softmax": (F.softmax, [np.array([[0.0, 1, 2], [0, 2, 4]])]),
    "softmax 3-d": (F.softmax, [normal(3, 4, 2)]),
    "softmax axis 0": (lambda x: F.softmax(x, axis=0), [normal(3, 4)]),
    "log_softmax": (F.log_softmax, [np.array([[-1.0, 0, 1, 2], [2, 0, 1, -1]])]),
    "log_softmax 10x10": (F.log_softmax, [normal(10, 10)]),
    "leaky_relu": (F.leaky_relu, [np.array([-1.5, -0.2, 0.3, 2.0])]),
    "clip": (lambda x: F.clip(x, -1.0, 1.0), [np.array([-1.5, -0.2, 0.3, 2.0])]),
    "expand_dims": (lambda x: F.expand_dims(x, 1), [normal(2, 3)]),
    "flatten": (F.flatten, [normal(2, 3, 2)]),
    "average": (F.average, [normal(3, 4)]),
    "mean axis keepdims": (lambda x: F.mean(x, axis=1, keepdims=True), [normal(3, 4)]),
    "softmax_cross_entropy": (lambda x: F.softmax_cross_entropy(x, _t4), [normal(3, 4)]),
    "softmax_cross_entropy 10 classes": (
        lambda x: F.softmax_cross_entropy(x, am.Variable(_t10)), [normal(10, 10)],
    ),
    "sigmoid_cross_entropy": (
        lambda x: F.sigmoid_cross_entropy(x, np.array([[1], [0], [1]])), [normal(3, 1)],
    ),
    "binary_cross_entropy": (
        lambda p: F.binary_cross_entropy(p, np.array([1, 0, 1, 1])),
        [np.array([0.2, 0.4, 0.7, 0.9])],
    ),
    "dropout 0.5": (_seeded_dropout(0.5), [normal(10, 10)]),
    "dropout 0.99": (_seeded_dropout(0.99), [normal(10, 20)]),
    "dropout 0.0": (_seeded_dropout(0.0), [normal(10, 10)]),
    "batch_nrm x": (lambda x: F.batch_nrm(x, *_bn[1:]), [_bn[0]]),
    "batch_nrm gamma": (lambda g: F.batch_nrm(_bn[0], g, *_bn[2:]), [_bn[1]]),
    "batch_nrm beta": (lambda b: F.batch_nrm(_bn[0], _bn[1], b, *_bn[3:]), [_bn[2]]),
    "batch_nrm images x": (lambda x: F.batch_nrm(x, *_bn4[1:]), [_bn4[0]]),
    "batch_nrm images gamma": (lambda g: F.batch_nrm(_bn4[0], g, *_bn4[2:]), [_bn4[1]]),
    "batch_nrm all inputs": (
        lambda x, g, b: F.batch_nrm(x, g, b, _bn[3], _bn[4]), list(_bn[:3]),
    ),
    "embed_id": (lambda W: F.embed_id(np.array([0, 2, 2, 1]), W), [normal(3, 2)]),
}


@pytest.mark.parametrize("mode", REFERENCE_MODES)
@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradient_matches_central_differences(case: str, mode: str) -> None:
    function, inputs = GRADIENT_CASES[case]
    with am.reference_mode(mode):
        assert am.gradient_check(function, *inputs)


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_batch_norm_gradient_in_test_mode(mode: str) -> None:
    x, gamma, beta, mean, var = batch_norm_params(6, 3)
    with am.reference_mode(mode), am.engine.test_mode():
        assert am.gradient_check(lambda x, g: F.batch_nrm(x, g, beta, mean, var), x, gamma)


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_fast_and_graph_building_backward_agree(case: str) -> None:
    # given the same function differentiated on raw arrays and on Variables
    function, inputs = GRADIENT_CASES[case]

    # then both paths of the one vjp give the same numbers
    for fast, graph in zip(
        backward_gradients(function, inputs, False),
        backward_gradients(function, inputs, True),
        strict=True,
    ):
        np.testing.assert_allclose(fast, graph, rtol=1e-12, atol=1e-15)


SECOND_DERIVATIVE_CASES = {
    "softmax": lambda x: F.softmax(x) * x,
    "log_softmax": lambda x: F.log_softmax(x) * x,
    "softmax_cross_entropy": lambda x: F.softmax_cross_entropy(x, np.array([0, 2])),
    "sigmoid_cross_entropy": lambda x: F.sigmoid_cross_entropy(x, np.array([[1, 0, 1]])),
}


@pytest.mark.parametrize("mode", REFERENCE_MODES)
@pytest.mark.parametrize("case", sorted(SECOND_DERIVATIVE_CASES))
def test_second_derivative_matches_central_differences(case: str, mode: str) -> None:
    with am.reference_mode(mode):
        assert am.gradient_check(derivative(SECOND_DERIVATIVE_CASES[case]), normal(2, 3))
