"""The engine's core, as DeZero's ``dezero.core``: Variable, Function, Config and the arithmetic.

The implementation lives in ``autograd_mem.engine.core``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.core import *  # noqa: F403
from autograd_mem.engine.core import __all__  # noqa: F401
