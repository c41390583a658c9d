"""The layers, imported as ``L`` the way DeZero users import ``dezero.layers``.

The implementation lives in ``autograd_mem.engine.layers``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.layers import *  # noqa: F403
from autograd_mem.engine.layers import __all__  # noqa: F401
