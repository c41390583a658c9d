"""The autodiff engine agmem measures: DeZero's design with a strong/weak reference switch.

Names are resolved on first use (PEP 562), not at import: importing any submodule
runs this file first, and ``autograd_mem.engine.modes`` is read by the result
schema in processes (the CLI's parent, a pytest session) that must not pay for
numpy. Each export is listed once, in ``_EXPORTS``, with the submodule it lives in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autograd_mem.engine.modes import REFERENCE_MODES

if TYPE_CHECKING:
    from autograd_mem.engine import census
    from autograd_mem.engine.core import (
        Config,
        Function,
        GPUUnavailableError,
        Parameter,
        Variable,
        as_array,
        as_variable,
        get_reference_mode,
        no_grad,
        reference_mode,
        set_reference_mode,
        setup_variable,
        test_mode,
        using_config,
    )
    from autograd_mem.engine.dataloaders import DataLoader, SeqDataLoader
    from autograd_mem.engine.datasets import Dataset
    from autograd_mem.engine.gradient_check import gradient_check
    from autograd_mem.engine.layers import Layer
    from autograd_mem.engine.models import Model

# name -> the submodule that defines it ("" for a submodule itself).
_EXPORTS = {
    "Config": "core",
    "DataLoader": "dataloaders",
    "Dataset": "datasets",
    "Function": "core",
    "GPUUnavailableError": "core",
    "Layer": "layers",
    "Model": "models",
    "Parameter": "core",
    "SeqDataLoader": "dataloaders",
    "Variable": "core",
    "as_array": "core",
    "as_variable": "core",
    "census": "",
    "get_reference_mode": "core",
    "gradient_check": "gradient_check",
    "no_grad": "core",
    "reference_mode": "core",
    "set_reference_mode": "core",
    "setup_variable": "core",
    "test_mode": "core",
    "using_config": "core",
}

# The same names, written out for tools that read __all__ without running this file.
__all__ = [
    "REFERENCE_MODES",
    "Config",
    "DataLoader",
    "Dataset",
    "Function",
    "GPUUnavailableError",
    "Layer",
    "Model",
    "Parameter",
    "SeqDataLoader",
    "Variable",
    "as_array",
    "as_variable",
    "census",
    "get_reference_mode",
    "gradient_check",
    "no_grad",
    "reference_mode",
    "set_reference_mode",
    "setup_variable",
    "test_mode",
    "using_config",
]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'autograd_mem.engine' has no attribute {name!r}")
    if where:
        value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    else:
        value = importlib.import_module(f"{__name__}.{name}")
    globals()[name] = value  # resolved once; later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
