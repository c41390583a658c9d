"""DeZero's ``core``: the engine assembled, with Variable connected to its ops and backward.

Variable's operators are ops, and ops are Functions over Variables; backward runs
Functions and makes Variables. DeZero keeps that circle inside one module
(``dezero/core.py``); here each part has its file (``config``, ``variable``,
``function``, ``backward``, ``ops``) and this module closes the circle once, by
registration (``setup_variable``), so no two files import each other. Import the
engine's classes from here (or from ``autograd_mem.engine``), never from the parts.
"""

from __future__ import annotations

from autograd_mem.engine import backward as _backward
from autograd_mem.engine import function as _function
from autograd_mem.engine import ops as _ops
from autograd_mem.engine import variable as _variable
from autograd_mem.engine.config import (
    Config,
    get_reference_mode,
    no_grad,
    reference_mode,
    set_reference_mode,
    test_mode,
    using_config,
)
from autograd_mem.engine.function import Function
from autograd_mem.engine.ops import (
    Add,
    Div,
    Mul,
    Neg,
    Pow,
    Sub,
    add,
    div,
    mul,
    neg,
    pow,
    rdiv,
    rsub,
    sub,
)
from autograd_mem.engine.variable import (
    GPUUnavailableError,
    Parameter,
    Variable,
    as_array,
    as_variable,
)


def setup_variable() -> None:
    """Connect Variable to its operators and ``backward``, and Function to its gradient ops.

    Done once when this module is imported; calling it again changes nothing
    (DeZero's ``setup_variable`` likewise installs Variable's operators).
    """
    _variable.connect(_ops, _backward.backward)
    _function.connect(_ops.VARIABLE_OPS)


setup_variable()

# dezero.core's names: the engine's classes and switches, and the arithmetic ops that
# DeZero defines beside them.
__all__ = [
    "Add",
    "Config",
    "Div",
    "Function",
    "GPUUnavailableError",
    "Mul",
    "Neg",
    "Parameter",
    "Pow",
    "Sub",
    "Variable",
    "add",
    "as_array",
    "as_variable",
    "div",
    "get_reference_mode",
    "mul",
    "neg",
    "no_grad",
    "pow",
    "rdiv",
    "reference_mode",
    "rsub",
    "set_reference_mode",
    "setup_variable",
    "sub",
    "test_mode",
    "using_config",
]
