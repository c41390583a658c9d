"""Backpropagation: the scheduler that runs each Function once, and its two paths.

``backward`` walks the graph from one Variable, highest generation first. Each
Function's gradient is its ``vjp``, computed either on raw arrays (the fast path,
the default) or on Variables, recording a graph of its own (``create_graph``). The
reference mode never enters here: a Function's outputs are read with ``ref()`` in
both modes (``engine.config``).
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

import numpy as np

from autograd_mem.engine.config import Config
from autograd_mem.engine.function import Function
from autograd_mem.engine.ops import ARRAY_OPS, VARIABLE_OPS
from autograd_mem.engine.variable import Variable, as_array, as_variable, variable_of

_empty = np.empty


def backward(top: Variable, retain_grad: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(top)/d(x) into ``x.grad`` for every Variable ``x`` upstream.

    Each Function runs once, highest generation first (``_backpropagate``).
    Gradients flow through a table keyed by Variable rather than through
    ``.grad``, so an intermediate gradient is dropped as soon as its creator has
    used it; only the leaves (and, with ``retain_grad``, every Variable) get a
    ``.grad``. Without ``create_graph`` gradients are raw arrays and no graph is
    recorded (``_ArrayPath``, the fast path); with it they are Variables, so the
    gradient can be differentiated again (``_GraphPath``).
    """
    path = _GraphPath if create_graph else _ArrayPath
    seed = path.seed(top)
    retained: list[tuple[Variable, Any]] | None = [] if retain_grad else None
    saved_enable_backprop = Config.enable_backprop
    Config.enable_backprop = create_graph
    try:
        grads = _backpropagate(top, seed, path, retained)
        # What is left in the table has no creator: the leaves (and top).
        grads.pop(top, None)
        path.hand_out(grads.items() if retained is None else [*retained, *grads.items()], seed)
    finally:
        Config.enable_backprop = saved_enable_backprop
    top.grad = path.own(seed) if top.creator is None or retain_grad else None


# ---------------------------------------------------------------- the walk


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


# ---------------------------------------------------------------- the two paths


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
            return f.vjp(ARRAY_OPS, (inputs[0].data,), (y.data,), (gy,))
        return f.vjp(ARRAY_OPS, [x.data for x in inputs], (y.data,), (gy,))

    @staticmethod
    def vjp_several(f: Function, ys: list[Variable | None], gys: list[Any]) -> Any:
        """The same for several outputs, one of which may be gone (None)."""
        xs = [x.data for x in f.inputs]
        return f.vjp(ARRAY_OPS, xs, [None if y is None else y.data for y in ys], gys)

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
        return variable_of(g)


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
        return variable_of(_ArrayPath.seed(top))

    @staticmethod
    def vjp(f: Function, y: Variable, gy: Variable) -> Any:
        return f.vjp(VARIABLE_OPS, f.inputs, (y,), (gy,))

    @staticmethod
    def vjp_several(f: Function, ys: list[Variable | None], gys: list[Any]) -> Any:
        return f.vjp(VARIABLE_OPS, f.inputs, ys, gys)

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
    x.grad = variable_of(g if x.grad is None else x.grad.data + g)


def _to_array(x: Any) -> np.ndarray:
    """A gradient as a raw array: a Variable's data, or a numpy scalar made 0-d."""
    return as_array(x.data if isinstance(x, Variable) else x)
