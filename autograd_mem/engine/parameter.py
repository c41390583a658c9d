"""``Parameter``: the Variable a layer owns and an optimizer updates.

The engine's core defines ``Parameter`` (DeZero's semantics: a Variable subclass that
layers collect and optimizers update). Until that core is in place, this module
supplies the same minimal class so the layers can be built and tested; once the core
has it, this module only re-exports the core's, so every import path gives the one
class and ``isinstance`` agrees everywhere.
"""

from __future__ import annotations

try:
    from autograd_mem.engine.core import Parameter
except ImportError:  # a core without Parameter: the minimal stand-in described above
    from autograd_mem.engine.core import Variable

    class Parameter(Variable):  # type: ignore[no-redef]
        """A Variable that belongs to a layer: what ``Layer.params()`` yields."""

        __slots__ = ()


__all__ = ["Parameter"]
