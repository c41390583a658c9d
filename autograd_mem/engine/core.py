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
import weakref
from collections.abc import Iterator
from sys import getrefcount as _getrefcount
from typing import Any

import numpy as np

from autograd_mem.engine import census as _census
from autograd_mem.engine.census import FUNCTION_TOKEN as _FUNCTION_TOKEN
from autograd_mem.engine.census import VARIABLE_TOKEN as _VARIABLE_TOKEN
from autograd_mem.engine.census import peaks as _peaks

# The mode names are part of the result schema, so they are defined there (a module
# without numpy, cheap for readers of results) and re-exported by the engine.
from autograd_mem.result import REFERENCE_MODES

_new_object = object.__new__
_ndarray = np.ndarray
_empty = np.empty


# ---------------------------------------------------------------- configuration


class _Config:
    """Process-wide switches read by every Function call (DeZero's ``Config``).

    One instance rather than DeZero's class with class attributes: backward sets
    ``enable_backprop`` on every call, and setting a class attribute invalidates the
    interpreter's attribute caches for the class, setting an instance slot does not.
    """

    __slots__ = ("enable_backprop",)

    def __init__(self) -> None:
        self.enable_backprop = True


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


# ---------------------------------------------------------------- reference modes


# How a Function holds its outputs, by mode. Both hold something that, called, returns
# the Variable, so backward reads outputs with ``ref()`` and never asks for the mode.
# Weak: a ``weakref.ref``. Strong: the Variable itself (``Variable.__call__`` returns
# the Variable, weakref.ref's protocol), so the cycle is Variable -> Function ->
# outputs tuple -> Variable, with no object in between: the notebook's strong engine.
# ``_output_ref`` is the reference type new Functions use: ``weakref.ref``, or None
# for strong (a Function call then stores the Variable, with no call at all).
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
        """Cut every Variable upstream of this one from its creator (iteratively)."""
        creator = self.creator
        if creator is None:
            return
        self.creator = None
        pending = [creator]
        while pending:
            for x in pending.pop().inputs:
                if x.creator is not None:
                    pending.append(x.creator)
                    x.creator = None

    def backward(self, retain_grad: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(x) into ``x.grad`` for every Variable ``x`` upstream.

        Iterative, each Function once, highest generation first, from a heap.
        Gradients flow through a table keyed by Variable rather than through
        ``.grad``, so an intermediate gradient is dropped as soon as its creator has
        used it; only the leaves (and, with ``retain_grad``, every Variable) get a
        ``.grad``. Without ``create_graph`` gradients are raw arrays, each op's
        ``vjp`` computes on ``x.data`` and no graph is recorded: the fast path. With
        it, the same ``vjp`` runs on Variables, so the gradient can be
        differentiated again. The reference mode never enters here: outputs are
        read with ``ref()`` whether a Function holds them strongly or weakly.
        """
        seed = self.grad
        if seed is None:
            # Cheaper than np.ones_like (Python) and np.empty_like (dispatched) on small
            # arrays, where this call is a fair part of a whole backward.
            data = self.data
            if data is None:
                raise ValueError("backward() needs data: this Variable holds None")
            seed = _empty(data.shape, data.dtype)
            seed.fill(1)
        if create_graph:
            seed = as_variable(seed)
            ops, grad_type, to_grad = _ops.VARIABLE_OPS, Variable, as_variable
            store = _store_variable
        else:
            if type(seed) is not _ndarray:
                seed = _to_array(seed)
            ops, grad_type, to_grad = _ops.ARRAY_OPS, _ndarray, _to_array
            store = _store_array

        grads: dict[Variable, Any] = {self: seed}
        pop = grads.pop
        # ids of the arrays handed out as .grad by this call: one array is never the
        # gradient of two Variables (add passes one to both inputs), so a later
        # in-place update of one gradient cannot change another. Only retain_grad
        # hands one out before the end.
        stored = {id(seed)} if retain_grad else None
        # Pending Functions wait in a heap as (-generation, order pushed, Function): the
        # order breaks ties, so Functions are never compared. The first creator found
        # while running a Function skips the heap unless something there outranks it,
        # so a chain never touches the heap at all.
        heap: list[tuple[int, int, Function]] = []
        pushed = 0
        seen: set[Function] | None = None  # Functions of several outputs already found
        # The gradient of the next Function's single output when it skips the table: a
        # chain's step hands it over directly (see below).
        carried = None
        f = self.creator
        saved_enable_backprop = Config.enable_backprop
        Config.enable_backprop = create_graph
        try:
            while f is not None:
                inputs, refs = f.inputs, f.outputs
                one_input = len(inputs) == 1
                if len(refs) == 1:  # the common case, kept free of list building
                    y = refs[0]()
                    if carried is None:
                        gy = pop(y)
                    else:
                        gy, carried = carried, None
                    if retain_grad and y is not self:
                        store(y, gy, stored)
                    if create_graph:
                        gxs = f.vjp(ops, inputs, (y,), (gy,))
                    elif one_input:
                        gxs = f.vjp(ops, (inputs[0].data,), (y.data,), (gy,))
                    else:
                        gxs = f.vjp(ops, [x.data for x in inputs], (y.data,), (gy,))
                else:
                    outputs, ys, gys = f._output_gradients(pop, create_graph)
                    if retain_grad:
                        for y, gy in zip(outputs, gys, strict=True):
                            if y is not None and y is not self:
                                store(y, gy, stored)
                    xs = inputs if create_graph else [x.data for x in inputs]
                    gxs = f.vjp(ops, xs, ys, gys)
                found = None
                if one_input and type(gxs) is grad_type:
                    # One gradient of the right type for one input, a chain's step: the
                    # loop below, unrolled (its pairs cost more than the rest of a step).
                    x = inputs[0]
                    if x in grads:
                        grads[x] = grads[x] + gxs  # never in place: see below
                    else:
                        found = x.creator
                        if found is not None and len(found.outputs) == 1 and not heap:
                            # x's creator runs next, and nothing pending can add to x's
                            # gradient: a Function that could is downstream of x, so of a
                            # higher generation than x's creator, so it would be in the
                            # heap. The gradient skips the table.
                            carried = gxs
                            f = found
                            continue
                        grads[x] = gxs
                        if found is not None and len(found.outputs) > 1:
                            if seen is None:
                                seen = set()
                            found = _first_sighting(found, seen)
                else:
                    for x, gx in _checked_pairs(f, inputs, gxs):
                        if gx is None:
                            continue
                        if type(gx) is not grad_type:
                            gx = to_grad(gx)
                        if x in grads:
                            # Never in place: the earlier gradient may be shared with
                            # another Variable (add passes one gradient to both inputs).
                            grads[x] = grads[x] + gx
                            continue
                        grads[x] = gx
                        creator = x.creator
                        # x's first gradient: its creator is new, unless it has other outputs.
                        if creator is None:
                            continue
                        if len(creator.outputs) > 1:
                            if seen is None:
                                seen = set()
                            if _first_sighting(creator, seen) is None:
                                continue
                        if found is not None:
                            heapq.heappush(heap, (-found.generation, pushed, found))
                            pushed += 1
                        found = creator
                if found is None:
                    f = heapq.heappop(heap)[2] if heap else None
                elif heap:
                    f = heapq.heappushpop(heap, (-found.generation, pushed, found))[2]
                    pushed += 1
                else:
                    f = found
        finally:
            Config.enable_backprop = saved_enable_backprop
        # What is left in the table has no creator: the leaves.
        pop(self, None)
        if stored is None and len(grads) == 1 and not create_graph:
            # One leaf, the usual end: its gradient can be shared only with the seed.
            for x, g in grads.items():
                if x.grad is None:
                    x.grad = _variable_of(g.copy() if g is seed else g)
                else:
                    x.grad = _variable_of(x.grad.data + g)
        else:
            if stored is None:
                stored = {id(seed)}
            for x, g in grads.items():
                store(x, g, stored)
        if self.creator is None or retain_grad:
            self.grad = seed if create_graph else _variable_of(seed)
        else:
            self.grad = None

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


def _checked_pairs(f: Function, inputs: Any, gxs: Any) -> Any:
    """(input, gradient) pairs of ``f``, or a clear error if the counts differ."""
    if type(gxs) is not tuple:
        gxs = (gxs,)
    if len(gxs) != len(inputs):
        raise ValueError(
            f"{type(f).__name__} returned {len(gxs)} gradients for {len(inputs)} inputs"
        )
    return zip(inputs, gxs)  # noqa: B905 - lengths checked above


def _first_sighting(f: Function, seen: set[Function]) -> Function | None:
    """``f`` the first time a Function of several outputs is found, None after."""
    if f in seen:
        return None
    seen.add(f)
    return f


def _to_array(x: Any) -> np.ndarray:
    """A gradient as a raw array: a Variable's data, or a numpy scalar made 0-d."""
    return as_array(x.data if isinstance(x, Variable) else x)


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


def _store_array(x: Variable, g: np.ndarray, stored: set[int]) -> None:
    """Give ``x`` its gradient (fast path): added to an earlier one, never shared."""
    if x.grad is not None:
        x.grad = _variable_of(x.grad.data + g)
        return
    if id(g) in stored:
        g = g.copy()  # a fresh array: no need to remember it
    else:
        stored.add(id(g))
    x.grad = _variable_of(g)


def _store_variable(x: Variable, g: Variable, stored: set[int]) -> None:
    """Give ``x`` its gradient (``create_graph``): a graph node, so it may be shared."""
    x.grad = g if x.grad is None else x.grad + g


# ---------------------------------------------------------------- Function


class Function:
    """One differentiable operation; subclasses define ``forward`` and a gradient.

    A built-in op defines ``vjp(ops, xs, ys, gys)`` once, written against ``ops``, a
    namespace that is plain numpy when backward runs on arrays and the engine's own
    functions when it builds a graph (``create_graph=True``); arithmetic operators
    work on both. A DeZero-style subclass may instead override ``backward(*gys)``.
    """

    __slots__ = ("__weakref__", "_census", "_output_specs", "generation", "inputs", "outputs")

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
            self._output_specs = [(y.shape, y.dtype) for y in outputs]
        return outputs if len(outputs) > 1 else outputs[0]

    # -- copying and pickling

    def __getstate__(self) -> dict[str, Any]:
        """Every attribute set, with a weak Function's outputs as the Variables themselves.

        ``copy.deepcopy`` treats a ``weakref.ref`` as atomic and ``pickle`` refuses
        one, so by default a weak graph's copy would point at the *original* outputs
        (its backward then finds no gradient for them: a KeyError, or a silent zero
        for a Function of several outputs) and could not be pickled at all. The
        outputs travel as Variables (None for one already freed) and
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
        (``create_graph``), and ``ops`` holds the matching functions.
        """
        raise NotImplementedError(f"{type(self).__name__} defines neither vjp nor backward")

    def backward(self, *gys: Any) -> Any:
        """DeZero's hook: the inputs' gradients, as Variables, from the outputs' ``gys``."""
        outputs = [ref() for ref in self.outputs]
        gys = tuple(as_variable(gy) for gy in gys)
        return self.vjp(_ops.VARIABLE_OPS, self.inputs, outputs, gys)

    def _vjp_through_backward(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        return self.backward(*gys)

    def _output_gradients(self, pop: Any, create_graph: bool) -> tuple[list[Any], ...]:
        """Outputs, their values for ``vjp`` and their gradients, for several outputs.

        An output nobody differentiated, or one already freed (weak mode), gets a
        zero gradient, built from the shape and dtype recorded at the call.
        """
        outputs = [ref() for ref in self.outputs]
        gys = [pop(y, None) for y in outputs]
        for i, (shape, dtype) in enumerate(self._output_specs):
            if gys[i] is None:
                zero = np.zeros(shape, dtype)
                gys[i] = Variable(zero) if create_graph else zero
        ys = outputs if create_graph else [None if y is None else y.data for y in outputs]
        return outputs, ys, gys


# The key under which a weak Function's state says its outputs were weakrefs.
_WEAK_OUTPUTS = "_weak_outputs"


class _Gone:
    """Something to make a dead ``weakref.ref`` from: a copied output that was already freed."""

    __slots__ = ("__weakref__",)


def _gone() -> weakref.ref:
    return weakref.ref(_Gone())


# Imported last: the ops are Functions, and Variable's operators call them.
from autograd_mem.engine import ops as _ops  # noqa: E402

_census.calibrate(lambda: Variable(None), lambda: _ops.Neg()(np.zeros(1)))
