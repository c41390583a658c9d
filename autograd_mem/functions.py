"""The differentiable functions, imported as ``F`` the way DeZero users are used to.

The core ops live in ``autograd_mem.engine.ops``, the neural-network functions in
``engine.functions_nn``, the convolutions in ``engine.functions_conv`` and the book's
composed first versions in ``engine.functions_simple``; each module's ``__all__`` is
the one list of its functions, and this one joins them.
"""

from autograd_mem.engine import functions_conv, functions_nn, functions_simple, ops
from autograd_mem.engine.functions_conv import *  # noqa: F403
from autograd_mem.engine.functions_nn import *  # noqa: F403
from autograd_mem.engine.functions_simple import *  # noqa: F403
from autograd_mem.engine.ops import *  # noqa: F403

__all__ = [*ops.__all__, *functions_nn.__all__, *functions_conv.__all__, *functions_simple.__all__]
