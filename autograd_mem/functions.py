"""The differentiable functions, imported as ``F`` the way DeZero users are used to.

The ops live in ``autograd_mem.engine.ops``, whose ``__all__`` is the one list of them.
"""

from autograd_mem.engine.ops import *  # noqa: F403
from autograd_mem.engine.ops import __all__  # noqa: F401
