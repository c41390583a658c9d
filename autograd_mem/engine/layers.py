"""Layers: objects that own Parameters and apply functions to them (DeZero's ``dezero.layers``).

A ``Layer`` remembers which of its attributes are Parameters or other Layers, in the
order they were set, so ``params()`` walks a whole model and an optimizer can update
it. Weights are created lazily when the input size is not given: the first call
sees the input and sizes them, as DeZero's layers do.

Weights are drawn from numpy's global generator, as DeZero's: ``np.random.seed``
makes a model's initialisation repeatable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from autograd_mem.engine.atomic_file import replacing
from autograd_mem.engine.core import Parameter
from autograd_mem.engine.functions_conv import conv2d, deconv2d, pair
from autograd_mem.engine.functions_nn import batch_nrm, embed_id
from autograd_mem.engine.ops import linear, sigmoid, tanh


class Layer:
    """A differentiable building block: Parameters and sub-layers, and a ``forward``."""

    def __init__(self) -> None:
        # Names of the Parameter and Layer attributes; a dict keeps the order they were set.
        object.__setattr__(self, "_params", {})

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_params")
        if params is None:  # a subclass that set attributes before calling __init__
            params = {}
            object.__setattr__(self, "_params", params)
        if isinstance(value, (Parameter, Layer)):
            params[name] = None
        else:
            params.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.get("_params", {}).pop(name, None)
        object.__delattr__(self, name)

    def __call__(self, *inputs: Any) -> Any:
        return self.forward(*inputs)

    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def params(self) -> Iterator[Parameter]:
        """Every Parameter of this layer and of its sub-layers, depth first, in order."""
        for name in self._params:
            value = self.__dict__[name]
            if isinstance(value, Layer):
                yield from value.params()
            else:
                yield value

    def cleargrads(self) -> None:
        for param in self.params():
            param.cleargrad()

    def _flatten_params(self, params_dict: dict[str, Parameter], parent_key: str = "") -> None:
        """``{"l0/W": Parameter, ...}``: every Parameter under a path of attribute names."""
        for name in self._params:
            value = self.__dict__[name]
            key = f"{parent_key}/{name}" if parent_key else name
            if isinstance(value, Layer):
                value._flatten_params(params_dict, key)
            else:
                params_dict[key] = value

    def save_weights(self, path: str | os.PathLike[str]) -> None:
        """Write every Parameter's array to ``path`` (npz, keyed ``"l0/W"``...), atomically.

        The file is written beside ``path`` and renamed over it, so an interrupted
        save leaves the previous file whole rather than half written.
        """
        params_dict: dict[str, Parameter] = {}
        self._flatten_params(params_dict)
        arrays = {key: p.data for key, p in params_dict.items() if p.data is not None}
        with replacing(path) as partial, open(partial, "wb") as file:
            np.savez_compressed(file, **arrays)

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Set every Parameter saved in ``path`` by :meth:`save_weights` to its array."""
        params_dict: dict[str, Parameter] = {}
        self._flatten_params(params_dict)
        with np.load(path) as saved:
            for key, param in params_dict.items():
                if key in saved:
                    param.data = saved[key]


class Linear(Layer):
    """``x @ W + b``; ``W`` is (in_size, out_size), sized at the first call if not given."""

    def __init__(
        self, out_size: int, nobias: bool = False, dtype: Any = np.float32,
        in_size: int | None = None,
    ) -> None:
        super().__init__()
        self.in_size, self.out_size, self.dtype = in_size, out_size, dtype
        self.W = Parameter(None, name="W")
        if in_size is not None:
            self._init_W()
        self.b = None if nobias else Parameter(np.zeros(out_size, dtype=dtype), name="b")

    def _init_W(self) -> None:
        scale = np.sqrt(1 / self.in_size)
        self.W.data = (np.random.randn(self.in_size, self.out_size) * scale).astype(self.dtype)

    def forward(self, x: Any) -> Any:
        if self.W.data is None:
            self.in_size = x.shape[1]
            self._init_W()
        return linear(x, self.W, self.b)


class Conv2d(Layer):
    """A convolution; ``W`` is (out_channels, in_channels, KH, KW)."""

    def __init__(
        self, out_channels: int, kernel_size: Any, stride: Any = 1, pad: Any = 0,
        nobias: bool = False, dtype: Any = np.float32, in_channels: int | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.pad, self.dtype = kernel_size, stride, pad, dtype
        self.W = Parameter(None, name="W")
        if in_channels is not None:
            self._init_W()
        self.b = None if nobias else Parameter(np.zeros(out_channels, dtype=dtype), name="b")

    def _init_W(self) -> None:
        kh, kw = pair(self.kernel_size)
        scale = np.sqrt(1 / (self.in_channels * kh * kw))
        shape = (self.out_channels, self.in_channels, kh, kw)
        self.W.data = (np.random.randn(*shape) * scale).astype(self.dtype)

    def forward(self, x: Any) -> Any:
        if self.W.data is None:
            self.in_channels = x.shape[1]
            self._init_W()
        return conv2d(x, self.W, self.b, self.stride, self.pad)


class Deconv2d(Conv2d):
    """A transposed convolution; ``W`` is (in_channels, out_channels, KH, KW)."""

    def _init_W(self) -> None:
        kh, kw = pair(self.kernel_size)
        scale = np.sqrt(1 / (self.in_channels * kh * kw))
        shape = (self.in_channels, self.out_channels, kh, kw)
        self.W.data = (np.random.randn(*shape) * scale).astype(self.dtype)

    def forward(self, x: Any) -> Any:
        if self.W.data is None:
            self.in_channels = x.shape[1]
            self._init_W()
        return deconv2d(x, self.W, self.b, self.stride, self.pad)


class BatchNorm(Layer):
    """Batch normalization with learned scale and shift, and running statistics.

    The running mean and variance are Parameters so that they travel with the model,
    but no gradient ever reaches them, so optimizers leave them alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.avg_mean = Parameter(None, name="avg_mean")
        self.avg_var = Parameter(None, name="avg_var")
        self.gamma = Parameter(None, name="gamma")
        self.beta = Parameter(None, name="beta")

    def _init_params(self, x: Any) -> None:
        channels, dtype = x.shape[1], x.dtype
        if self.avg_mean.data is None:
            self.avg_mean.data = np.zeros(channels, dtype=dtype)
        if self.avg_var.data is None:
            self.avg_var.data = np.ones(channels, dtype=dtype)
        if self.gamma.data is None:
            self.gamma.data = np.ones(channels, dtype=dtype)
        if self.beta.data is None:
            self.beta.data = np.zeros(channels, dtype=dtype)

    def forward(self, x: Any) -> Any:
        if self.avg_mean.data is None:
            self._init_params(x)
        return batch_nrm(x, self.gamma, self.beta, self.avg_mean.data, self.avg_var.data)


class EmbedID(Layer):
    """A table of ``in_size`` vectors of ``out_size``, looked up by integer id."""

    def __init__(self, in_size: int, out_size: int) -> None:
        super().__init__()
        self.W = Parameter(np.random.randn(in_size, out_size), name="W")

    def forward(self, x: Any) -> Any:
        return embed_id(x, self.W)


class RNN(Layer):
    """An Elman recurrent layer: ``h = tanh(x W_x + b + h_prev W_h)`` (the book's step 59).

    The hidden state ``h`` is the last output Variable, graph and all: each call
    adds a step to a graph that grows until ``reset_state()`` drops it or
    ``unchain_backward()`` cuts it (truncated backpropagation through time).
    """

    def __init__(self, hidden_size: int, in_size: int | None = None) -> None:
        super().__init__()
        self.x2h = Linear(hidden_size, in_size=in_size)
        # h2h reads the hidden state, so its input size is hidden_size. DeZero passes
        # in_size, which fails when the two differ; when in_size is None both are sized
        # at their first call, in DeZero's order, so a seeded run draws the same weights.
        h2h_in = None if in_size is None else hidden_size
        self.h2h = Linear(hidden_size, in_size=h2h_in, nobias=True)
        self.h: Any = None

    def reset_state(self) -> None:
        """Forget the hidden state: the next call starts a new sequence."""
        self.h = None

    def forward(self, x: Any) -> Any:
        h_new = tanh(self.x2h(x)) if self.h is None else tanh(self.x2h(x) + self.h2h(self.h))
        self.h = h_new
        return h_new


class LSTM(Layer):
    """A long short-term memory layer (the book's step 60): gates f, i, o and update u.

    ``c = f * c_prev + i * u`` and ``h = o * tanh(c)``; both states are Variables
    that carry the graph from step to step, as in ``RNN``.
    """

    def __init__(self, hidden_size: int, in_size: int | None = None) -> None:
        super().__init__()
        h, i = hidden_size, in_size
        self.x2f, self.x2i = Linear(h, in_size=i), Linear(h, in_size=i)
        self.x2o, self.x2u = Linear(h, in_size=i), Linear(h, in_size=i)
        self.h2f, self.h2i = Linear(h, in_size=h, nobias=True), Linear(h, in_size=h, nobias=True)
        self.h2o, self.h2u = Linear(h, in_size=h, nobias=True), Linear(h, in_size=h, nobias=True)
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the hidden and cell states: the next call starts a new sequence."""
        self.h: Any = None
        self.c: Any = None

    def forward(self, x: Any) -> Any:
        if self.h is None:
            f, i = sigmoid(self.x2f(x)), sigmoid(self.x2i(x))
            o, u = sigmoid(self.x2o(x)), tanh(self.x2u(x))
        else:
            f = sigmoid(self.x2f(x) + self.h2f(self.h))
            i = sigmoid(self.x2i(x) + self.h2i(self.h))
            o = sigmoid(self.x2o(x) + self.h2o(self.h))
            u = tanh(self.x2u(x) + self.h2u(self.h))
        c_new = i * u if self.c is None else f * self.c + i * u
        h_new = o * tanh(c_new)
        self.h, self.c = h_new, c_new
        return h_new


__all__ = [
    "LSTM",
    "RNN",
    "BatchNorm",
    "Conv2d",
    "Deconv2d",
    "EmbedID",
    "Layer",
    "Linear",
    "Parameter",
]
