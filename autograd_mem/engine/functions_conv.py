"""Convolution and pooling on (N, C, H, W) images, through im2col, as in DeZero.

``im2col`` lays every kernel-sized patch of an image out as a row of a matrix, so a
convolution becomes a matrix product. That matrix is the largest buffer of a small
CNN: ``conv2d`` makes it inside its forward and lets it go, while ``conv2d_simple``
builds it as a node of the graph (``im2col`` then ``linear``), where it lives as
long as the graph does: in strong mode, until the collector runs.

Each op is declared as in ``engine/ops.py``: a ``Function`` with an array forward and
one ``vjp``. The array kernels (``im2col_array``...) are what ``vjp`` calls on the
fast path, the ops themselves what it calls when building a graph (:func:`_lib`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograd_mem.engine.core import Function, Variable, as_variable
from autograd_mem.engine.ops import broadcast_to, linear

_call = Function.__call__  # see ops.py: calling it as a plain function skips the C slot


def pair(x: Any) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair stays itself: kernel sizes, strides and paddings."""
    if isinstance(x, (int, np.integer)):
        return int(x), int(x)
    if isinstance(x, tuple) and len(x) == 2:
        return int(x[0]), int(x[1])
    raise ValueError(f"expected an int or a pair of ints, got {x!r}")


def get_conv_outsize(input_size: int, kernel_size: int, stride: int, pad: int) -> int:
    """The output length of a convolution along one axis."""
    return (input_size + 2 * pad - kernel_size) // stride + 1


def get_deconv_outsize(size: int, kernel_size: int, stride: int, pad: int) -> int:
    """The output length of a transposed convolution along one axis (the inverse)."""
    return stride * (size - 1) + kernel_size - 2 * pad


def _lib(gradient: Any) -> SimpleNamespace:
    """The functions a ``vjp`` computes with: the array kernels, or the ops for Variables."""
    return VARIABLE_LIB if isinstance(gradient, Variable) else ARRAY_LIB


# ---------------------------------------------------------------- array kernels


def im2col_array(
    img: np.ndarray, kernel_size: Any, stride: Any, pad: Any, to_matrix: bool = True
) -> np.ndarray:
    """Patches of ``img`` (N, C, H, W): (N, C, KH, KW, OH, OW), or rows (N*OH*OW, C*KH*KW).

    The patches are strided views of the padded image, copied once into the result.
    """
    n, c, h, w = img.shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(pad)
    oh, ow = get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw)
    if ph or pw:
        img = np.pad(img, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(img, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :oh, :ow]
    if to_matrix:  # (N, OH, OW, C, KH, KW): one patch per row
        return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    return np.ascontiguousarray(windows.transpose(0, 1, 4, 5, 2, 3))


def col2im_array(
    col: np.ndarray, img_shape: tuple[int, ...], kernel_size: Any, stride: Any, pad: Any,
    to_matrix: bool = True,
) -> np.ndarray:
    """The adjoint of :func:`im2col_array`: each patch added back where it came from."""
    n, c, h, w = img_shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(pad)
    oh, ow = get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw)
    if to_matrix:
        col = col.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=col.dtype)
    for j in range(kh):
        for i in range(kw):
            img[:, :, j : j + sh * oh : sh, i : i + sw * ow : sw] += col[:, :, j, i]
    if ph or pw:
        # A copy, not a view: a view would keep the padded buffer alive with the result.
        return img[:, :, ph : h + ph, pw : w + pw].copy()
    return img


def _conv2d_array(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: Any, pad: Any
) -> np.ndarray:
    col = im2col_array(x, W.shape[2:], stride, pad, to_matrix=False)
    y = np.tensordot(col, W, ((1, 2, 3), (1, 2, 3)))  # (N, OH, OW, OC)
    if b is not None:
        y += b
    return np.moveaxis(y, 3, 1)


def _deconv2d_array(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: Any, pad: Any,
    outsize: Any = None,
) -> np.ndarray:
    n, _, h, w = x.shape
    _, oc, kh, kw = W.shape
    (sh, sw), (ph, pw) = pair(stride), pair(pad)
    if outsize is None:
        outsize = (get_deconv_outsize(h, kh, sh, ph), get_deconv_outsize(w, kw, sw, pw))
    col = np.moveaxis(np.tensordot(W, x, (0, 1)), 3, 0)  # (N, OC, KH, KW, H, W)
    y = col2im_array(col, (n, oc, *pair(outsize)), (kh, kw), stride, pad, to_matrix=False)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def _conv2d_grad_w_array(
    x: np.ndarray, gy: np.ndarray, kernel_size: Any, stride: Any, pad: Any
) -> np.ndarray:
    """d(conv2d)/dW contracted with ``gy``: each patch weighted by its output's gradient."""
    col = im2col_array(x, kernel_size, stride, pad, to_matrix=False)
    return np.tensordot(gy, col, ((0, 2, 3), (0, 4, 5)))


def _pooled_columns(x: np.ndarray, kernel_size: Any, stride: Any, pad: Any) -> np.ndarray:
    """Patches of ``x`` as (N, C, KH*KW, OH, OW): one pooling window along axis 2."""
    col = im2col_array(x, kernel_size, stride, pad, to_matrix=False)
    n, c, kh, kw, oh, ow = col.shape
    return col.reshape(n, c, kh * kw, oh, ow)


def _pooling_grad_array(
    gy: np.ndarray, indexes: np.ndarray, x_shape: tuple[int, ...], kernel_size: Any,
    stride: Any, pad: Any,
) -> np.ndarray:
    """Each window's gradient sent to the element that was its max."""
    n, c, oh, ow = gy.shape
    kh, kw = pair(kernel_size)
    gcol = np.zeros((n, c, kh * kw, oh, ow), dtype=gy.dtype)
    np.put_along_axis(gcol, indexes[:, :, None], gy[:, :, None], axis=2)
    gcol = gcol.reshape(n, c, kh, kw, oh, ow)
    return col2im_array(gcol, x_shape, kernel_size, stride, pad, to_matrix=False)


def _pooling_with_indexes_array(
    x: np.ndarray, indexes: np.ndarray, kernel_size: Any, stride: Any, pad: Any
) -> np.ndarray:
    """The element of each window at ``indexes``: the adjoint of :func:`_pooling_grad_array`."""
    col = _pooled_columns(x, kernel_size, stride, pad)
    return np.take_along_axis(col, indexes[:, :, None], axis=2)[:, :, 0]


# ---------------------------------------------------------------- im2col and col2im


class Im2col(Function):
    __slots__ = ("input_shape", "kernel_size", "pad", "stride", "to_matrix")

    def __init__(self, kernel_size: Any, stride: Any, pad: Any, to_matrix: bool) -> None:
        self.kernel_size, self.stride, self.pad = kernel_size, stride, pad
        self.to_matrix = to_matrix

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return im2col_array(x, self.kernel_size, self.stride, self.pad, self.to_matrix)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        gy = gys[0]
        return _lib(gy).col2im(
            gy, self.input_shape, self.kernel_size, self.stride, self.pad, self.to_matrix
        )


class Col2im(Function):
    __slots__ = ("input_shape", "kernel_size", "pad", "stride", "to_matrix")

    def __init__(
        self, input_shape: tuple[int, ...], kernel_size: Any, stride: Any, pad: Any,
        to_matrix: bool,
    ) -> None:
        self.input_shape = tuple(input_shape)
        self.kernel_size, self.stride, self.pad = kernel_size, stride, pad
        self.to_matrix = to_matrix

    def forward(self, x: np.ndarray) -> np.ndarray:
        return col2im_array(
            x, self.input_shape, self.kernel_size, self.stride, self.pad, self.to_matrix
        )

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        gy = gys[0]
        return _lib(gy).im2col(gy, self.kernel_size, self.stride, self.pad, self.to_matrix)


def im2col(
    x: Any, kernel_size: Any, stride: Any = 1, pad: Any = 0, to_matrix: bool = True
) -> Variable:
    return _call(Im2col(kernel_size, stride, pad, to_matrix), x)


def col2im(
    x: Any, input_shape: tuple[int, ...], kernel_size: Any, stride: Any = 1, pad: Any = 0,
    to_matrix: bool = True,
) -> Variable:
    return _call(Col2im(input_shape, kernel_size, stride, pad, to_matrix), x)


# ---------------------------------------------------------------- convolutions


class Conv2d(Function):
    __slots__ = ("pad", "stride")

    def __init__(self, stride: Any, pad: Any) -> None:
        self.stride, self.pad = stride, pad

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        return _conv2d_array(x, W, b, self.stride, self.pad)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x, W, gy = xs[0], xs[1], gys[0]
        lib = _lib(gy)
        gx = lib.deconv2d(gy, W, None, self.stride, self.pad, x.shape[2:])
        gW = lib.conv2d_grad_w(x, gy, W.shape[2:], self.stride, self.pad)
        if len(xs) == 2:
            return gx, gW
        return gx, gW, gy.sum(axis=(0, 2, 3))


class Deconv2d(Function):
    __slots__ = ("outsize", "pad", "stride")

    def __init__(self, stride: Any, pad: Any, outsize: Any) -> None:
        self.stride, self.pad, self.outsize = stride, pad, outsize

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        return _deconv2d_array(x, W, b, self.stride, self.pad, self.outsize)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        x, W, gy = xs[0], xs[1], gys[0]
        lib = _lib(gy)
        gx = lib.conv2d(gy, W, None, self.stride, self.pad)
        gW = lib.conv2d_grad_w(gy, x, W.shape[2:], self.stride, self.pad)
        if len(xs) == 2:
            return gx, gW
        return gx, gW, gy.sum(axis=(0, 2, 3))


class Conv2dGradW(Function):
    """The weight gradient of a convolution, as an op, so that it too can be differentiated."""

    __slots__ = ("kernel_size", "pad", "stride")

    def __init__(self, kernel_size: Any, stride: Any, pad: Any) -> None:
        self.kernel_size, self.stride, self.pad = tuple(kernel_size), stride, pad

    def forward(self, x: np.ndarray, gy: np.ndarray) -> np.ndarray:
        return _conv2d_grad_w_array(x, gy, self.kernel_size, self.stride, self.pad)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        (x, gy), ggw = xs, gys[0]
        lib = _lib(ggw)
        gx = lib.deconv2d(gy, ggw, None, self.stride, self.pad, x.shape[2:])
        ggy = lib.conv2d(x, ggw, None, self.stride, self.pad)
        return gx, ggy


def conv2d(x: Any, W: Any, b: Any = None, stride: Any = 1, pad: Any = 0) -> Variable:
    """Convolution of images ``x`` (N, C, H, W) with filters ``W`` (OC, C, KH, KW)."""
    f = Conv2d(stride, pad)
    return _call(f, x, W) if b is None else _call(f, x, W, b)


def deconv2d(
    x: Any, W: Any, b: Any = None, stride: Any = 1, pad: Any = 0, outsize: Any = None,
) -> Variable:
    """Transposed convolution of ``x`` (N, C, H, W) with ``W`` (C, OC, KH, KW)."""
    f = Deconv2d(stride, pad, outsize)
    return _call(f, x, W) if b is None else _call(f, x, W, b)


def conv2d_grad_w(x: Any, gy: Any, kernel_size: Any, stride: Any = 1, pad: Any = 0) -> Variable:
    return _call(Conv2dGradW(kernel_size, stride, pad), x, gy)


def conv2d_simple(x: Any, W: Any, b: Any = None, stride: Any = 1, pad: Any = 0) -> Variable:
    """``conv2d`` composed of graph nodes: im2col, then a matrix product with the filters.

    The im2col matrix is an output in the graph, so it is held as long as the graph.
    """
    x, W = as_variable(x), as_variable(W)
    n, _, h, w = x.shape
    oc, _, kh, kw = W.shape
    (sh, sw), (ph, pw) = pair(stride), pair(pad)
    oh, ow = get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw)
    col = im2col(x, (kh, kw), stride, pad, to_matrix=True)
    # The filters as a (C*KH*KW, OC) matrix. DeZero writes W.reshape(OC, -1).transpose(),
    # a strided view; transposing first and reshaping makes it a small contiguous copy,
    # and numpy's matrix product with a strided right operand can take a path many
    # times slower (OpenBLAS's transposed gemm, threaded on a busy machine).
    y = linear(col, W.transpose(1, 2, 3, 0).reshape(-1, oc), b)
    return y.reshape(n, oh, ow, oc).transpose(0, 3, 1, 2)


def pooling_simple(x: Any, kernel_size: Any, stride: Any = 1, pad: Any = 0) -> Variable:
    """Max pooling composed of graph nodes (the book's step 57): im2col, then a row max.

    Padding adds zeros, as in ``pooling``; the im2col matrix is held by the graph.
    """
    x = as_variable(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(pad)
    oh, ow = get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw)
    col = im2col(x, kernel_size, stride, pad, to_matrix=True).reshape(-1, kh * kw)
    return col.max(axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)


# ---------------------------------------------------------------- pooling


class Pooling(Function):
    """Max pooling; the node keeps each window's argmax (``indexes``) for backward."""

    __slots__ = ("indexes", "input_shape", "kernel_size", "pad", "stride")

    def __init__(self, kernel_size: Any, stride: Any, pad: Any) -> None:
        self.kernel_size, self.stride, self.pad = kernel_size, stride, pad

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        col = _pooled_columns(x, self.kernel_size, self.stride, self.pad)
        self.indexes = col.argmax(axis=2)
        return np.take_along_axis(col, self.indexes[:, :, None], axis=2)[:, :, 0]

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        gy = gys[0]
        return _lib(gy).pooling_grad(
            gy, self.indexes, self.input_shape, self.kernel_size, self.stride, self.pad
        )


class PoolingGrad(Function):
    __slots__ = ("indexes", "input_shape", "kernel_size", "pad", "stride")

    def __init__(
        self, indexes: np.ndarray, input_shape: tuple[int, ...], kernel_size: Any, stride: Any,
        pad: Any,
    ) -> None:
        self.indexes, self.input_shape = indexes, input_shape
        self.kernel_size, self.stride, self.pad = kernel_size, stride, pad

    def forward(self, gy: np.ndarray) -> np.ndarray:
        return _pooling_grad_array(
            gy, self.indexes, self.input_shape, self.kernel_size, self.stride, self.pad
        )

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        ggx = gys[0]
        return _lib(ggx).pooling_with_indexes(
            ggx, self.indexes, self.kernel_size, self.stride, self.pad
        )


class PoolingWithIndexes(Function):
    __slots__ = ("indexes", "input_shape", "kernel_size", "pad", "stride")

    def __init__(self, indexes: np.ndarray, kernel_size: Any, stride: Any, pad: Any) -> None:
        self.indexes = indexes
        self.kernel_size, self.stride, self.pad = kernel_size, stride, pad

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return _pooling_with_indexes_array(
            x, self.indexes, self.kernel_size, self.stride, self.pad
        )

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        gy = gys[0]
        return _lib(gy).pooling_grad(
            gy, self.indexes, self.input_shape, self.kernel_size, self.stride, self.pad
        )


class AveragePooling(Function):
    __slots__ = ("input_shape", "kernel_size", "pad", "stride")

    def __init__(self, kernel_size: Any, stride: Any, pad: Any) -> None:
        self.kernel_size, self.stride, self.pad = kernel_size, stride, pad

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        col = im2col_array(x, self.kernel_size, self.stride, self.pad, to_matrix=False)
        return col.mean(axis=(2, 3))

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        gy = gys[0]
        lib = _lib(gy)
        n, c, oh, ow = gy.shape
        kh, kw = pair(self.kernel_size)
        gcol = lib.broadcast_to(gy.reshape(n, c, 1, 1, oh, ow) / (kh * kw), (n, c, kh, kw, oh, ow))
        return lib.col2im(gcol, self.input_shape, self.kernel_size, self.stride, self.pad, False)


def pooling(x: Any, kernel_size: Any, stride: Any = 1, pad: Any = 0) -> Variable:
    """Max pooling of images ``x`` (N, C, H, W); padding adds zeros, as DeZero's does."""
    return _call(Pooling(kernel_size, stride, pad), x)


def average_pooling(x: Any, kernel_size: Any, stride: Any = 1, pad: Any = 0) -> Variable:
    return _call(AveragePooling(kernel_size, stride, pad), x)


def _pooling_grad(
    gy: Any, indexes: np.ndarray, input_shape: tuple[int, ...], kernel_size: Any, stride: Any,
    pad: Any,
) -> Variable:
    return _call(PoolingGrad(indexes, input_shape, kernel_size, stride, pad), gy)


def _pooling_with_indexes(
    x: Any, indexes: np.ndarray, kernel_size: Any, stride: Any, pad: Any
) -> Variable:
    return _call(PoolingWithIndexes(indexes, kernel_size, stride, pad), x)


# ---------------------------------------------------------------- the two libraries

ARRAY_LIB = SimpleNamespace(
    im2col=im2col_array,
    col2im=col2im_array,
    conv2d=_conv2d_array,
    deconv2d=_deconv2d_array,
    conv2d_grad_w=_conv2d_grad_w_array,
    pooling_grad=_pooling_grad_array,
    pooling_with_indexes=_pooling_with_indexes_array,
    broadcast_to=np.broadcast_to,
)
VARIABLE_LIB = SimpleNamespace(
    im2col=im2col,
    col2im=col2im,
    conv2d=conv2d,
    deconv2d=deconv2d,
    conv2d_grad_w=conv2d_grad_w,
    pooling_grad=_pooling_grad,
    pooling_with_indexes=_pooling_with_indexes,
    broadcast_to=broadcast_to,
)
assert vars(ARRAY_LIB).keys() == vars(VARIABLE_LIB).keys()

# DeZero's names for three of the classes above.
Conv2DGradW = Conv2dGradW
Pooling2DGrad = PoolingGrad
Pooling2DWithIndexes = PoolingWithIndexes

__all__ = [
    "AveragePooling",
    "Col2im",
    "Conv2DGradW",
    "Conv2d",
    "Conv2dGradW",
    "Deconv2d",
    "Im2col",
    "Pooling",
    "Pooling2DGrad",
    "Pooling2DWithIndexes",
    "PoolingGrad",
    "PoolingWithIndexes",
    "average_pooling",
    "col2im",
    "col2im_array",
    "conv2d",
    "conv2d_simple",
    "deconv2d",
    "get_conv_outsize",
    "get_deconv_outsize",
    "im2col",
    "im2col_array",
    "pair",
    "pooling",
    "pooling_simple",
]
