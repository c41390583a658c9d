"""The engine's process-wide switches: backprop on or off, train or test, and the reference mode.

DeZero's ``Config`` and ``using_config`` (``dezero/core.py``), plus the switch the seed
notebook is about: whether a Function holds its outputs *strongly* (Variable <->
Function reference cycles, which only the cyclic collector can free) or through
``weakref``s (no cycles, so reference counting frees a graph the moment its last
output is dropped). The switch is explicit and process-wide; a Function reads it once,
when it is called, and keeps its mode.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

from autograd_mem.engine.modes import REFERENCE_MODES


class _Config:
    """Process-wide switches read by Functions (DeZero's ``Config``).

    ``enable_backprop``: record the graph (off in ``no_grad()``). ``train``: layers
    such as dropout behave as in training (off in ``test_mode()``). ``output_ref``:
    how a Function created now holds its outputs (set through the reference-mode
    functions below, never directly).

    One instance rather than DeZero's class with class attributes: backward sets
    ``enable_backprop`` on every call, and setting a class attribute invalidates the
    interpreter's attribute caches for the class, setting an instance slot does not.
    """

    __slots__ = ("enable_backprop", "output_ref", "train")

    def __init__(self) -> None:
        self.enable_backprop = True
        self.train = True
        # Default "weak": it is the seed notebook's final engine, and the one whose
        # graphs do not outlive their outputs.
        self.output_ref: Any = weakref.ref


Config = _Config()


@contextlib.contextmanager
def using_config(name: str, value: Any) -> Iterator[None]:
    """Set ``Config.<name>`` to ``value`` for the block, restoring it even on error."""
    old_value = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old_value)


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Run a block without recording the graph: inference, or updates of parameters."""
    return using_config("enable_backprop", False)


def test_mode() -> contextlib.AbstractContextManager[None]:
    """Run a block as inference (``Config.train`` False): dropout passes inputs through."""
    return using_config("train", False)


test_mode.__test__ = False  # type: ignore[attr-defined]  # a context manager, not a pytest test


# How a Function holds its outputs, by mode. Both hold something that, called, returns
# the Variable, so backward reads outputs with ``ref()`` and never asks for the mode.
# Weak: a ``weakref.ref``. Strong: the Variable itself (``Variable.__call__`` returns
# the Variable, weakref.ref's protocol), so the cycle is Variable -> Function ->
# outputs tuple -> Variable, with no object in between: the notebook's strong engine.
# ``Config.output_ref`` is the one new Functions use, read once per call and set only
# when the mode changes: ``weakref.ref``, or None for strong (the Function then stores
# the Variable, with no call at all).
_REF_TYPES: dict[str, Any] = {"strong": None, "weak": weakref.ref}


def _ref_type(mode: str) -> Any:
    try:
        return _REF_TYPES[mode]
    except (KeyError, TypeError):
        valid = ", ".join(repr(m) for m in REFERENCE_MODES)
        raise ValueError(f"unknown reference mode {mode!r}; valid modes: {valid}") from None


def get_reference_mode() -> str:
    """Return the mode new Functions are created in: ``"strong"`` or ``"weak"``."""
    return "weak" if Config.output_ref is weakref.ref else "strong"


def set_reference_mode(mode: str) -> None:
    """Set the process-wide reference mode (default ``"weak"``, the notebook's final one).

    Raises ``ValueError`` naming the mode and the valid ones for anything else.
    """
    Config.output_ref = _ref_type(mode)


@contextlib.contextmanager
def reference_mode(mode: str) -> Iterator[None]:
    """Create Functions in ``mode`` inside the block, restoring the previous mode after.

    Functions keep the mode they were created in, so a graph built across mode
    changes (a mixed graph) still backpropagates correctly.
    """
    new_ref = _ref_type(mode)
    old_ref = Config.output_ref
    Config.output_ref = new_ref
    try:
        yield
    finally:
        Config.output_ref = old_ref
