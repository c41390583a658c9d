"""agmem: a memory profiler for autodiff graphs, and the DeZero-style engine it measures.

The engine is re-exported here so a workload reads like DeZero code::

    import autograd_mem as am
    with am.reference_mode("weak"):
        y = am.functions.square(am.Variable(x))
"""

from autograd_mem._version import __version__
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
