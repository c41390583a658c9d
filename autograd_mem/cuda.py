"""DeZero's ``dezero.cuda`` for a numpy-only engine: no GPU, numpy as the array module.

The implementation lives in ``autograd_mem.engine.cuda``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.cuda import *  # noqa: F403
from autograd_mem.engine.cuda import __all__  # noqa: F401
