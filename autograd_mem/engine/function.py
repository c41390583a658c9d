"""Function: one differentiable operation, called as DeZero's template method.

``Function.__call__`` unwraps its input Variables, runs ``forward`` on raw numpy
arrays and wraps the results (``dezero/core.py``), recording the graph only while
``Config.enable_backprop`` is on. It reads the reference mode once, when called,
and holds its outputs in that mode for its whole life: strongly (the Variables
themselves) or through ``weakref``s (``engine.config``).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from autograd_mem.engine import census as _census
from autograd_mem.engine.census import FUNCTION_TOKEN as _FUNCTION_TOKEN
from autograd_mem.engine.config import Config
from autograd_mem.engine.variable import Variable, as_array, as_variable, variable_of

_ndarray = np.ndarray

# The gradient functions on Variables (``ops.VARIABLE_OPS``), for the DeZero-style
# ``Function.backward``. ``ops`` defines Functions, so it is handed here by
# ``connect`` (called once, by ``engine.core``) rather than imported.
_variable_ops: Any = None


def connect(variable_ops: Any) -> None:
    """Give ``Function.backward`` the gradient functions on Variables."""
    global _variable_ops
    _variable_ops = variable_ops


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
        # Calling one Function twice still counts it once: the token is one slot. Its
        # peak is read by the census update of its output, below (census.enlist).
        self._census = _FUNCTION_TOKEN

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

        y = variable_of(ys)
        if Config.enable_backprop:
            self.generation = generation
            self.inputs = inputs
            # The reference mode is read here, once, and kept by this Function.
            ref = Config.output_ref
            self.outputs = (y,) if ref is None else (ref(y),)
            y.creator = self
            y.generation = generation + 1
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
            ref = Config.output_ref
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
        return self.vjp(_variable_ops, self.inputs, outputs, gys)

    def _vjp_through_backward(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        """A DeZero-style ``backward`` as ``vjp``: it receives Variables on both paths.

        On the array path, ``gys`` are arrays and the graph is off, so wrapping them
        records nothing; what ``backward`` returns is unwrapped by the caller.
        """
        wrapped = [gy if gy is None or isinstance(gy, Variable) else variable_of(gy) for gy in gys]
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


class _Calibration(Function):
    """The Function the census is calibrated with: defined here, so calibration does not
    depend on ``ops`` having been imported first."""

    __slots__ = ()

    forward = staticmethod(np.negative)


# Both kinds of instances can be made from here on: measure what the census must subtract.
_census.calibrate(lambda: Variable(None), lambda: _Calibration()(np.zeros(1)))
