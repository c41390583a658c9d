"""The models (``Model``, ``MLP``), as DeZero's ``dezero.models``.

The implementation lives in ``autograd_mem.engine.models``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.models import *  # noqa: F403
from autograd_mem.engine.models import __all__  # noqa: F401
