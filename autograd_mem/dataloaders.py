"""``DataLoader``, as DeZero's ``dezero.dataloaders``.

The implementation lives in ``autograd_mem.engine.dataloaders``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.dataloaders import *  # noqa: F403
from autograd_mem.engine.dataloaders import __all__  # noqa: F401
