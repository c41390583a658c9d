"""Optimizers and their hooks (DeZero's ``dezero.optimizers``).

An optimizer is set up on a Layer (usually a Model); ``update()`` takes the
Parameters that received a gradient, lets each hook adjust the gradients (weight
decay, clipping, freezing), then updates each Parameter's array in place.

The per-parameter state of the stateful optimizers (momentum's velocities, Adam's two
moments) lives in dicts keyed by ``id(param)``, as in DeZero: the state holds no
reference to a Parameter, so an optimizer adds no cycle, but it is memory a training
loop keeps for as long as the optimizer lives, one array per Parameter per moment.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from autograd_mem.engine.core import Parameter
from autograd_mem.engine.layers import Layer

Hook = Callable[[list[Parameter]], None]


class Optimizer:
    """Updates a target's Parameters from their gradients; subclasses define ``update_one``."""

    def __init__(self) -> None:
        self.target: Layer | None = None
        self.hooks: list[Hook] = []

    def setup(self, target: Layer) -> Optimizer:
        """Attach to ``target`` (returns self, so ``SGD().setup(model)`` reads as one step)."""
        self.target = target
        return self

    def update(self) -> None:
        if self.target is None:
            raise RuntimeError(f"{type(self).__name__}.update() before setup(target)")
        params = [p for p in self.target.params() if p.grad is not None]
        for hook in self.hooks:
            hook(params)
        for param in params:
            if param.grad is not None:  # a hook (FreezeParam) may have dropped it
                self.update_one(param)

    def update_one(self, param: Parameter) -> None:
        raise NotImplementedError(f"{type(self).__name__}.update_one")

    def add_hook(self, f: Hook) -> None:
        self.hooks.append(f)


def _state(table: dict[int, np.ndarray], param: Parameter) -> np.ndarray:
    """The state array of ``param`` in ``table``, zeros like its data the first time."""
    key = id(param)
    if key not in table:
        table[key] = np.zeros_like(param.data)
    return table[key]


# ---------------------------------------------------------------- hooks


class WeightDecay:
    """L2 regularization: adds ``rate * param`` to each gradient."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, params: list[Parameter]) -> None:
        for param in params:
            # Not in place: a gradient may be a read-only view (broadcast_to's, from a sum).
            param.grad.data = param.grad.data + self.rate * param.data


class ClipGrad:
    """Scales every gradient down together when their global L2 norm exceeds ``max_norm``."""

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def __call__(self, params: list[Parameter]) -> None:
        total_norm = math.sqrt(sum(float((p.grad.data**2).sum()) for p in params))
        rate = self.max_norm / (total_norm + 1e-6)
        if rate < 1:
            for param in params:
                param.grad.data = param.grad.data * rate  # not in place: see WeightDecay


class FreezeParam:
    """Drops the gradients of the given layers' Parameters (or Parameters), so they stay fixed."""

    def __init__(self, *layers: Layer | Parameter) -> None:
        self.freeze_params: list[Parameter] = []
        for item in layers:
            if isinstance(item, Parameter):
                self.freeze_params.append(item)
            else:
                self.freeze_params.extend(item.params())

    def __call__(self, params: list[Parameter]) -> None:
        for param in self.freeze_params:
            param.grad = None


# ---------------------------------------------------------------- optimizers


class SGD(Optimizer):
    def __init__(self, lr: float = 0.01) -> None:
        super().__init__()
        self.lr = lr

    def update_one(self, param: Parameter) -> None:
        param.data -= self.lr * param.grad.data


class MomentumSGD(Optimizer):
    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__()
        self.lr, self.momentum = lr, momentum
        self.vs: dict[int, np.ndarray] = {}

    def update_one(self, param: Parameter) -> None:
        v = _state(self.vs, param)
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v


class AdaGrad(Optimizer):
    def __init__(self, lr: float = 0.001, eps: float = 1e-8) -> None:
        super().__init__()
        self.lr, self.eps = lr, eps
        self.hs: dict[int, np.ndarray] = {}

    def update_one(self, param: Parameter) -> None:
        h = _state(self.hs, param)
        grad = param.grad.data
        h += grad * grad
        param.data -= self.lr * grad / (np.sqrt(h) + self.eps)


class AdaDelta(Optimizer):
    def __init__(self, rho: float = 0.95, eps: float = 1e-6) -> None:
        super().__init__()
        self.rho, self.eps = rho, eps
        self.msg: dict[int, np.ndarray] = {}
        self.msdx: dict[int, np.ndarray] = {}

    def update_one(self, param: Parameter) -> None:
        msg, msdx = _state(self.msg, param), _state(self.msdx, param)
        rho, eps, grad = self.rho, self.eps, param.grad.data
        msg *= rho
        msg += (1 - rho) * grad * grad
        dx = np.sqrt((msdx + eps) / (msg + eps)) * grad
        msdx *= rho
        msdx += (1 - rho) * dx * dx
        param.data -= dx


class Adam(Optimizer):
    """Adam; ``lr`` is the step size ``alpha`` with the bias corrections of step ``t``."""

    def __init__(
        self, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__()
        self.t = 0
        self.alpha, self.beta1, self.beta2, self.eps = alpha, beta1, beta2, eps
        self.ms: dict[int, np.ndarray] = {}
        self.vs: dict[int, np.ndarray] = {}

    def update(self) -> None:
        self.t += 1
        super().update()

    @property
    def lr(self) -> float:
        correction1 = 1.0 - math.pow(self.beta1, self.t)
        correction2 = 1.0 - math.pow(self.beta2, self.t)
        return self.alpha * math.sqrt(correction2) / correction1

    def update_one(self, param: Parameter) -> None:
        m, v = _state(self.ms, param), _state(self.vs, param)
        grad = param.grad.data
        m += (1 - self.beta1) * (grad - m)
        v += (1 - self.beta2) * (grad * grad - v)
        param.data -= self.lr * m / (np.sqrt(v) + self.eps)


__all__ = [
    "SGD",
    "AdaDelta",
    "AdaGrad",
    "Adam",
    "ClipGrad",
    "FreezeParam",
    "MomentumSGD",
    "Optimizer",
    "WeightDecay",
]
