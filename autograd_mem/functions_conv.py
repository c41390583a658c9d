"""The convolutions and poolings, as DeZero's ``dezero.functions_conv``.

The implementation lives in ``autograd_mem.engine.functions_conv``; this module re-exports its
``__all__``, so swapping ``dezero`` for ``autograd_mem`` in imports is enough.
"""

from autograd_mem.engine.functions_conv import *  # noqa: F403
from autograd_mem.engine.functions_conv import __all__  # noqa: F401
