"""agmem: a memory profiler for autodiff graphs, and the DeZero-style engine it measures.

The engine is re-exported here so a workload reads like DeZero code::

    import autograd_mem as am
    with am.reference_mode("weak"):
        y = am.functions.square(am.Variable(x))

The re-exports are resolved on first use (PEP 562), not at import: the pytest plugin
and the CLI's parent process import this package without needing numpy or the engine,
and a pytest session of any project with agmem installed should not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autograd_mem._version import __version__

if TYPE_CHECKING:
    from autograd_mem.engine import (
        Config,
        Function,
        Variable,
        as_array,
        as_variable,
        get_reference_mode,
        gradient_check,
        no_grad,
        reference_mode,
        set_reference_mode,
        using_config,
    )

__all__ = [
    "Config",
    "Function",
    "Variable",
    "__version__",
    "as_array",
    "as_variable",
    "get_reference_mode",
    "gradient_check",
    "no_grad",
    "reference_mode",
    "set_reference_mode",
    "using_config",
]

# DeZero's library on the engine (issue 12): its classes, and its modules by name, so
# ``dezero.layers.Linear`` becomes ``autograd_mem.layers.Linear`` after one import.
__all__ += [
    "DataLoader",
    "Dataset",
    "Layer",
    "Model",
    "Parameter",
    "SeqDataLoader",
    "setup_variable",
    "test_mode",
]
_SUBMODULES = frozenset(
    {
        "core",
        "core_simple",
        "cuda",
        "dataloaders",
        "datasets",
        "functions",
        "functions_conv",
        "layers",
        "models",
        "optimizers",
        "transforms",
        "utils",
    }
)

_ENGINE_NAMES = frozenset(__all__) - {"__version__"}

# agmem's own word for programs: where their set-up ends (targets.setup_mark).
__all__ += ["setup_done"]


def __getattr__(name: str) -> Any:
    if name == "setup_done":
        return importlib.import_module("autograd_mem.targets.setup_mark").setup_done
    if name in _ENGINE_NAMES:
        value = getattr(importlib.import_module("autograd_mem.engine"), name)
        globals()[name] = value  # resolved once; later lookups skip this hook
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"autograd_mem.{name}")
    raise AttributeError(f"module 'autograd_mem' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBMODULES])
