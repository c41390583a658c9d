"""The differentiable operations: one Function subclass and one lowercase function each.

Each op's forward and gradient sit side by side (micrograd's habit). Where the
forward is one numpy ufunc, ``forward`` *is* that ufunc (a ``staticmethod``): the
call then goes straight to C, which matters on small arrays. A gradient is
written once, as ``vjp(ops, xs, ys, gys)``, against ``ops``: ``ARRAY_OPS`` (numpy,
when backward runs on raw arrays: the fast path) or ``VARIABLE_OPS`` (these very
functions, when ``create_graph=True`` needs a differentiable gradient). Arithmetic
operators and the ``.shape``/``.T``/``.reshape``/``.transpose`` of arrays and
Variables agree, so most gradients need nothing from ``ops`` at all.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from autograd_mem.engine.function import Function
from autograd_mem.engine.variable import Variable, as_array

# The op functions call ``Function.__call__`` as a plain function: Python then runs it
# inline, where ``Square()(x)`` would go through the C slot for ``__call__`` (a tuple of
# arguments and a nested interpreter loop, per op).
_call = Function.__call__


def _operand(x: Any, other: Any) -> Any:
    """Make a binary op's operand an array or Variable; Python scalars take the other's dtype.

    Without this, ``float32_variable * 2.0`` would be promoted to float64 by a 0-d
    float64 array; numpy itself treats Python scalars as "weak" in the same way.
    """
    if isinstance(x, (Variable, np.ndarray)):
        return x
    if isinstance(x, (bool, int, float, complex)):
        other_dtype = other.dtype if isinstance(other, (Variable, np.ndarray)) else None
        if other_dtype is not None:
            return np.asarray(x, dtype=np.result_type(other_dtype, x))
    return as_array(x)


def _sum_to_array(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``x`` down to ``shape``: the inverse of numpy broadcasting ``shape`` up to x's."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1)
    y = x.sum(axis=axes, keepdims=True)
    if lead:
        y = y.reshape(shape)
    return y


def _get_item_grad_array(gy: np.ndarray, slices: Any, in_shape: tuple[int, ...]) -> np.ndarray:
    """Scatter ``gy`` back into zeros of ``in_shape``; repeated indices add up."""
    gx = np.zeros(in_shape, dtype=gy.dtype)
    np.add.at(gx, slices, gy)
    return gx


def _reduced_shape(in_shape: tuple[int, ...], axis: Any, keepdims: bool) -> tuple[int, ...] | None:
    """The shape of a sum over ``axis`` with keepdims, or None if it already has it."""
    if keepdims or not in_shape:
        return None
    ndim = len(in_shape)
    if axis is None:
        axes = range(ndim)
    elif isinstance(axis, int):
        axes = (axis % ndim,)
    else:
        axes = tuple(a % ndim for a in axis)
    return tuple(1 if i in axes else n for i, n in enumerate(in_shape))


# ---------------------------------------------------------------- arithmetic


class Add(Function):
    __slots__ = ()

    forward = staticmethod(np.add)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x0, x1), (gy,) = xs, gys
        if x0.shape == x1.shape:
            return gy, gy
        return ops.sum_to(gy, x0.shape), ops.sum_to(gy, x1.shape)


class Sub(Function):
    __slots__ = ()

    forward = staticmethod(np.subtract)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x0, x1), (gy,) = xs, gys
        if x0.shape == x1.shape:
            return gy, -gy
        return ops.sum_to(gy, x0.shape), ops.sum_to(-gy, x1.shape)


class Mul(Function):
    __slots__ = ()

    forward = staticmethod(np.multiply)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x0, x1), (gy,) = xs, gys
        if x0.shape == x1.shape:
            return gy * x1, gy * x0
        return ops.sum_to(gy * x1, x0.shape), ops.sum_to(gy * x0, x1.shape)


class Div(Function):
    __slots__ = ()

    forward = staticmethod(np.true_divide)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x0, x1), (gy,) = xs, gys
        gx0 = gy / x1
        gx1 = -gx0 * x0 / x1
        if x0.shape == x1.shape:
            return gx0, gx1
        return ops.sum_to(gx0, x0.shape), ops.sum_to(gx1, x1.shape)


class Neg(Function):
    __slots__ = ()

    forward = staticmethod(np.negative)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return -gys[0]


class Pow(Function):
    """``x ** c`` for a constant exponent ``c`` (a Variable exponent goes through exp/log)."""

    __slots__ = ("c",)

    def __init__(self, c: Any) -> None:
        self.c = c

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x**self.c

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x,), (gy,), c = xs, gys, self.c
        gx = c * x ** (c - 1) * gy
        return gx if gx.shape == x.shape else ops.sum_to(gx, x.shape)


class Square(Function):
    __slots__ = ()

    forward = staticmethod(np.square)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x = xs[0]
        return (x + x) * gys[0]  # x + x: an array op, cheaper than a Python scalar times an array


def add(x0: Any, x1: Any) -> Variable:
    return _call(Add(), _operand(x0, x1), _operand(x1, x0))


def sub(x0: Any, x1: Any) -> Variable:
    return _call(Sub(), _operand(x0, x1), _operand(x1, x0))


def mul(x0: Any, x1: Any) -> Variable:
    return _call(Mul(), _operand(x0, x1), _operand(x1, x0))


def div(x0: Any, x1: Any) -> Variable:
    return _call(Div(), _operand(x0, x1), _operand(x1, x0))


def rsub(x0: Any, x1: Any) -> Variable:
    """``x1 - x0``: DeZero's reflected subtraction (``Variable.__rsub__``)."""
    return sub(x1, x0)


def rdiv(x0: Any, x1: Any) -> Variable:
    """``x1 / x0``: DeZero's reflected division (``Variable.__rtruediv__``)."""
    return div(x1, x0)


def neg(x: Any) -> Variable:
    return _call(Neg(), x)


def pow(x: Any, c: Any) -> Variable:
    """``x ** c``; differentiable in ``c`` too when ``c`` is a Variable (then x must be > 0)."""
    if isinstance(c, Variable):
        return exp(c * log(_operand(x, c)))
    return _call(Pow(c), x)


def square(x: Any) -> Variable:
    return _call(Square(), x)


# ---------------------------------------------------------------- elementwise functions


class Exp(Function):
    __slots__ = ()

    forward = staticmethod(np.exp)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return gys[0] * ys[0]


class Log(Function):
    __slots__ = ()

    forward = staticmethod(np.log)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return gys[0] / xs[0]


class Sin(Function):
    __slots__ = ()

    forward = staticmethod(np.sin)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return gys[0] * ops.cos(xs[0])


class Cos(Function):
    __slots__ = ()

    forward = staticmethod(np.cos)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return gys[0] * -ops.sin(xs[0])


class Tanh(Function):
    __slots__ = ()

    forward = staticmethod(np.tanh)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        y = ys[0]
        return gys[0] * (1 - y * y)


class Sigmoid(Function):
    __slots__ = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        # tanh form: no overflow warning from exp(-x) for large negative x.
        return np.tanh(x * 0.5) * 0.5 + 0.5

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        y = ys[0]
        return gys[0] * y * (1 - y)


class ReLU(Function):
    __slots__ = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        # The mask is a constant: relu's second derivative is zero almost everywhere.
        return gys[0] * (ops.data(xs[0]) > 0)


def exp(x: Any) -> Variable:
    return _call(Exp(), x)


def log(x: Any) -> Variable:
    return _call(Log(), x)


def sin(x: Any) -> Variable:
    return _call(Sin(), x)


def cos(x: Any) -> Variable:
    return _call(Cos(), x)


def tanh(x: Any) -> Variable:
    return _call(Tanh(), x)


def sigmoid(x: Any) -> Variable:
    return _call(Sigmoid(), x)


def relu(x: Any) -> Variable:
    return _call(ReLU(), x)


# ---------------------------------------------------------------- shapes


class Reshape(Function):
    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.shape)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return gys[0].reshape(xs[0].shape)


class Transpose(Function):
    __slots__ = ("axes",)

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        self.axes = axes

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.transpose(self.axes)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        if self.axes is None:
            return gys[0].transpose()
        ndim = len(self.axes)
        inverse = tuple(int(i) for i in np.argsort([a % ndim for a in self.axes]))
        return gys[0].transpose(inverse)


class Sum(Function):
    __slots__ = ("axis", "keepdims")

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x_shape, gy = xs[0].shape, gys[0]
        kept_shape = _reduced_shape(x_shape, self.axis, self.keepdims)
        if kept_shape is not None:
            gy = gy.reshape(kept_shape)
        return ops.broadcast_to(gy, x_shape)


class BroadcastTo(Function):
    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, self.shape)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return ops.sum_to(gys[0], xs[0].shape)


class SumTo(Function):
    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        return _sum_to_array(x, self.shape)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return ops.broadcast_to(gys[0], xs[0].shape)


class GetItem(Function):
    __slots__ = ("slices",)

    def __init__(self, slices: Any) -> None:
        self.slices = slices

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x[self.slices]

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return ops.get_item_grad(gys[0], self.slices, xs[0].shape)


class GetItemGrad(Function):
    """The gradient of ``get_item``, as an op of its own so it can be differentiated."""

    __slots__ = ("in_shape", "slices")

    def __init__(self, slices: Any, in_shape: tuple[int, ...]) -> None:
        self.slices = slices
        self.in_shape = in_shape

    def forward(self, gy: np.ndarray) -> np.ndarray:
        return _get_item_grad_array(gy, self.slices, self.in_shape)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return gys[0][self.slices]


class Max(Function):
    """The largest element along ``axis``; every element equal to it gets the gradient.

    As in DeZero, ties all receive the whole gradient (not a share of it).
    """

    __slots__ = ("axis", "keepdims")

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return _extremum_vjp(ops, self.axis, self.keepdims, xs[0], ys[0], gys[0])


class Min(Max):
    """The smallest element along ``axis``; every element equal to it gets the gradient."""

    __slots__ = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.min(axis=self.axis, keepdims=self.keepdims)


def _extremum_vjp(ops: Any, axis: Any, keepdims: bool, x: Any, y: Any, gy: Any) -> Any:
    """Send ``gy`` to the elements of ``x`` equal to the reduced ``y`` (max or min).

    The mask is a constant, as relu's is: it is zero almost everywhere in its
    own derivative.
    """
    x_shape = x.shape
    kept_shape = _reduced_shape(x_shape, axis, keepdims)
    y = ops.data(y)
    if kept_shape is not None:
        y = y.reshape(kept_shape)
        gy = gy.reshape(kept_shape)
    return ops.broadcast_to(gy, x_shape) * (ops.data(x) == y)


def reshape(x: Any, shape: tuple[int, ...]) -> Variable:
    if isinstance(x, Variable) and x.shape == tuple(shape):
        return x
    return _call(Reshape(tuple(shape)), x)


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Variable:
    return _call(Transpose(None if axes is None else tuple(axes)), x)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    return _call(Sum(axis, keepdims), x)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    return _call(Max(axis, keepdims), x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    return _call(Min(axis, keepdims), x)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Variable:
    if isinstance(x, Variable) and x.shape == tuple(shape):
        return x
    return _call(BroadcastTo(tuple(shape)), x)


def sum_to(x: Any, shape: tuple[int, ...]) -> Variable:
    if isinstance(x, Variable) and x.shape == tuple(shape):
        return x
    return _call(SumTo(tuple(shape)), x)


def get_item(x: Any, slices: Any) -> Variable:
    return _call(GetItem(slices), x)


def get_item_grad(gy: Any, slices: Any, in_shape: tuple[int, ...]) -> Variable:
    return _call(GetItemGrad(slices, in_shape), gy)


# ---------------------------------------------------------------- linear algebra and losses


class MatMul(Function):
    """Matrix product of 2-D operands (DeZero's ``matmul``)."""

    __slots__ = ()

    def forward(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return x @ w

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x, w), (gy,) = xs, gys
        return ops.matmul(gy, w.T), ops.matmul(x.T, gy)


class Linear(Function):
    """``x @ w + b`` in one node, so the product is not kept alive as a Variable."""

    __slots__ = ()

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        y = x @ w
        return y if b is None else y + b

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x, w, gy = xs[0], xs[1], gys[0]
        gx, gw = ops.matmul(gy, w.T), ops.matmul(x.T, gy)
        if len(xs) == 2:
            return gx, gw
        return gx, gw, ops.sum_to(gy, xs[2].shape)


class MeanSquaredError(Function):
    __slots__ = ()

    def forward(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        diff = x0 - x1
        return (diff * diff).sum() / len(diff)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x0, x1), (gy,) = xs, gys
        diff = x0 - x1
        gx0 = gy * diff * (2.0 / len(diff))
        gx1 = -gx0
        if x0.shape == x1.shape:
            return gx0, gx1
        return ops.sum_to(gx0, x0.shape), ops.sum_to(gx1, x1.shape)


def matmul(x: Any, w: Any) -> Variable:
    return _call(MatMul(), x, w)


def dot(x: Any, w: Any) -> Variable:
    """DeZero's other name for ``matmul``."""
    return matmul(x, w)


def linear(x: Any, w: Any, b: Any = None) -> Variable:
    return _call(Linear(), x, w) if b is None else _call(Linear(), x, w, b)


def mean_squared_error(x0: Any, x1: Any) -> Variable:
    return _call(MeanSquaredError(), x0, x1)


# ---------------------------------------------------------------- the two gradient namespaces


def _data(x: Variable) -> np.ndarray:
    return x.data


ARRAY_OPS = SimpleNamespace(
    sin=np.sin,
    cos=np.cos,
    matmul=np.matmul,
    broadcast_to=np.broadcast_to,
    sum_to=_sum_to_array,
    get_item_grad=_get_item_grad_array,
    data=lambda x: x,
)
VARIABLE_OPS = SimpleNamespace(
    sin=sin,
    cos=cos,
    matmul=matmul,
    broadcast_to=broadcast_to,
    sum_to=sum_to,
    get_item_grad=get_item_grad,
    data=_data,
)
assert vars(ARRAY_OPS).keys() == vars(VARIABLE_OPS).keys()

__all__ = [
    "Add",
    "BroadcastTo",
    "Cos",
    "Div",
    "Exp",
    "GetItem",
    "GetItemGrad",
    "Linear",
    "Log",
    "MatMul",
    "Max",
    "MeanSquaredError",
    "Min",
    "Mul",
    "Neg",
    "Pow",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Sin",
    "Square",
    "Sub",
    "Sum",
    "SumTo",
    "Tanh",
    "Transpose",
    "add",
    "broadcast_to",
    "cos",
    "div",
    "dot",
    "exp",
    "get_item",
    "get_item_grad",
    "linear",
    "log",
    "matmul",
    "max",
    "mean_squared_error",
    "min",
    "mul",
    "neg",
    "pow",
    "rdiv",
    "relu",
    "reshape",
    "rsub",
    "sigmoid",
    "sin",
    "square",
    "sub",
    "sum",
    "sum_to",
    "tanh",
    "transpose",
]
