"""The names of the engine's reference modes, in a module that imports nothing.

The result schema, the CLI's options and the pytest plugin name the modes too, in
processes that never compute; they read them here, so the engine stays the one
source of the names and those processes never import numpy.
"""

REFERENCE_MODES = ("strong", "weak")
