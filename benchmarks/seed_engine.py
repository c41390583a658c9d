"""The seed notebook's final engine, re-implemented only as the benchmark's reference.

Faithful in algorithm and costs, not in every name: list comprehensions on every
call, an ``isinstance`` check per Variable, ``np.isscalar`` on every output, outputs
held through ``weakref``, and a backward that re-sorts its whole list of pending
functions (with a key lambda) on every insertion and computes on raw arrays. Do not
"improve" it: the engine benchmark's ratios are measured against exactly this.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np


def as_array(x: Any) -> Any:
    if np.isscalar(x):
        return np.array(x)
    return x


class SeedVariable:
    def __init__(self, data: np.ndarray | None) -> None:
        if data is not None and not isinstance(data, np.ndarray):
            raise TypeError(f"{type(data)} is not supported")
        self.data = data
        self.grad = None
        self.creator: SeedFunction | None = None
        self.generation = 0

    def set_creator(self, func: SeedFunction) -> None:
        self.creator = func
        self.generation = func.generation + 1

    def backward(self) -> None:
        if self.grad is None:
            self.grad = np.ones_like(self.data)

        funcs: list[SeedFunction] = []
        seen_set: set[SeedFunction] = set()

        def add_func(f: SeedFunction) -> None:
            if f not in seen_set:
                funcs.append(f)
                seen_set.add(f)
                funcs.sort(key=lambda x: x.generation)

        add_func(self.creator)
        while funcs:
            f = funcs.pop()
            gys = [output().grad for output in f.outputs]
            gxs = f.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx in zip(f.inputs, gxs):  # noqa: B905 - the seed's own loop
                if x.grad is None:
                    x.grad = gx
                else:
                    x.grad = x.grad + gx
                if x.creator is not None:
                    add_func(x.creator)

    def clear_grad(self) -> None:
        self.grad = None


class SeedFunction:
    def __call__(self, *inputs: SeedVariable) -> Any:
        xs = [x.data for x in inputs]
        ys = self.forward(*xs)
        if not isinstance(ys, tuple):
            ys = (ys,)
        outputs = [SeedVariable(as_array(y)) for y in ys]
        self.generation = max([x.generation for x in inputs])
        for output in outputs:
            output.set_creator(self)
        self.inputs = inputs
        self.outputs = [weakref.ref(output) for output in outputs]
        return outputs if len(outputs) > 1 else outputs[0]

    def forward(self, *xs: np.ndarray) -> Any:
        raise NotImplementedError()

    def backward(self, *gys: np.ndarray) -> Any:
        raise NotImplementedError()


class SeedSquare(SeedFunction):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x**2

    def backward(self, gy: np.ndarray) -> np.ndarray:
        x = self.inputs[0].data
        return 2 * x * gy


def square(x: SeedVariable) -> SeedVariable:
    return SeedSquare()(x)


if __name__ == "__main__":
    # A module the engine benchmark imports, not a benchmark: say so rather than do nothing.
    print(__doc__.splitlines()[0])
    print("Not a benchmark of its own: run benchmarks/engine.py, which imports it.")
