"""The autodiff engine agmem measures: DeZero's design with a strong/weak reference switch."""

from autograd_mem.engine import census
from autograd_mem.engine.core import (
    REFERENCE_MODES,
    Config,
    Function,
    Variable,
    as_array,
    as_variable,
    get_reference_mode,
    no_grad,
    reference_mode,
    set_reference_mode,
    using_config,
)
from autograd_mem.engine.gradient_check import gradient_check

__all__ = [
    "REFERENCE_MODES",
    "Config",
    "Function",
    "Variable",
    "as_array",
    "as_variable",
    "census",
    "get_reference_mode",
    "gradient_check",
    "no_grad",
    "reference_mode",
    "set_reference_mode",
    "using_config",
]

# ---- DeZero's library on the engine: layers, models, optimizers, data (issue 12) ----
# Imported after the core on purpose: each of these modules builds on it.
from autograd_mem.engine.dataloaders import DataLoader
from autograd_mem.engine.datasets import Dataset
from autograd_mem.engine.layers import Layer
from autograd_mem.engine.models import Model

__all__ += ["DataLoader", "Dataset", "Layer", "Model"]
