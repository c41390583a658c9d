"""Variable and Parameter: the graph's data nodes, and the conversions into them.

A Variable holds an ndarray, its gradient and the Function that created it
(DeZero's ``Variable``). Its operators and shape methods are the engine's ops, and
its ``backward`` is the scheduler in ``engine.backward``; both modules need Variable
themselves, so they are handed to this one by ``connect`` (called once, by
``engine.core``) rather than imported: the circle DeZero keeps inside ``core.py``
is broken by that registration.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from autograd_mem.engine.census import enlist as _enlist

_new_object = object.__new__
_ndarray = np.ndarray


def _not_connected(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(
        "Variable's ops and backward are not connected: import autograd_mem.engine.core "
        "(autograd_mem.Variable and autograd_mem.engine.Variable do)"
    )


class _NotConnected:
    """What Variable's operators find before ``engine.core`` connects the ops: a clear error."""

    def __getattr__(self, name: str) -> Any:
        return _not_connected


# The ops module and the backward scheduler, set by ``connect``.
_ops: Any = _NotConnected()
_backward: Callable[..., None] = _not_connected


def connect(ops: ModuleType, backward: Callable[..., None]) -> None:
    """Give Variable its operators (``ops``) and its ``backward`` (the scheduler)."""
    global _ops, _backward
    _ops = ops
    _backward = backward


# ---------------------------------------------------------------- conversions


def as_array(x: Any, array_module: Any = np) -> np.ndarray:
    """Return ``x`` as an ndarray: scalars (Python or numpy) become 0-d arrays.

    ``array_module`` is DeZero's second argument (numpy or CuPy); the engine computes
    on numpy arrays, so any module given is read as numpy.
    """
    if type(x) is np.ndarray:
        return x
    return np.asarray(x)


def as_variable(obj: Any) -> Variable:
    """Return ``obj`` if it is a Variable, else a new Variable around it as an array."""
    if isinstance(obj, Variable):
        return obj
    return Variable(as_array(obj))


class GPUUnavailableError(RuntimeError):
    """``Variable.to_gpu()`` was called: this engine computes on numpy arrays only.

    DeZero moves data to a GPU with CuPy. agmem measures host memory, so its engine
    keeps numpy arrays; the error says whether CuPy is missing or merely unused.
    """


# ---------------------------------------------------------------- Variable


class Variable:
    """A node holding an ndarray, its gradient, and the Function that created it.

    ``__array_ufunc__ = None`` makes numpy give way in mixed arithmetic, so
    ``np.float64(2) * v`` and ``array * v`` call our reflected operators and return
    Variables. Identity (not value) equality is kept on purpose: backward keys its
    gradient table by Variable.
    """

    __slots__ = ("__weakref__", "_census", "creator", "data", "generation", "grad", "name")
    __array_ufunc__ = None

    def __init__(self, data: np.ndarray | None, name: str | None = None) -> None:
        if not isinstance(data, _ndarray) and data is not None:
            raise TypeError(
                f"Variable data must be a numpy.ndarray or None, not {type(data).__name__}"
            )
        self.data = data
        self.name = name
        self.grad: Variable | None = None
        # A Function, or None for a leaf (typed Any: engine.function imports this module).
        self.creator: Any = None
        self.generation = 0
        _enlist(self)  # counted while its census slot lives: see census

    # -- array-like view of the data

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Variable:
        return _ops.transpose(self)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = "None" if self.data is None else str(self.data).replace("\n", "\n" + " " * 9)
        if self.name is not None:
            return f"variable({body}, name={self.name!r})"
        return f"variable({body})"

    # -- devices (DeZero's API; the engine computes on numpy arrays)

    def to_cpu(self) -> None:
        """Make the data a numpy array: it already is one here, unless assigned otherwise."""
        if self.data is not None:
            self.data = np.asarray(self.data)

    def to_gpu(self) -> None:
        """Refuse with ``GPUUnavailableError``: the engine computes on numpy arrays only."""
        try:
            # Imported here, not at the top: CuPy is optional and never needed to compute.
            import cupy  # noqa: F401
        except ImportError:
            raise GPUUnavailableError(
                "to_gpu() needs a GPU array library and cupy is not installed; "
                "this engine computes on numpy arrays (use to_cpu())"
            ) from None
        raise GPUUnavailableError(
            "to_gpu() is not supported: this engine computes on numpy arrays only"
        )

    # -- graph

    def __call__(self) -> Variable:
        """Return this Variable: a strong-mode Function holds its outputs themselves.

        Same protocol as ``weakref.ref``, so backward reads every output with
        ``ref()`` whatever the mode the Function was created in.
        """
        return self

    def set_creator(self, func: Any) -> None:
        """Record ``func`` as this Variable's creator, one generation after it."""
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self) -> None:
        """Forget the accumulated gradient (before reusing a Variable in a new pass)."""
        self.grad = None

    def unchain(self) -> None:
        """Cut this Variable from its creator, so backward stops here."""
        self.creator = None

    def unchain_backward(self) -> None:
        """Cut every Variable upstream of this one from its creator, keeping this one's.

        DeZero's truncated backpropagation: after it, backward from this Variable
        still runs its creator, then stops at that creator's inputs. Iterative.
        """
        pending = [] if self.creator is None else [self.creator]
        while pending:
            for x in pending.pop().inputs:
                if x.creator is not None:
                    pending.append(x.creator)
                    x.creator = None

    def backward(self, retain_grad: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(x) into ``x.grad`` for every Variable ``x`` upstream.

        Only the leaves get a ``.grad`` (every Variable does with ``retain_grad``);
        with ``create_graph`` the gradients are Variables with a graph of their own,
        so they can be differentiated again. See ``engine.backward``.
        """
        _backward(self, retain_grad, create_graph)

    # -- shape methods

    def reshape(self, *shape: Any) -> Variable:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes: Any) -> Variable:
        if not axes:
            axes = None
        elif len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return _ops.transpose(self, axes)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return _ops.sum(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return _ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return _ops.min(self, axis, keepdims)

    def matmul(self, other: Any) -> Variable:
        return _ops.matmul(self, other)

    def dot(self, other: Any) -> Variable:
        """DeZero's name for ``matmul``."""
        return _ops.matmul(self, other)

    # -- operators (each is an op from ``ops``; the reflected ones swap operands)

    def __add__(self, other: Any) -> Variable:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Variable:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Variable:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Variable:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Variable:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Variable:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Variable:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Variable:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Variable:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Variable:
        return _ops.pow(other, self)

    def __neg__(self) -> Variable:
        return _ops.neg(self)

    def __matmul__(self, other: Any) -> Variable:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Variable:
        return _ops.matmul(other, self)

    def __getitem__(self, slices: Any) -> Variable:
        return _ops.get_item(self, slices)


class Parameter(Variable):
    """A Variable that a layer owns and an optimizer updates (DeZero's ``Parameter``).

    It behaves as a Variable in every op; only its type differs, which is how a
    layer tells its parameters from the other Variables among its attributes.
    """

    __slots__ = ()


def variable_of(data: np.ndarray) -> Variable:
    """``Variable(data)`` for data known to be an array: what ops and backward use.

    A plain function call is much cheaper than a class call into a Python
    ``__init__``, and making a Variable is the costliest step of a small op.
    """
    v = _new_object(Variable)
    v.data = data
    v.name = None
    v.grad = None
    v.creator = None
    v.generation = 0
    _enlist(v)
    return v
