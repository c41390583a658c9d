"""DeZero's ``dezero.utils`` on the engine: numpy helpers, a gradient check, array comparisons.

These are the helpers DeZero's functions and tests call by name. Two of them exist
in agmem under other names and with other contracts, and are kept apart on purpose:
``gradient_check`` here is DeZero's (differentiates ``f`` in its first argument only,
passes the rest through, returns a bool), while ``autograd_mem.gradient_check``
differentiates every input and raises with the element that disagrees.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_mem.engine.atomic_file import replacing
from autograd_mem.engine.core import Variable, as_variable
from autograd_mem.engine.functions_conv import get_conv_outsize, get_deconv_outsize, pair

# ---------------------------------------------------------------- numpy helpers


def sum_to(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Sum ``x`` down to ``shape``: the inverse of broadcasting ``shape`` up to ``x.shape``."""
    lead = x.ndim - len(shape)
    lead_axes = tuple(range(lead))
    axes = tuple(i + lead for i, n in enumerate(shape) if n == 1)
    y = x.sum(lead_axes + axes, keepdims=True)
    return y.squeeze(lead_axes) if lead > 0 else y


def reshape_sum_backward(gy: Any, x_shape: Sequence[int], axis: Any, keepdims: bool) -> Any:
    """``gy`` of a sum over ``axis`` reshaped so it broadcasts back to ``x_shape``.

    Summing without ``keepdims`` drops the summed axes; this puts them back as
    length-1 axes (negative axes counted from the end), so ``broadcast_to`` can
    spread the gradient over them.
    """
    ndim = len(x_shape)
    if ndim == 0 or axis is None or keepdims:
        return gy.reshape(gy.shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    shape = list(gy.shape)
    for a in sorted(a if a >= 0 else a + ndim for a in axes):
        shape.insert(a, 1)
    return gy.reshape(shape)


def logsumexp(x: np.ndarray, axis: Any = 1) -> np.ndarray:
    """log(sum(exp(x))) over ``axis``, dims kept, shifted by the max so exp cannot overflow."""
    m = x.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def max_backward_shape(x: Any, axis: Any) -> list[int]:
    """The shape of ``x`` with the axes a max reduced over set to 1 (for broadcasting back)."""
    if axis is None:
        axes: Any = range(x.ndim)
    elif isinstance(axis, int):
        axes = (axis,)
    else:
        axes = axis
    return [1 if ax in axes else n for ax, n in enumerate(x.shape)]


# ---------------------------------------------------------------- gradient check


def numerical_grad(f: Callable[..., Any], x: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    """d sum(f(x, *args)) / dx by central differences (step 1e-4), element by element.

    ``x`` is perturbed in place and restored, as DeZero does: ``f`` sees the array.
    """
    eps = 1e-4
    x = x.data if isinstance(x, Variable) else x
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        saved = x[index].copy()
        x[index] = saved + eps
        y_plus = _array_copy(f(x, *args, **kwargs))
        x[index] = saved - eps
        y_minus = _array_copy(f(x, *args, **kwargs))
        x[index] = saved
        grad[index] = (y_plus - y_minus).sum() / (2 * eps)
    return grad


def _array_copy(y: Any) -> np.ndarray:
    return np.array(y.data if isinstance(y, Variable) else y)


def gradient_check(
    f: Callable[..., Any], x: Any, *args: Any, rtol: float = 1e-4, atol: float = 1e-5, **kwargs: Any
) -> bool:
    """True if backward's gradient of ``sum(f(x, *args))`` in ``x`` matches a numerical one.

    DeZero's contract: ``x`` is made float64, the other arguments pass through, and
    a mismatch prints both gradients and returns False rather than raising.
    """
    x = as_variable(x)
    x.data = x.data.astype(np.float64)
    expected = numerical_grad(f, x, *args, **kwargs)
    y = f(x, *args, **kwargs)
    y.backward()
    got = x.grad.data
    if got.shape != expected.shape:
        raise AssertionError(f"gradient of shape {got.shape}, expected {expected.shape}")
    same = array_allclose(expected, got, rtol=rtol, atol=atol)
    if not same:
        print(
            "\ngradient check failed\n"
            f" numerical: shape {expected.shape}, values {expected.ravel()[:10]} ...\n"
            f" backprop:  shape {got.shape}, values {got.ravel()[:10]} ..."
        )
    return same


def array_equal(a: Any, b: Any) -> bool:
    """True if two arrays (or Variables' data) have the same shape and elements."""
    return bool(np.array_equal(_as_numpy(a), _as_numpy(b)))


def array_allclose(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """True if two arrays (or Variables' data) are equal within the tolerances."""
    return bool(np.allclose(_as_numpy(a), _as_numpy(b), rtol=rtol, atol=atol))


def _as_numpy(x: Any) -> Any:
    return x.data if isinstance(x, Variable) else x


# ---------------------------------------------------------------- files

# Where ``get_file`` keeps what it fetched, as DeZero's (``~/.dezero``).
cache_dir = os.path.join(os.path.expanduser("~"), ".dezero")


def show_progress(block_num: int, block_size: int, total_size: int) -> None:
    """A download's progress bar, for ``urllib.request.urlretrieve``'s report hook."""
    done = block_num * block_size
    fraction = min(done / total_size, 1.0) if total_size > 0 else 1.0
    filled = int(fraction * 30)
    print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:.2f}%", end="")


def get_file(url: str, file_name: str | None = None) -> str:
    """The path of ``url``'s file in ``cache_dir``, fetched first if it is not there yet.

    Only called when asked: nothing in agmem fetches files by itself. The file is
    fetched beside its final name and renamed into place, so an interrupted fetch
    never leaves a partial file that a later call would take for the whole one.
    """
    if file_name is None:
        file_name = url[url.rfind("/") + 1 :]
    file_path = os.path.join(cache_dir, file_name)
    if os.path.exists(file_path):
        return file_path
    os.makedirs(cache_dir, exist_ok=True)
    print("Downloading: " + file_name)
    with replacing(file_path) as partial:
        urllib.request.urlretrieve(url, partial, show_progress)
    print(" Done")
    return file_path


__all__ = [
    "array_allclose",
    "array_equal",
    "cache_dir",
    "get_conv_outsize",
    "get_deconv_outsize",
    "get_file",
    "gradient_check",
    "logsumexp",
    "max_backward_shape",
    "numerical_grad",
    "pair",
    "reshape_sum_backward",
    "show_progress",
    "sum_to",
]
