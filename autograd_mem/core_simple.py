"""DeZero's ``dezero.core_simple`` (the book's steps 23-32): the same engine as ``core``.

DeZero keeps a smaller engine for the early steps; agmem's one engine serves both
module paths, and this one offers the names ``core_simple`` has.
"""

from autograd_mem.engine.core import (
    Add,
    Config,
    Div,
    Function,
    Mul,
    Neg,
    Pow,
    Sub,
    Variable,
    add,
    as_array,
    as_variable,
    div,
    mul,
    neg,
    no_grad,
    pow,
    rdiv,
    rsub,
    setup_variable,
    sub,
    using_config,
)

__all__ = [
    "Add",
    "Config",
    "Div",
    "Function",
    "Mul",
    "Neg",
    "Pow",
    "Sub",
    "Variable",
    "add",
    "as_array",
    "as_variable",
    "div",
    "mul",
    "neg",
    "no_grad",
    "pow",
    "rdiv",
    "rsub",
    "setup_variable",
    "sub",
    "using_config",
]
