"""The bytes torch tensors hold outside Python's allocator, each storage counted once.

``tracemalloc`` sees what Python's allocator hands out (and numpy's buffers, which numpy
reports to it). torch allocates tensor storage itself. :class:`NativeSizer` gives a
Tensor's storage bytes, and those of the tensors its autograd graph saved for backward
(reachable from ``grad_fn`` only, never as Python objects), each storage counted once
per sizer. The C heap as a whole (glibc's ``mallinfo2``) is read by
:func:`autograd_mem.probes.allocated.malloc_bytes`.

torch is never imported here: a tensor is recognised by ``sys.modules["torch"].Tensor``
when the program imported torch, and its attributes are read statically or with
warnings silenced, so that reading them raises no warning in the user's code.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Iterable
from typing import Any


def _torch_tensor_type() -> type | None:
    torch = sys.modules.get("torch")
    tensor = getattr(torch, "Tensor", None) if torch is not None else None
    return tensor if isinstance(tensor, type) else None


class NativeSizer:
    """Native bytes of tensors, each storage once: the storage itself, and those of the
    tensors its autograd graph saved for backward (each graph node read once).

    One sizer per figure: a storage shared by many tensors (views, a parameter saved by
    every step's graph) counts for the first tensor asked about it.
    """

    def __init__(self) -> None:
        self.tensor_type = _torch_tensor_type()
        self._storages: set[int] = set()
        self._nodes: set[int] = set()
        self._saved_names: dict[type, tuple[str, ...]] = {}

    def is_tensor(self, obj: Any) -> bool:
        """By the type's own ancestry: ``isinstance`` would read ``obj.__class__``, which some
        objects compute (torch's deprecated aliases warn when it is read)."""
        return self.tensor_type is not None and self.tensor_type in type(obj).__mro__

    def bytes_of(self, obj: Any) -> int:
        """The native bytes ``obj`` holds that no earlier call counted; 0 for a non-tensor."""
        if not self.is_tensor(obj):
            return 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._storage_bytes(obj) + self._graph_bytes(_attribute(obj, "grad_fn"))

    def total(self, objects: Iterable[Any]) -> int:
        """:meth:`bytes_of` summed over ``objects``."""
        if self.tensor_type is None:
            return 0
        return sum(self.bytes_of(obj) for obj in objects)

    def _storage_bytes(self, tensor: Any) -> int:
        try:
            storage = tensor.untyped_storage()
            pointer, nbytes = storage.data_ptr(), storage.nbytes()
        except Exception:  # a meta, sparse or freed tensor: no storage of its own
            return 0
        if pointer == 0 or pointer in self._storages:
            return 0
        self._storages.add(pointer)
        return int(nbytes)

    def _graph_bytes(self, node: Any) -> int:
        """Storage of every tensor the graph below ``node`` saved, walked without recursion."""
        total = 0
        pending = [node]
        while pending:
            node = pending.pop()
            if node is None or id(node) in self._nodes:
                continue
            self._nodes.add(id(node))
            for saved in self._saved_tensors(node):
                total += self._storage_bytes(saved)
            for next_node, _ in _attribute(node, "next_functions") or ():
                pending.append(next_node)
        return total

    def _saved_tensors(self, node: Any) -> list[Any]:
        """The tensors a graph node saved (``_saved_self``...; ``variable`` of a leaf's
        accumulator). One freed by backward raises when read: it holds nothing."""
        names = self._saved_names.get(type(node))
        if names is None:
            names = self._saved_names[type(node)] = tuple(
                name for name in dir(node) if name.startswith("_saved_") or name == "variable"
            )
        found = []
        for name in names:
            try:
                value = getattr(node, name)
            except Exception:  # freed after backward, or not a tensor slot of this node
                continue
            if self.is_tensor(value):
                found.append(value)
            elif isinstance(value, (tuple, list)):
                found.extend(v for v in value if self.is_tensor(v))
        return found


def _attribute(obj: Any, name: str) -> Any:
    """``obj.name`` as the type defines it, without running a user's ``__getattr__``."""
    try:
        found = inspect.getattr_static(obj, name)
    except AttributeError:
        return None
    getter = getattr(found, "__get__", None)
    if getter is None:
        return found
    try:
        return getter(obj, type(obj))
    except Exception:
        return None
