"""The synthetic data sets, as DeZero's ``dezero.datasets`` (nothing is downloaded).

The implementation lives in ``autograd_mem.engine.datasets``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.datasets import *  # noqa: F403
from autograd_mem.engine.datasets import __all__  # noqa: F401
