"""Variable, Function, Config, the two reference modes, and backpropagation.

The engine follows DeZero (``dezero/core.py``): a ``Function`` is a template whose
``__call__`` unwraps Variables, runs ``forward`` on raw numpy arrays and wraps the
results, recording the graph only while ``Config.enable_backprop`` is on.

What agmem adds is the switch the seed notebook is about: whether a Function holds
its outputs *strongly* (Variable <-> Function reference cycles, which only the cyclic
collector can free) or through ``weakref``s (no cycles, so reference counting frees
a graph the moment its last output is dropped). A strong Function holds the output
Variables themselves, as the notebook's engine did before its weakref step, and a
Variable called returns itself (``weakref.ref``'s protocol), so backward reads
outputs the same way in both modes.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import weakref
from collections.abc import Iterator
from sys import getrefcount as _getrefcount
from typing import Any

import numpy as np

from autograd_mem.engine import census as _census
from autograd_mem.engine.census import FUNCTION_TOKEN as _FUNCTION_TOKEN
from autograd_mem.engine.census import VARIABLE_TOKEN as _VARIABLE_TOKEN
from autograd_mem.engine.census import peaks as _peaks
from autograd_mem.engine.modes import REFERENCE_MODES

_new_object = object.__new__
_ndarray = np.ndarray
_empty = np.empty


# ---------------------------------------------------------------- configuration


class _Config:
    """Process-wide switches read by Functions (DeZero's ``Config``).

    ``enable_backprop``: record the graph (off in ``no_grad()``). ``train``: layers
    such as dropout behave as in training (off in ``test_mode()``).

    One instance rather than DeZero's class with class attributes: backward sets
    ``enable_backprop`` on every call, and setting a class attribute invalidates the
    interpreter's attribute caches for the class, setting an instance slot does not.
    """

    __slots__ = ("enable_backprop", "train")

    def __init__(self) -> None:
        self.enable_backprop = True
        self.train = True


Config = _Config()


@contextlib.contextmanager
def using_config(name: str, value: Any) -> Iterator[None]:
    """Set ``Config.<name>`` to ``value`` for the block, restoring it even on error."""
    old_value = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old_value)


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Run a block without recording the graph: inference, or updates of parameters."""
    return using_config("enable_backprop", False)


def test_mode() -> contextlib.AbstractContextManager[None]:
    """Run a block as inference (``Config.train`` False): dropout passes inputs through."""
    return using_config("train", False)


test_mode.__test__ = False  # type: ignore[attr-defined]  # a context manager, not a pytest test


# ---------------------------------------------------------------- reference modes


# How a Function holds its outputs, by mode. Both hold something that, called, returns
# the Variable, so backward reads outputs with ``ref()`` and never asks for the mode.
# Weak: a ``weakref.ref``. Strong: the Variable itself (``Variable.__call__`` returns
# the Variable, weakref.ref's protocol), so the cycle is Variable -> Function ->
# outputs tuple -> Variable, with no object in between: the notebook's strong engine.
# ``_output_ref`` is the reference type new Functions use, read once per call and set
# only when the mode changes: ``weakref.ref``, or None for strong (the Function then
# stores the Variable, with no call at all).
_REF_TYPES: dict[str, Any] = {"strong": None, "weak": weakref.ref}

# Default "weak": it is the seed notebook's final engine, and the one whose graphs
# do not outlive their outputs.
_output_ref: Any = weakref.ref


def _ref_type(mode: str) -> Any:
    try:
        return _REF_TYPES[mode]
    except (KeyError, TypeError):
        valid = ", ".join(repr(m) for m in REFERENCE_MODES)
        raise ValueError(f"unknown reference mode {mode!r}; valid modes: {valid}") from None


def get_reference_mode() -> str:
    """Return the mode new Functions are created in: ``"strong"`` or ``"weak"``."""
    return "weak" if _output_ref is weakref.ref else "strong"


def set_reference_mode(mode: str) -> None:
    """Set the process-wide reference mode (default ``"weak"``, the notebook's final one).

    Raises ``ValueError`` naming the mode and the valid ones for anything else.
    """
    global _output_ref
    _output_ref = _ref_type(mode)


@contextlib.contextmanager
def reference_mode(mode: str) -> Iterator[None]:
    """Create Functions in ``mode`` inside the block, restoring the previous mode after.

    Functions keep the mode they were created in, so a graph built across mode
    changes (a mixed graph) still backpropagates correctly.
    """
    global _output_ref
    new_ref = _ref_type(mode)
    old_ref = _output_ref
    _output_ref = new_ref
    try:
        yield
    finally:
        _output_ref = old_ref


# ---------------------------------------------------------------- conversions


def as_array(x: Any, dtype: Any = None) -> np.ndarray:
    """Return ``x`` as an ndarray: scalars (Python or numpy) become 0-d arrays."""
    if type(x) is np.ndarray and dtype is None:
        return x
    return np.asarray(x, dtype=dtype)


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
        self.creator: Function | None = None
        self.generation = 0
        self._census = _VARIABLE_TOKEN  # counted while this reference lives: see census
        if _getrefcount(_VARIABLE_TOKEN) > _peaks[0]:
            _peaks[0] = _getrefcount(_VARIABLE_TOKEN)

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

    def set_creator(self, func: Function) -> None:
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

        Each Function runs once, highest generation first (``_backpropagate``).
        Gradients flow through a table keyed by Variable rather than through
        ``.grad``, so an intermediate gradient is dropped as soon as its creator has
        used it; only the leaves (and, with ``retain_grad``, every Variable) get a
        ``.grad``. Without ``create_graph`` gradients are raw arrays and no graph is
        recorded (``_ArrayPath``, the fast path); with it they are Variables, so the
        gradient can be differentiated again (``_GraphPath``). The reference mode
        never enters here: outputs are read with ``ref()`` in both modes.
        """
        path = _GraphPath if create_graph else _ArrayPath
        seed = path.seed(self)
        retained: list[tuple[Variable, Any]] | None = [] if retain_grad else None
        saved_enable_backprop = Config.enable_backprop
        Config.enable_backprop = create_graph
        try:
            grads = _backpropagate(self, seed, path, retained)
            # What is left in the table has no creator: the leaves (and self).
            grads.pop(self, None)
            path.hand_out(grads.items() if retained is None else [*retained, *grads.items()], seed)
        finally:
            Config.enable_backprop = saved_enable_backprop
        self.grad = path.own(seed) if self.creator is None or retain_grad else None

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


def _variable_of(data: np.ndarray) -> Variable:
    """``Variable(data)`` for data known to be an array: what ops and backward use.

    A plain function call is much cheaper than a class call into a Python
    ``__init__``, and making a Variable is the costliest step of a small op. Keep
    it in step with ``Variable.__init__``.
    """
    v = _new_object(Variable)
    v.data = data
    v.name = None
    v.grad = None
    v.creator = None
    v.generation = 0
    v._census = _VARIABLE_TOKEN
    if _getrefcount(_VARIABLE_TOKEN) > _peaks[0]:
        _peaks[0] = _getrefcount(_VARIABLE_TOKEN)
    return v


# ---------------------------------------------------------------- backward: the walk


# Breaks ties between pending Functions of one generation in the order they were
# found, so the heap never compares Functions and the order is reproducible.
_found_order = itertools.count()


def _backpropagate(
    top: Variable, seed: Any, path: type, retained: list[tuple[Variable, Any]] | None
) -> dict[Variable, Any]:
    """Run every Function upstream of ``top`` once, highest generation first.

    Returns the gradient table as the walk leaves it: ``top`` and the leaves. A
    Function's outputs all have their whole gradient when it runs: every Function
    that uses one of them has a higher generation, so it ran before.

    A chain's step (one input, whose creator has one output, nothing else pending)
    hands the gradient straight to the next Function (``carried``), skipping the
    table and the heap: nothing pending could add to that input's gradient, since
    a Function that could would have a higher generation than its creator, so it
    would be pending. A leaf's first gradient goes straight to the table. The
    rest goes through ``_accumulate``. With ``retained``, each
    output's gradient is also kept there, as it passes.
    """
    grads = {top: seed}
    pending: list[tuple[int, int, Function]] = []  # a heap of (-generation, order, f)
    vjp, grad_type = path.vjp, path.grad_type
    carried = None
    f = top.creator
    while f is not None:
        if len(f.outputs) == 1:
            y = f.outputs[0]()
            gy = grads.pop(y) if carried is None else carried
            if retained is not None and y is not top:
                retained.append((y, gy))
            gxs = vjp(f, y, gy)
        else:
            gxs = _vjp_of_several_outputs(f, grads, path, top, retained)
        carried = None
        inputs = f.inputs
        if len(inputs) == 1 and type(gxs) is grad_type and inputs[0] not in grads:
            x = inputs[0]
            creator = x.creator
            if creator is None:  # a leaf: its gradient waits in the table
                grads[x] = gxs
                f = heapq.heappop(pending)[2] if pending else None
                continue
            if not pending and len(creator.outputs) == 1:
                carried, f = gxs, creator
                continue
        f = _accumulate(f, gxs, grads, pending, path)
    return grads


def _vjp_of_several_outputs(
    f: Function,
    grads: dict[Variable, Any],
    path: type,
    top: Variable,
    retained: list[tuple[Variable, Any]] | None,
) -> Any:
    """The inputs' gradients of a Function of several outputs.

    An output nobody differentiated, or one already freed (weak mode), passes a
    gradient of None, as in DeZero.
    """
    outputs = [ref() for ref in f.outputs]
    gys = [grads.pop(y, None) for y in outputs]  # pop(None) finds nothing: freed output
    if retained is not None:
        retained += [
            (y, gy) for y, gy in zip(outputs, gys, strict=True) if gy is not None and y is not top
        ]
    return path.vjp_several(f, outputs, gys)


def _accumulate(
    f: Function,
    gxs: Any,
    grads: dict[Variable, Any],
    pending: list[tuple[int, int, Function]],
    path: type,
) -> Function | None:
    """Add ``f``'s input gradients to the table, and return the next Function to run.

    A creator is scheduled when its output gets a first gradient; a creator of
    several outputs, when the first of them does (the others are not in the table
    yet: they leave it only when it runs). A sum is never made in place:
    the earlier gradient may be shared with another Variable (add passes one
    gradient to both its inputs).
    """
    grad_type = path.grad_type
    for x, gx in _checked_pairs(f, gxs):
        if gx is None:
            continue
        if type(gx) is not grad_type:
            gx = path.to_grad(gx)
        if x in grads:
            grads[x] = grads[x] + gx
            continue
        grads[x] = gx
        creator = x.creator
        if creator is None:
            continue
        if len(creator.outputs) > 1 and _scheduled(creator, x, grads):
            continue
        heapq.heappush(pending, (-creator.generation, next(_found_order), creator))
    return heapq.heappop(pending)[2] if pending else None


def _scheduled(creator: Function, x: Variable, grads: dict[Variable, Any]) -> bool:
    """Whether an output of ``creator`` other than ``x`` already has a gradient."""
    return any(y is not x and y in grads for y in [ref() for ref in creator.outputs])


def _checked_pairs(f: Function, gxs: Any) -> Any:
    """(input, gradient) pairs of ``f``, or a clear error if the counts differ."""
    inputs = f.inputs
    if type(gxs) is not tuple:
        gxs = tuple(gxs) if type(gxs) is list else (gxs,)
    if len(gxs) != len(inputs):
        raise ValueError(
            f"{type(f).__name__} returned {len(gxs)} gradients for {len(inputs)} inputs"
        )
    return zip(inputs, gxs)  # noqa: B905 - lengths checked above


# ---------------------------------------------------------------- backward: the two paths


class _ArrayPath:
    """Backward on raw arrays: each ``vjp`` computes with numpy, no graph is recorded.

    The fast path, and the default. Gradients are handed out as ``.grad`` at the
    end, each array to one Variable at most: one ``vjp`` may pass the same array to
    several inputs (add does), and a later in-place update of one ``.grad`` must
    not change another.
    """

    grad_type = np.ndarray

    @staticmethod
    def seed(top: Variable) -> np.ndarray:
        """The gradient backward starts from: ``top.grad``, or ones like its data."""
        if top.grad is not None:
            return _to_array(top.grad)
        data = top.data
        if data is None:
            raise ValueError("backward() needs data: this Variable holds None")
        # Cheaper than np.ones_like (Python) and np.empty_like (dispatched) on small
        # arrays, where this call is a fair part of a whole backward.
        seed = _empty(data.shape, data.dtype)
        seed.fill(1)
        return seed

    @staticmethod
    def vjp(f: Function, y: Variable, gy: np.ndarray) -> Any:
        """The inputs' gradients of a Function of one output, on arrays."""
        inputs = f.inputs
        if len(inputs) == 1:
            return f.vjp(_ops.ARRAY_OPS, (inputs[0].data,), (y.data,), (gy,))
        return f.vjp(_ops.ARRAY_OPS, [x.data for x in inputs], (y.data,), (gy,))

    @staticmethod
    def vjp_several(f: Function, ys: list[Variable | None], gys: list[Any]) -> Any:
        """The same for several outputs, one of which may be gone (None)."""
        xs = [x.data for x in f.inputs]
        return f.vjp(_ops.ARRAY_OPS, xs, [None if y is None else y.data for y in ys], gys)

    @staticmethod
    def to_grad(g: Any) -> np.ndarray:
        return _to_array(g)

    @staticmethod
    def hand_out(pairs: Any, seed: np.ndarray) -> None:
        """Give each Variable its gradient: added to an earlier one, never shared."""
        if len(pairs) == 1:  # the usual end: one leaf, whose array only the seed may share
            for x, g in pairs:
                _give_array(x, g.copy() if g is seed else g)
            return
        handed_out = {id(seed)}  # the seed is kept for backward's own Variable
        for x, g in pairs:
            if id(g) in handed_out:
                g = g.copy()  # a fresh array: no need to remember it
            else:
                handed_out.add(id(g))
            _give_array(x, g)

    @staticmethod
    def own(g: np.ndarray) -> Variable:
        return _variable_of(g)


class _GraphPath:
    """Backward on Variables (``create_graph``): each ``vjp`` records its own graph.

    The same ``vjp`` as the array path, given the engine's functions as ``ops``,
    so the gradient it builds can be differentiated again. A gradient is a graph
    node here, so sharing one between Variables is harmless.
    """

    grad_type = Variable

    @staticmethod
    def seed(top: Variable) -> Variable:
        if top.grad is not None:
            return as_variable(top.grad)
        return _variable_of(_ArrayPath.seed(top))

    @staticmethod
    def vjp(f: Function, y: Variable, gy: Variable) -> Any:
        return f.vjp(_ops.VARIABLE_OPS, f.inputs, (y,), (gy,))

    @staticmethod
    def vjp_several(f: Function, ys: list[Variable | None], gys: list[Any]) -> Any:
        return f.vjp(_ops.VARIABLE_OPS, f.inputs, ys, gys)

    @staticmethod
    def to_grad(g: Any) -> Variable:
        return as_variable(g)

    @staticmethod
    def hand_out(pairs: Any, seed: Variable) -> None:
        for x, g in pairs:
            x.grad = g if x.grad is None else x.grad + g

    @staticmethod
    def own(g: Variable) -> Variable:
        return g


def _give_array(x: Variable, g: np.ndarray) -> None:
    """``x.grad`` becomes ``g``, or the sum with the gradient it already has."""
    x.grad = _variable_of(g if x.grad is None else x.grad.data + g)


def _to_array(x: Any) -> np.ndarray:
    """A gradient as a raw array: a Variable's data, or a numpy scalar made 0-d."""
    return as_array(x.data if isinstance(x, Variable) else x)


# ---------------------------------------------------------------- Function


class Function:
    """One differentiable operation; subclasses define ``forward`` and a gradient.

    A built-in op defines ``vjp(ops, xs, ys, gys)`` once, written against ``ops``, a
    namespace that is plain numpy when backward runs on arrays and the engine's own
    functions when it builds a graph (``create_graph=True``); arithmetic operators
    work on both. A DeZero-style subclass may instead override ``backward(*gys)``,
    which receives Variables (None for an output nobody used) and may return
    Variables or arrays.
    """

    __slots__ = ("__weakref__", "_census", "generation", "inputs", "outputs")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A DeZero-style subclass (its own backward, no vjp): backward serves as vjp.
        if "backward" in cls.__dict__ and "vjp" not in cls.__dict__:
            cls.vjp = Function._vjp_through_backward

    def __call__(self, *inputs: Any) -> Any:
        # Counted when called, not in __init__: an op's construction then stays in C
        # (no Python __init__ per op), and a Function holds nothing before its call.
        # Calling one Function twice still counts it once: the token is one slot.
        self._census = _FUNCTION_TOKEN
        if _getrefcount(_FUNCTION_TOKEN) > _peaks[1]:
            _peaks[1] = _getrefcount(_FUNCTION_TOKEN)

        if len(inputs) == 1:  # by far the commonest call: spare it the comprehensions
            x = inputs[0]
            if not isinstance(x, Variable):
                x = as_variable(x)
                inputs = (x,)
            ys = self.forward(x.data)
            generation = x.generation
        else:
            inputs = tuple([x if isinstance(x, Variable) else as_variable(x) for x in inputs])
            ys = self.forward(*[x.data for x in inputs])
            generation = max([x.generation for x in inputs])
        if type(ys) is not _ndarray:
            if type(ys) is tuple:
                outputs = [Variable(as_array(y)) for y in ys]
                return self._record_outputs(inputs, outputs, generation)
            ys = as_array(ys)

        # _variable_of inlined: making the output is the costliest step of a small op.
        y = _new_object(Variable)
        y.data = ys
        y.name = y.grad = None
        y._census = _VARIABLE_TOKEN
        if _getrefcount(_VARIABLE_TOKEN) > _peaks[0]:
            _peaks[0] = _getrefcount(_VARIABLE_TOKEN)
        if Config.enable_backprop:
            self.generation = generation
            self.inputs = inputs
            # The reference mode is read here, once, and kept by this Function.
            ref = _output_ref
            self.outputs = (y,) if ref is None else (ref(y),)
            y.creator = self
            y.generation = generation + 1
        else:
            y.creator = None
            y.generation = 0
        return y

    def _record_outputs(self, inputs: Any, outputs: list[Variable], generation: int) -> Any:
        """The general end of ``__call__``, for a forward that returned a tuple."""
        if Config.enable_backprop:
            self.generation = generation
            generation += 1
            for y in outputs:
                y.creator = self
                y.generation = generation
            self.inputs = inputs
            ref = _output_ref
            self.outputs = tuple(outputs) if ref is None else tuple([ref(y) for y in outputs])
        return outputs if len(outputs) > 1 else outputs[0]

    # -- copying and pickling

    def __getstate__(self) -> dict[str, Any]:
        """Every attribute set, with a weak Function's outputs as the Variables themselves.

        ``copy.deepcopy`` treats a ``weakref.ref`` as atomic and ``pickle`` refuses
        one, so by default a weak graph's copy would point at the *original* outputs
        (its backward then finds no gradient for them) and could not be pickled at
        all. The outputs travel as Variables (None for one already freed) and
        ``__setstate__`` makes weakrefs to their copies again.
        """
        state: dict[str, Any] = {}
        for cls in type(self).__mro__:
            slots = cls.__dict__.get("__slots__", ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name not in ("__weakref__", "__dict__") and hasattr(self, name):
                    state[name] = getattr(self, name)
        state.update(getattr(self, "__dict__", {}))
        outputs = state.get("outputs")
        if outputs and type(outputs[0]) is weakref.ref:
            state["outputs"] = tuple([ref() for ref in outputs])
            state[_WEAK_OUTPUTS] = True
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        weak = state.pop(_WEAK_OUTPUTS, False)
        for name, value in state.items():
            setattr(self, name, value)
        if weak:
            self.outputs = tuple([_gone() if y is None else weakref.ref(y) for y in self.outputs])

    @property
    def reference_mode(self) -> str:
        """The mode this Function was called in: ``weakref``s to its outputs, or them."""
        return "weak" if type(self.outputs[0]) is weakref.ref else "strong"

    def forward(self, *xs: np.ndarray) -> Any:
        """Compute the outputs from raw arrays."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        """Return the inputs' gradients (a tuple, or one) from the outputs' ``gys``.

        ``xs``/``ys`` are the inputs and outputs as arrays (fast path) or Variables
        (``create_graph``), and ``ops`` holds the matching functions. An output
        nobody used has a gradient of None.
        """
        raise NotImplementedError(f"{type(self).__name__} defines neither vjp nor backward")

    def backward(self, *gys: Any) -> Any:
        """DeZero's hook: the inputs' gradients, as Variables, from the outputs' ``gys``."""
        outputs = [ref() for ref in self.outputs]
        gys = tuple(None if gy is None else as_variable(gy) for gy in gys)
        return self.vjp(_ops.VARIABLE_OPS, self.inputs, outputs, gys)

    def _vjp_through_backward(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        """A DeZero-style ``backward`` as ``vjp``: it receives Variables on both paths.

        On the array path, ``gys`` are arrays and the graph is off, so wrapping them
        records nothing; what ``backward`` returns is unwrapped by the caller.
        """
        wrapped = [gy if gy is None or isinstance(gy, Variable) else _variable_of(gy) for gy in gys]
        return self.backward(*wrapped)


# The key under which a weak Function's state says its outputs were weakrefs.
_WEAK_OUTPUTS = "_weak_outputs"


class _Gone:
    """Something to make a dead ``weakref.ref`` from: a copied output that was already freed."""

    __slots__ = ("__weakref__",)


def _gone() -> weakref.ref:
    return weakref.ref(_Gone())


class _Calibration(Function):
    """The Function the census is calibrated with: defined here, so calibration does not
    depend on ``ops`` having been imported first."""

    __slots__ = ()

    forward = staticmethod(np.negative)


# Imported last: the ops are Functions, and Variable's operators call them. Nothing
# here reads ``_ops`` at import time, so importing ``ops`` first works too.
from autograd_mem.engine import ops as _ops  # noqa: E402

_census.calibrate(lambda: Variable(None), lambda: _Calibration()(np.zeros(1)))
