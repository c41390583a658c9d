"""DeZero's ``dezero.utils``: the graph as DOT text or a picture, numpy helpers, a gradient check.

The implementations live in ``autograd_mem.engine.dot_graph`` and
``autograd_mem.engine.utils``; this module joins their ``__all__``.
"""

from autograd_mem.engine import dot_graph, utils
from autograd_mem.engine.dot_graph import *  # noqa: F403
from autograd_mem.engine.utils import *  # noqa: F403

__all__ = [*dot_graph.__all__, *utils.__all__]
