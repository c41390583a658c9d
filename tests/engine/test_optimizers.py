"""Optimizers and hooks: each update against its formula, over steps that carry state."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import autograd_mem as am
import autograd_mem.functions as F
import autograd_mem.layers as L
import autograd_mem.optimizers as O
from autograd_mem.engine import REFERENCE_MODES
from autograd_mem.models import MLP

rng = np.random.default_rng(11)
STEPS = 3


def sgd_reference(lr: float) -> Callable[[np.ndarray, np.ndarray, dict], np.ndarray]:
    def step(w, g, state):
        return w - lr * g

    return step


def momentum_reference(lr: float, momentum: float):
    def step(w, g, state):
        state["v"] = momentum * state.get("v", 0) - lr * g
        return w + state["v"]

    return step


def adagrad_reference(lr: float, eps: float):
    def step(w, g, state):
        state["h"] = state.get("h", 0) + g**2
        return w - lr * g / (np.sqrt(state["h"]) + eps)

    return step


def adadelta_reference(rho: float, eps: float):
    def step(w, g, state):
        state["msg"] = rho * state.get("msg", 0) + (1 - rho) * g**2
        dx = np.sqrt((state.get("msdx", 0) + eps) / (state["msg"] + eps)) * g
        state["msdx"] = rho * state.get("msdx", 0) + (1 - rho) * dx**2
        return w - dx

    return step


def adam_reference(alpha: float, beta1: float, beta2: float, eps: float):
    # the paper's form, with bias-corrected moments; DeZero folds the corrections into the
    # step size, which is this with eps scaled by 1 / sqrt(1 - beta2 ** t)
    def step(w, g, state):
        t = state["t"] = state.get("t", 0) + 1
        state["m"] = beta1 * state.get("m", 0) + (1 - beta1) * g
        state["v"] = beta2 * state.get("v", 0) + (1 - beta2) * g**2
        m_hat, v_hat = state["m"] / (1 - beta1**t), state["v"] / (1 - beta2**t)
        return w - alpha * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - beta2**t))

    return step


CASES = {
    "SGD": (lambda: O.SGD(lr=0.1), sgd_reference(0.1)),
    "MomentumSGD": (lambda: O.MomentumSGD(lr=0.1, momentum=0.8), momentum_reference(0.1, 0.8)),
    "AdaGrad": (lambda: O.AdaGrad(lr=0.1, eps=1e-8), adagrad_reference(0.1, 1e-8)),
    "AdaDelta": (lambda: O.AdaDelta(rho=0.9, eps=1e-6), adadelta_reference(0.9, 1e-6)),
    "Adam": (lambda: O.Adam(alpha=0.01), adam_reference(0.01, 0.9, 0.999, 1e-8)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_updates_follow_the_formula_step_after_step(name: str) -> None:
    # given a layer whose gradients are set by hand, step after step
    make_optimizer, reference = CASES[name]
    layer = L.Linear(3, in_size=2, dtype=np.float64)
    optimizer = make_optimizer().setup(layer)
    expected = [p.data.copy() for p in layer.params()]
    states: list[dict] = [{} for _ in expected]
    for _ in range(STEPS):
        grads = [rng.standard_normal(p.shape) for p in layer.params()]
        for p, g in zip(layer.params(), grads, strict=True):
            p.grad = am.Variable(g.copy())
        # when the optimizer updates
        optimizer.update()
        # then each parameter moved as the formula says, its state carried over
        expected = [reference(w, g, s) for w, g, s in zip(expected, grads, states, strict=True)]
        for p, w in zip(layer.params(), expected, strict=True):
            np.testing.assert_allclose(p.data, w, rtol=1e-12, atol=1e-15)


def test_parameters_without_a_gradient_are_left_alone() -> None:
    layer = L.Linear(2, in_size=2, dtype=np.float64)
    before = layer.W.data.copy()
    layer.b.grad = am.Variable(np.ones(2))
    O.MomentumSGD(lr=1.0).setup(layer).update()
    np.testing.assert_array_equal(layer.W.data, before)
    np.testing.assert_array_equal(layer.b.data, [-1.0, -1.0])


def test_update_before_setup_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="setup"):
        O.SGD().update()


def test_stateful_optimizers_keep_one_array_per_parameter_and_moment() -> None:
    model = MLP((4, 2))
    optimizer = O.Adam().setup(model)
    F.sum(model(rng.standard_normal((3, 2)))).backward()
    optimizer.update()
    assert len(optimizer.ms) == len(optimizer.vs) == len(list(model.params())) == 4
    assert sorted(m.shape for m in optimizer.ms.values()) == sorted(
        p.shape for p in model.params()
    )


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_weight_decay_is_the_gradient_of_an_l2_penalty(mode: str) -> None:
    # DeZero's case: SGD with WeightDecay(rate) equals SGD on loss + rate / 2 * ||W||^2
    rate = 0.4
    x, t = rng.random((10, 2)), np.zeros(10, dtype=int)

    def trained_weights(with_hook: bool) -> np.ndarray:
        layer = L.Linear(3, nobias=True, in_size=2)
        layer.W.data = np.ones_like(layer.W.data)
        optimizer = O.SGD().setup(layer)
        loss = F.softmax_cross_entropy(layer(x), t)
        if with_hook:
            optimizer.add_hook(O.WeightDecay(rate))
        else:
            loss = loss + rate / 2 * F.sum(layer.W**2)
        loss.backward()
        optimizer.update()
        return layer.W.data

    with am.reference_mode(mode):
        np.testing.assert_allclose(trained_weights(True), trained_weights(False), rtol=1e-6)


def test_clip_grad_scales_all_gradients_to_the_max_norm_only_when_above_it() -> None:
    layer = L.Linear(2, in_size=2, dtype=np.float64)
    optimizer = O.SGD(lr=0.0).setup(layer)
    optimizer.add_hook(O.ClipGrad(1.0))
    layer.W.grad = am.Variable(np.full((2, 2), 3.0))
    layer.b.grad = am.Variable(np.full(2, 4.0))  # global norm sqrt(4 * 9 + 2 * 16) > 1
    optimizer.update()
    norm = np.sqrt((layer.W.grad.data**2).sum() + (layer.b.grad.data**2).sum())
    np.testing.assert_allclose(norm, 1.0, rtol=1e-5)
    np.testing.assert_allclose(layer.W.grad.data / layer.b.grad.data[0], 0.75)  # direction kept
    small = np.full(2, 0.1)
    layer.b.grad = am.Variable(small.copy())
    layer.W.grad = None
    optimizer.update()
    np.testing.assert_array_equal(layer.b.grad.data, small)


def test_freeze_param_keeps_the_frozen_layer_fixed() -> None:
    model = MLP((3, 2))
    optimizer = O.SGD(lr=1.0).setup(model)
    optimizer.add_hook(O.FreezeParam(model.l0))
    loss = F.sum(model(rng.standard_normal((4, 2))))  # sizes the weights
    frozen = [p.data.copy() for p in model.l0.params()]
    free = [p.data.copy() for p in model.l1.params()]
    loss.backward()
    optimizer.update()
    for p, before in zip(model.l0.params(), frozen, strict=True):
        np.testing.assert_array_equal(p.data, before)
    assert all(
        not np.array_equal(p.data, before)
        for p, before in zip(model.l1.params(), free, strict=True)
    )


@pytest.mark.parametrize("mode", REFERENCE_MODES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_optimizer_fits_a_small_regression(name: str, mode: str) -> None:
    # given y = 2x - 1 and a one-unit Linear layer
    x = rng.random((32, 1))
    y = 2 * x - 1
    make_optimizer = {
        "SGD": lambda: O.SGD(lr=0.5),
        "MomentumSGD": lambda: O.MomentumSGD(lr=0.1),
        "AdaGrad": lambda: O.AdaGrad(lr=0.5),
        "AdaDelta": lambda: O.AdaDelta(),
        "Adam": lambda: O.Adam(alpha=0.1),
    }[name]
    with am.reference_mode(mode):
        np.random.seed(0)  # the layer's weight: an unseeded draw made AdaDelta's case flaky
        layer = L.Linear(1, in_size=1, dtype=np.float64)
        optimizer = make_optimizer().setup(layer)
        first = None
        for _ in range(200):
            loss = F.mean_squared_error(layer(x), y)
            first = float(loss.data) if first is None else first
            layer.cleargrads()
            loss.backward()
            optimizer.update()
    # then the loss fell by more than half (AdaDelta, without a learning rate, is slow)
    assert float(loss.data) < 0.5 * first
