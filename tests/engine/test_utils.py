"""DeZero's ``utils``: numpy helpers against numpy, DeZero's gradient-check contract, files.

Cases follow DeZero's use of these helpers in its functions and tests.
"""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem import utils

rng = np.random.default_rng(26)


@pytest.mark.parametrize(
    ("shape", "target"), [((2, 3, 4), (3, 1)), ((2, 3), (1, 3)), ((2, 3), (2, 3)), ((4,), ())]
)
def test_sum_to_inverts_broadcasting(shape: tuple, target: tuple) -> None:
    x = rng.standard_normal(shape)
    y = utils.sum_to(x, target)
    assert y.shape == target
    # the adjoint of broadcast_to: <broadcast(c), x> == <c, sum_to(x)>
    c = rng.standard_normal(target)
    np.testing.assert_allclose((np.broadcast_to(c, shape) * x).sum(), (c * y).sum())


@pytest.mark.parametrize(
    ("axis", "keepdims", "shape"),
    [(None, False, ()), (1, False, (2, 1, 4)), (-1, False, (2, 3, 1)), ((0, 2), False, (1, 3, 1)),
     (1, True, (2, 1, 4))],
)  # fmt: skip
def test_reshape_sum_backward_puts_the_summed_axes_back(axis, keepdims, shape) -> None:
    x = rng.standard_normal((2, 3, 4))
    gy = x.sum(axis=axis, keepdims=keepdims)
    reshaped = utils.reshape_sum_backward(gy, x.shape, axis, keepdims)
    assert reshaped.shape == (shape if axis is not None else gy.shape)
    assert np.broadcast_to(reshaped, x.shape).shape == x.shape


def test_logsumexp_is_stable_and_exact() -> None:
    x = np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(utils.logsumexp(x), [[1000.0 + np.log(2)], [np.log(4.0)]])


def test_max_backward_shape_sets_reduced_axes_to_one() -> None:
    x = np.zeros((2, 3, 4))
    assert utils.max_backward_shape(x, None) == [1, 1, 1]
    assert utils.max_backward_shape(x, 1) == [2, 1, 4]
    assert utils.max_backward_shape(x, (0, 2)) == [1, 3, 1]


def test_dezero_gradient_check_differentiates_the_first_argument_only() -> None:
    # given a function of x with a constant second argument, as DeZero's tests pass them
    x, W = rng.standard_normal((3, 2)), rng.standard_normal((2, 4))
    assert utils.gradient_check(F.matmul, x, W) is True
    # and numerical_grad is the central difference of sum(f)
    np.testing.assert_allclose(
        utils.numerical_grad(F.matmul, x.copy(), W), np.ones((3, 4)) @ W.T, rtol=1e-6
    )


def test_dezero_gradient_check_returns_false_and_says_why_for_a_wrong_gradient(capsys) -> None:
    class WrongSquare(am.Function):
        def forward(self, x):
            return x**2

        def backward(self, gy):
            return 3 * self.inputs[0] * gy  # should be 2x

    assert utils.gradient_check(lambda x: WrongSquare()(x), np.array([1.0, 2.0])) is False
    assert "gradient check failed" in capsys.readouterr().out


def test_array_comparisons_read_variables_and_arrays() -> None:
    a = np.array([1.0, 2.0])
    assert utils.array_equal(am.Variable(a), a) and not utils.array_equal(a, a + 1)
    assert utils.array_allclose(am.Variable(a), a + 1e-7)
    assert not utils.array_allclose(a, a + 1e-3)


def test_conv_sizes_and_pair() -> None:
    assert utils.get_conv_outsize(7, 3, 2, 1) == 4
    assert utils.get_deconv_outsize(4, 3, 2, 1) == 7
    assert utils.pair(3) == (3, 3) and utils.pair((1, 2)) == (1, 2)


def test_get_file_fetches_once_into_the_cache_and_leaves_no_partial_file(
    tmp_path, monkeypatch, capsys
) -> None:
    # given a file at a URL (file://, so no network) and an empty cache
    source = tmp_path / "weights.npz"
    source.write_bytes(b"0123456789")
    cache = tmp_path / "cache"
    import autograd_mem.engine.utils as engine_utils

    monkeypatch.setattr(engine_utils, "cache_dir", str(cache))
    # when it is asked for twice
    first = engine_utils.get_file(source.as_uri())
    source.unlink()
    second = engine_utils.get_file(source.as_uri())
    # then it was fetched once, under its own name, and nothing else is in the cache
    assert first == second == str(cache / "weights.npz")
    assert (cache / "weights.npz").read_bytes() == b"0123456789"
    assert sorted(p.name for p in cache.iterdir()) == ["weights.npz"]
    # and a failed fetch leaves nothing behind
    with pytest.raises(OSError):
        engine_utils.get_file((tmp_path / "missing.npz").as_uri())
    assert sorted(p.name for p in cache.iterdir()) == ["weights.npz"]
    assert "Downloading: weights.npz" in capsys.readouterr().out


def test_cache_npz_round_trips_and_keeps_an_existing_file(tmp_path, monkeypatch) -> None:
    import autograd_mem.engine.datasets as engine_datasets

    monkeypatch.setattr(engine_datasets, "cache_dir", str(tmp_path))
    assert am.datasets.load_cache_npz("http://x/mnist.gz", train=True) == (None, None)
    saved = am.datasets.save_cache_npz(np.arange(3), np.arange(3) * 2, "http://x/mnist.gz", True)
    assert saved == str(tmp_path / "mnist.gz.train.npz")
    assert am.datasets.save_cache_npz(np.zeros(1), np.zeros(1), "mnist.gz", True) is None
    data, label = am.datasets.load_cache_npz("mnist.gz", train=True)
    np.testing.assert_array_equal(data, [0, 1, 2])
    np.testing.assert_array_equal(label, [0, 2, 4])
