"""The data set transforms, as DeZero's ``dezero.transforms``.

The implementation lives in ``autograd_mem.engine.transforms``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.transforms import *  # noqa: F403
from autograd_mem.engine.transforms import __all__  # noqa: F401
