"""DeZero's ``dezero.cuda`` for an engine that computes on numpy arrays only.

DeZero moves arrays to a GPU with CuPy. agmem measures host memory, so its engine
keeps numpy arrays: ``gpu_enable`` is False, ``get_array_module`` is always numpy,
and ``as_cupy`` refuses with the same ``GPUUnavailableError`` as ``Variable.to_gpu``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from autograd_mem.engine.core import GPUUnavailableError, Variable

gpu_enable = False


def get_array_module(x: Any) -> ModuleType:
    """The array module for ``x``: numpy, whatever ``x`` is."""
    return np


def as_numpy(x: Any) -> np.ndarray:
    """``x`` (a Variable, an array or a scalar) as a numpy array."""
    if isinstance(x, Variable):
        x = x.data
    return np.asarray(x)


def as_cupy(x: Any) -> Any:
    """Refuse with ``GPUUnavailableError``: the engine computes on numpy arrays only."""
    raise GPUUnavailableError("as_cupy(): this engine computes on numpy arrays only (use as_numpy)")


__all__ = ["as_cupy", "as_numpy", "get_array_module", "gpu_enable"]
