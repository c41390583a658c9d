"""The optimizers and their hooks, as DeZero's ``dezero.optimizers``.

The implementation lives in ``autograd_mem.engine.optimizers``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.optimizers import *  # noqa: F403
from autograd_mem.engine.optimizers import __all__  # noqa: F401
