"""The neural-network functions of DeZero: softmax and its losses, dropout, batch norm.

Declared the way ``engine/ops.py`` declares its ops: one ``Function`` subclass with
its forward on raw arrays and its gradient written once as ``vjp``, plus a lowercase
function that calls it. A gradient runs on arrays (backward's fast path) or on
Variables (``create_graph=True``); where it needs a function that the two do not
share as a method or operator (``exp``, ``softmax``), it takes it from :func:`_lib`,
chosen by the kind of gradient it was handed, so the one ``vjp`` serves both paths.

Functions DeZero writes as compositions of other functions (``average``,
``sigmoid_cross_entropy``, ``flatten``...) are compositions here too: their graph,
and so the memory it holds, is the one a DeZero user builds.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from autograd_mem.engine.core import Config, Function, Variable, as_array, as_variable
from autograd_mem.engine.ops import exp, get_item, log, reshape, sigmoid
from autograd_mem.engine.ops import sum as sum_

_call = Function.__call__  # see ops.py: calling it as a plain function skips the C slot


def training() -> bool:
    """True unless the engine is in test mode (DeZero's ``Config.train``, set by
    ``test_mode()``): dropout and batch norm behave differently there."""
    return bool(Config.train)


def _data(x: Any) -> np.ndarray:
    """The array behind a Variable, or the array itself: masks are constants."""
    return x.data if isinstance(x, Variable) else x


def _lib(gradient: Any) -> SimpleNamespace:
    """The functions a ``vjp`` computes with: numpy's for arrays, the engine's for Variables."""
    return VARIABLE_LIB if isinstance(gradient, Variable) else ARRAY_LIB


def _softmax_array(x: np.ndarray, axis: Any = 1) -> np.ndarray:
    y = np.exp(x - x.max(axis=axis, keepdims=True))
    y /= y.sum(axis=axis, keepdims=True)
    return y


def _logsumexp_array(x: np.ndarray, axis: Any = 1) -> np.ndarray:
    """log(sum(exp(x))) over ``axis``, kept dims, shifted by the max so exp cannot overflow."""
    m = x.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------- activations


class Softmax(Function):
    __slots__ = ("axis",)

    def __init__(self, axis: Any = 1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        return _softmax_array(x, self.axis)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        y, gy = ys[0], gys[0]
        gx = y * gy
        return gx - y * gx.sum(axis=self.axis, keepdims=True)


class LogSoftmax(Function):
    __slots__ = ("axis",)

    def __init__(self, axis: Any = 1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x - _logsumexp_array(x, self.axis)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        y, gy = ys[0], gys[0]
        return gy - _lib(gy).exp(y) * gy.sum(axis=self.axis, keepdims=True)


class LeakyReLU(Function):
    __slots__ = ("slope",)

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, x * self.slope)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x = _data(xs[0])
        # A constant mask: the second derivative is zero almost everywhere.
        return gys[0] * np.where(x > 0, 1, self.slope).astype(x.dtype)


class Clip(Function):
    __slots__ = ("x_max", "x_min")

    def __init__(self, x_min: Any, x_max: Any) -> None:
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.x_min, self.x_max)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x = _data(xs[0])
        return gys[0] * ((x >= self.x_min) & (x <= self.x_max)).astype(x.dtype)


def softmax(x: Any, axis: Any = 1) -> Variable:
    return _call(Softmax(axis), x)


def log_softmax(x: Any, axis: Any = 1) -> Variable:
    return _call(LogSoftmax(axis), x)


def leaky_relu(x: Any, slope: float = 0.2) -> Variable:
    return _call(LeakyReLU(slope), x)


def clip(x: Any, x_min: Any, x_max: Any) -> Variable:
    return _call(Clip(x_min, x_max), x)


# ---------------------------------------------------------------- shapes and reductions


def expand_dims(x: Any, axis: int) -> Variable:
    """A new axis of length 1 at ``axis`` (negative counts from the end, as numpy's)."""
    x = as_variable(x)
    shape = list(x.shape)
    shape.insert(axis % (x.ndim + 1), 1)
    return reshape(x, tuple(shape))


def flatten(x: Any) -> Variable:
    """Keep the first axis (the batch), flatten the rest."""
    x = as_variable(x)
    return reshape(x, (x.shape[0], -1))


def average(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    x = as_variable(x)
    y = sum_(x, axis, keepdims)
    return y * (y.size / x.size)


mean = average


# ---------------------------------------------------------------- losses and metrics


class SoftmaxCrossEntropy(Function):
    """Mean cross entropy of ``softmax(x)`` against integer labels, in one node.

    The labels are a constant of the node, not an input: nothing differentiates them.
    """

    __slots__ = ("t",)

    def __init__(self, t: np.ndarray) -> None:
        self.t = t

    def forward(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        log_p = x - _logsumexp_array(x, axis=1)
        picked = log_p[np.arange(n), self.t.ravel()]
        return np.asarray(-picked.sum() / n, dtype=x.dtype)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x, gy = xs[0], gys[0]
        n, classes = x.shape
        one_hot = np.eye(classes, dtype=x.dtype)[self.t.ravel()]
        return (_lib(gy).softmax(x, 1) - one_hot) * (gy / n)


def softmax_cross_entropy(x: Any, t: Any) -> Variable:
    return _call(SoftmaxCrossEntropy(as_array(_data(t))), x)


def sigmoid_cross_entropy(x: Any, t: Any) -> Variable:
    """Mean binary cross entropy of ``sigmoid(x)`` against 0/1 targets ``t``."""
    x = as_variable(x)
    t = as_variable(t)
    if x.ndim != t.ndim:
        t = reshape(t, x.shape)
    p = clip(sigmoid(x), 1e-15, 1.0)
    return _mean_log_likelihood(p, t, len(x))


def binary_cross_entropy(p: Any, t: Any) -> Variable:
    """Mean binary cross entropy of probabilities ``p`` against 0/1 targets ``t``."""
    p = as_variable(p)
    t = as_variable(t)
    if p.ndim != t.ndim:
        t = reshape(t, p.shape)
    return _mean_log_likelihood(clip(p, 1e-15, 0.999), t, len(p))


def _mean_log_likelihood(p: Variable, t: Variable, n: int) -> Variable:
    """-(t log p + (1 - t) log(1 - p)), summed and divided by ``n``: both losses above."""
    return -sum_(t * log(p) + (1 - t) * log(1 - p)) / n


def accuracy(y: Any, t: Any) -> Variable:
    """The fraction of rows of ``y`` whose largest entry is at the label: no graph, no gradient."""
    y_data, t_data = as_array(_data(y)), as_array(_data(t))
    predicted = y_data.argmax(axis=1).reshape(t_data.shape)
    return Variable(as_array((predicted == t_data).mean()))


# ---------------------------------------------------------------- regularization and embeddings


class Dropout(Function):
    """``x * mask / (1 - ratio)``, the scaled mask kept by the node for backward."""

    __slots__ = ("ratio", "scaled_mask")

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio

    def forward(self, x: np.ndarray) -> np.ndarray:
        # numpy's global generator, as DeZero: np.random.seed makes a run repeatable.
        keep = np.random.rand(*x.shape) > self.ratio
        self.scaled_mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.ratio)
        return x * self.scaled_mask

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return gys[0] * self.scaled_mask


def dropout(x: Any, dropout_ratio: float = 0.5) -> Variable:
    """Drop each element with probability ``dropout_ratio`` when training; identity in test mode."""
    if not 0.0 <= dropout_ratio < 1.0:
        raise ValueError(f"dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
    x = as_variable(x)
    if not training():
        return x
    return _call(Dropout(dropout_ratio), x)


class BatchNorm(Function):
    """Batch normalization over the batch (and, for images, every pixel) of each channel.

    While training it normalizes with the batch's statistics and folds them, in place,
    into the running ``mean`` and ``var`` arrays it was given (the layer's); in test
    mode it normalizes with those running statistics.
    """

    __slots__ = ("decay", "eps", "inv_std", "mean", "train", "var")

    def __init__(self, mean: np.ndarray, var: np.ndarray, decay: float, eps: float) -> None:
        self.mean = mean
        self.var = var
        self.decay = decay
        self.eps = eps

    def forward(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
        rows = _channels_last(x)
        self.train = training()
        if self.train:
            batch_mean, batch_var = rows.mean(axis=0), rows.var(axis=0)
            count = rows.size // gamma.size
            unbiased = count / max(count - 1.0, 1.0)
            self.mean *= self.decay
            self.mean += (1 - self.decay) * batch_mean
            self.var *= self.decay
            self.var += (1 - self.decay) * unbiased * batch_var
        else:
            batch_mean, batch_var = self.mean, self.var
        self.inv_std = 1 / np.sqrt(batch_var + self.eps)
        y = gamma * ((rows - batch_mean) * self.inv_std) + beta
        return _channels_first(y, x.shape)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x, gamma, gy = xs[0], xs[1], gys[0]
        rows_gy = _channels_last(gy)
        rows = _channels_last(_data(x))
        centre = rows.mean(axis=0) if self.train else self.mean
        normalized = (rows - centre) * self.inv_std  # a constant, as in DeZero
        gbeta = rows_gy.sum(axis=0)
        ggamma = (normalized * rows_gy).sum(axis=0)
        if self.train:
            n = len(rows_gy)
            rows_gy = rows_gy - gbeta / n - normalized * ggamma / n
        gx = rows_gy * (gamma * self.inv_std)
        return _channels_first(gx, x.shape), ggamma, gbeta


def _channels_last(x: Any) -> Any:
    """Images (N, C, H, W) as rows (N*H*W, C); a (N, C) batch as it is."""
    if x.ndim != 4:
        return x
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _channels_first(rows: Any, shape: tuple[int, ...]) -> Any:
    """The inverse of :func:`_channels_last` for an input of ``shape``."""
    if len(shape) != 4:
        return rows
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def batch_nrm(
    x: Any, gamma: Any, beta: Any, mean: np.ndarray, var: np.ndarray,
    decay: float = 0.9, eps: float = 2e-5,
) -> Variable:
    """DeZero's batch norm; ``mean`` and ``var`` are running statistics, updated in place."""
    return _call(BatchNorm(mean, var, decay, eps), x, gamma, beta)


batch_norm = batch_nrm


def embed_id(x: Any, W: Any) -> Variable:
    """The rows of ``W`` at the integer ids ``x``: an embedding lookup."""
    return get_item(W, as_array(_data(x)))


# ---------------------------------------------------------------- the two libraries


ARRAY_LIB = SimpleNamespace(exp=np.exp, softmax=_softmax_array)
VARIABLE_LIB = SimpleNamespace(exp=exp, softmax=softmax)
assert vars(ARRAY_LIB).keys() == vars(VARIABLE_LIB).keys()

# The spelling DeZero's own layers and tests import (``dezero.functions.batch_nrom``).
batch_nrom = batch_nrm

__all__ = [
    "BatchNorm",
    "Clip",
    "LeakyReLU",
    "LogSoftmax",
    "Softmax",
    "SoftmaxCrossEntropy",
    "accuracy",
    "average",
    "batch_norm",
    "batch_nrm",
    "batch_nrom",
    "binary_cross_entropy",
    "clip",
    "dropout",
    "embed_id",
    "expand_dims",
    "flatten",
    "leaky_relu",
    "log_softmax",
    "mean",
    "sigmoid_cross_entropy",
    "softmax",
    "softmax_cross_entropy",
]
