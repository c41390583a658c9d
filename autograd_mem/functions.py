"""The differentiable functions, imported as ``F`` the way DeZero users are used to.

The core ops live in ``autograd_mem.engine.ops``, the neural-network functions in
``engine.functions_nn`` and the convolutions in ``engine.functions_conv``; each
module's ``__all__`` is the one list of its functions, and this one joins them.
"""

from autograd_mem.engine import functions_conv, functions_nn, ops
from autograd_mem.engine.functions_conv import *  # noqa: F403
from autograd_mem.engine.functions_nn import *  # noqa: F403
from autograd_mem.engine.ops import *  # noqa: F403

__all__ = [*ops.__all__, *functions_nn.__all__, *functions_conv.__all__]
