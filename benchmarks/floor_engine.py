"""The least a pure-Python autodiff engine can do per op: the benchmark's floor, not an engine.

One Function object and one output Variable per op, linked both ways, the output
held through a ``weakref`` (as agmem's weak mode, so no cycles), and a backward
that walks a chain of one-input ops. No census, no reference modes, no
conversions, no checks, no generations or heap: everything agmem's engine does
beyond this is its cost above the floor. Only ``square`` exists, for the
benchmark's ``square(square(square(x)))``.
"""

from __future__ import annotations

import weakref

import numpy as np

_new = object.__new__
_ref = weakref.ref


class FloorVariable:
    __slots__ = ("__weakref__", "creator", "data", "grad")

    def backward(self) -> None:
        """d(self)/dx for a chain of squares, with the engines' arithmetic: (x + x) * g."""
        g = np.empty(self.data.shape, self.data.dtype)
        g.fill(1)
        f = self.creator
        while f is not None:
            x = f.input
            g = (x.data + x.data) * g
            f = x.creator
            if f is None:
                x.grad = g


class FloorSquare:
    __slots__ = ("__weakref__", "input", "output")


def leaf(data: np.ndarray) -> FloorVariable:
    v = _new(FloorVariable)
    v.data, v.grad, v.creator = data, None, None
    return v


def square(x: FloorVariable) -> FloorVariable:
    f = FloorSquare()
    y = _new(FloorVariable)
    y.data, y.grad, y.creator = np.square(x.data), None, f
    f.input, f.output = x, _ref(y)
    return y


if __name__ == "__main__":
    # A module the engine benchmark imports, not a benchmark: say so rather than do nothing.
    print(__doc__.splitlines()[0])
    print("Not a benchmark of its own: run benchmarks/engine.py, which imports it.")
