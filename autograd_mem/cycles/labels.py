"""Labelled references: how one object refers to another (``.me``, ``['y']``, ``[0]``).

``gc.get_referents`` says *that* an object refers to another, never *how*. A person
reading a leak needs the how: ``Leaky.me → Leaky`` says which line to change,
``Leaky → Leaky`` does not. Each label here is read back from the object itself
(an attribute, a dict key, an index, a closure variable's name, a frame's local) and
checked by identity against the referent, so a label is never a guess: a reference
that none of them explains is reported as :data:`UNLABELLED`.

Two containers are *see-through*: an instance's ``__dict__`` and a function's
``__closure__`` tuple. ``Leaky.me`` is the edge a reader knows; ``Leaky.__dict__ →
dict['me']`` is the same edge spelled by the interpreter's layout, which also differs
between versions (3.11+ keeps most instance attributes out of a dict). An edge through
one marks the container as see-through, so the graph code can skip it.
"""

from __future__ import annotations

import sys
import types
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

UNLABELLED = "?"

T = TypeVar("T")

# Longest dict key shown in a label; longer ones are cut with an ellipsis.
KEY_LABEL_CHARS = 40

# Type attributes read (and identity-checked) for builtin types whose references are
# not in a __dict__ or a slot. Reading these has no side effect.
_NAMED_ATTRIBUTES: tuple[tuple[type, tuple[str, ...]], ...] = (
    (types.MethodType, ("__self__", "__func__")),
    (types.BuiltinMethodType, ("__self__",)),
    (types.CellType, ("cell_contents",)),
    (types.TracebackType, ("tb_frame", "tb_next")),
    (types.FrameType, ("f_back", "f_code", "f_globals", "f_builtins", "f_trace")),
    (BaseException, ("__traceback__", "__context__", "__cause__", "args")),
    (types.FunctionType, (
        "__defaults__", "__kwdefaults__", "__globals__", "__code__", "__module__", "__doc__",
    )),
    (type, ("__mro__", "__bases__", "__base__")),
    (types.GeneratorType, ("gi_frame", "gi_code")),
    (types.CoroutineType, ("cr_frame", "cr_code")),
)

# torch's references that live behind getters rather than in a __dict__: a Tensor's
# backward node, gradient and base, and an autograd context's saved state. Only read
# when the workload imported torch (agmem never does).
_TORCH_TENSOR_ATTRIBUTES = ("grad_fn", "grad", "_base")
_TORCH_CONTEXT_ATTRIBUTES = ("needs_input_grad", "to_save", "non_differentiable", "dirty_tensors")

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement


class Reading:
    """The labelled references of one object to the members of one cycle, as they are read.

    ``members`` maps ``id()`` to a member's index. Only references to members are
    labelled (a cycle's shape and path need nothing else), which keeps the reading cheap:
    a Variable's array, name and generation are looked at, never formatted.
    ``through`` collects the members that are see-through containers.
    """

    __slots__ = ("edges", "members", "through")

    def __init__(self, members: dict[int, int]) -> None:
        self.members = members
        self.edges: list[tuple[str, int]] = []
        self.through: list[int] = []

    def see_through(self, container: object) -> None:
        index = self.members.get(id(container))
        if index is not None:
            self.through.append(index)


Extractor = Callable[[Any, Reading], None]


def key_label(key: object) -> str:
    """``['y']``, ``[3]``, ``[<Node>]``: how a dict entry is named, from its key."""
    if isinstance(key, (str, bytes, int, float, bool)) or key is None:
        text = repr(key)
        if len(text) > KEY_LABEL_CHARS:
            text = text[: KEY_LABEL_CHARS - 1] + "…"
        return f"[{text}]"
    return f"[<{type(key).__name__}>]"


def _dict_items(mapping: dict[Any, Any], reading: Reading) -> None:
    find, edges = reading.members.get, reading.edges
    for key, value in mapping.items():
        index = find(id(value))
        if index is not None:
            edges.append((key_label(key), index))
        index = find(id(key))
        if index is not None:
            edges.append(("(key)", index))


def _sequence_items(sequence: list[Any] | tuple[Any, ...], reading: Reading) -> None:
    find, edges = reading.members.get, reading.edges
    for position, item in enumerate(sequence):
        index = find(id(item))
        if index is not None:
            edges.append((f"[{position}]", index))


def _set_items(items: set[Any] | frozenset[Any], reading: Reading) -> None:
    find, edges = reading.members.get, reading.edges
    for item in items:
        index = find(id(item))
        if index is not None:
            edges.append(("(item)", index))


def _instance_dict(obj: Any, reading: Reading) -> None:
    """Attributes in ``__dict__``, read past the class's ``__getattr__``/``__getattribute__``."""
    try:
        attributes = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return
    if not isinstance(attributes, dict):
        return
    reading.see_through(attributes)
    find, edges = reading.members.get, reading.edges
    for key, value in attributes.items():
        index = find(id(value))
        if index is not None:
            edges.append((f".{key}" if isinstance(key, str) else key_label(key), index))


def _closure(function: types.FunctionType, reading: Reading) -> None:
    cells = function.__closure__
    if cells is None:
        return
    reading.see_through(cells)
    find = reading.members.get
    for name, cell in zip(function.__code__.co_freevars, cells, strict=False):
        index = find(id(cell))
        if index is not None:
            reading.edges.append((f".__closure__[{name!r}]", index))


def _frame_locals(frame: types.FrameType, reading: Reading) -> None:
    """A frame's locals by name (the values; a cell variable's cell is left unlabelled)."""
    try:
        local_items = list(frame.f_locals.items())
    except Exception:  # a frame the interpreter will not show (being torn down)
        return
    find = reading.members.get
    for name, value in local_items:
        index = find(id(value))
        if index is not None:
            reading.edges.append((f".f_locals[{name!r}]", index))


class _MemberReader:
    """Slots and C-level members (``__slots__``, ``functools.partial.func``), read by name.

    A class with slots rather than a closure, here and below: the growth count leaves
    out what the explain pass's own state reaches, and it does not follow functions
    (whose globals reach everything). Names, not the descriptors: a descriptor refers
    to its class, and a plan must not keep alive a class the workload let go of.
    """

    __slots__ = ("names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __call__(self, obj: Any, reading: Reading) -> None:
        find = reading.members.get
        for name in self.names:
            try:
                value = object.__getattribute__(obj, name)
            except AttributeError:  # an empty slot
                continue
            index = find(id(value))
            if index is not None:
                reading.edges.append((f".{name}", index))


class _AttributeReader:
    """Named attributes, read with ``getattr`` and kept only when they exist."""

    __slots__ = ("names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __call__(self, obj: Any, reading: Reading) -> None:
        find = reading.members.get
        for name in self.names:
            try:
                value = getattr(obj, name)
            except Exception:  # a getter that refuses (an empty cell, a freed context)
                continue
            index = find(id(value))
            if index is not None:
                reading.edges.append((f".{name}", index))


_TENSOR_READER = _AttributeReader(_TORCH_TENSOR_ATTRIBUTES)
_NON_LEAF_READER = _AttributeReader(tuple(n for n in _TORCH_TENSOR_ATTRIBUTES if n != "grad"))


def _tensor_attributes(tensor: Any, reading: Reading) -> None:
    """A Tensor's references; ``.grad`` only where torch keeps one: reading it on a
    non-leaf tensor (always None there) raises a UserWarning in the user's program."""
    try:
        keeps_grad = tensor.is_leaf or tensor.retains_grad
    except Exception:  # a tensor subclass that refuses: leave .grad unread
        keeps_grad = False
    (_TENSOR_READER if keeps_grad else _NON_LEAF_READER)(tensor, reading)


def _class_reference(obj: Any, reading: Reading) -> None:
    index = reading.members.get(id(type(obj)))
    if index is not None:
        reading.edges.append((".__class__", index))


def _member_names(cls: type) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, types.MemberDescriptorType):
                found.setdefault(name)
    return tuple(found)


def _container_extractors(cls: type) -> list[Extractor]:
    if issubclass(cls, dict):
        return [_dict_items]
    if issubclass(cls, (list, tuple)):
        return [_sequence_items]
    if issubclass(cls, (set, frozenset)):
        return [_set_items]
    return []


def _torch_extractors(cls: type) -> list[Extractor]:
    # Read through getattr: a collection can run while the workload is still importing
    # torch, when ``sys.modules["torch"]`` is a module without its names yet.
    torch = sys.modules.get("torch")
    tensor = getattr(torch, "Tensor", None)
    if tensor is None:
        return []
    if issubclass(cls, tensor):
        return [_tensor_attributes]
    autograd_function = getattr(getattr(torch, "autograd", None), "function", None)
    backward_function = getattr(autograd_function, "BackwardCFunction", None)
    if backward_function is not None and issubclass(cls, backward_function):
        return [_AttributeReader(_TORCH_CONTEXT_ATTRIBUTES)]
    return []


def plan_for(cls: type) -> tuple[Extractor, ...]:
    """The readers that name every reference an instance of ``cls`` can hold."""
    plan = _container_extractors(cls)
    names = tuple(n for base, attrs in _NAMED_ATTRIBUTES if issubclass(cls, base) for n in attrs)
    if names:
        plan.append(_AttributeReader(names))
    if issubclass(cls, types.FunctionType):
        plan.append(_closure)
    if issubclass(cls, types.FrameType):
        plan.append(_frame_locals)
    plan.extend(_torch_extractors(cls))
    members = _member_names(cls)
    if members:
        plan.append(_MemberReader(members))
    if cls.__dictoffset__ != 0 or issubclass(cls, types.FunctionType):
        plan.append(_instance_dict)
    if cls.__flags__ & _HEAPTYPE:
        plan.append(_class_reference)
    return tuple(plan)


class TypeCache(Generic[T]):
    """A value worked out once per type, which does not keep the type alive.

    Keyed by ``id()`` and checked through a weak reference: a workload that makes a
    class per iteration (a namedtuple inside a function) must see its classes freed
    as they would be without agmem, and an id reused by a new class is noticed.
    """

    def __init__(self, make: Callable[[type], T]) -> None:
        self._make = make
        self._entries: dict[int, tuple[weakref.ref[type], T]] = {}

    def get(self, cls: type) -> T:
        entry = self._entries.get(id(cls))
        if entry is not None and entry[0]() is cls:
            return entry[1]
        value = self._make(cls)
        self._entries[id(cls)] = (weakref.ref(cls), value)
        return value


class Labeller:
    """Labelled references of any object, with each type's readers worked out once.

    An instance rather than a module-level cache: the explain pass keeps it reachable
    from its tally, where the growth count knows to leave it out.
    """

    def __init__(self) -> None:
        self._plans: TypeCache[tuple[Extractor, ...]] = TypeCache(plan_for)

    def read(self, obj: Any, reading: Reading) -> None:
        """Add ``obj``'s labelled references to the members of ``reading``."""
        for extract in self._plans.get(type(obj)):
            extract(obj, reading)
