"""Where something was allocated, for a reader: the user's line in a ``tracemalloc`` traceback.

An allocation's innermost frame is often deep in the standard library or a package
(``enum.py`` under ``import asyncio``, numpy under ``np.zeros``), which says little to
the person who wrote the code. The line to show is the first frame, from the innermost
outwards, that is neither the standard library nor site-packages nor agmem: the
user's line (agmem's built-in workloads count as the user's for agmem's own runs).
Where no frame is the user's, the innermost frame is shown. The innermost frame is
kept beside it (``allocated_in``) when the two differ.
"""

from __future__ import annotations

import ast
import ctypes
import os
import sys
import sysconfig
import tokenize
import tracemalloc
from typing import Any, NamedTuple

import autograd_mem

Frame = tuple[str, int]
Frames = list[Frame]  # most recent (innermost) first

_AGMEM_DIRECTORY = os.path.dirname(os.path.abspath(autograd_mem.__file__)) + os.sep
# The built-in workloads play the user's part for agmem's own runs.
_AGMEM_WORKLOADS = os.path.join(_AGMEM_DIRECTORY, "targets", "workloads") + os.sep
_LIBRARY_DIRECTORIES = tuple(
    os.path.abspath(path) + os.sep
    for path in {
        sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    if path
)


class Site(NamedTuple):
    """``(file, line, function)`` of one frame."""

    file: str
    line: int
    function: str


def frame_rank(filename: str) -> int:
    """0 for the user's code, 1 for a built-in workload, 2 for libraries, 3 for agmem itself."""
    path = os.path.abspath(filename)
    if path.startswith(_AGMEM_WORKLOADS):
        return 1
    if path.startswith(_AGMEM_DIRECTORY):
        return 3
    if path.startswith(_LIBRARY_DIRECTORIES) or filename.startswith("<"):
        return 2
    return 0


_SPANS: dict[str, list[tuple[int, int, str]]] = {}
_ENGINE_DIRECTORY = os.path.join(_AGMEM_DIRECTORY, "engine") + os.sep


def made_by_agmem(frames: Frames) -> bool:
    """Whether an allocation is agmem's own work (reading a collection, the window's
    bookkeeping): the innermost frame that is neither a library's nor the engine's is
    agmem's. A workload's allocations have the workload's frame there (agmem's child,
    which calls the workload, sits further out)."""
    for name, _ in frames:
        rank = frame_rank(name)
        if rank == 2 or (rank == 3 and os.path.abspath(name).startswith(_ENGINE_DIRECTORY)):
            continue
        return rank == 3
    return False


def caches() -> tuple[object, ...]:
    """What this module keeps between calls: agmem's, not the workload's, in a growth count."""
    return (_SPANS,)


def user_frame(frames: Frames) -> Frame:
    """The innermost frame of the user's code, else of a built-in workload, else the innermost."""
    ranks = [frame_rank(name) for name, _ in frames]
    for wanted in (0, 1):
        if wanted in ranks:
            return frames[ranks.index(wanted)]
    return frames[0]


def _spans(filename: str) -> list[tuple[int, int, str]]:
    """``(first body line, last line, name)`` of every function and class in a file, read once.

    Read directly rather than through linecache, whose cache entries would show up in the
    growth count.
    """
    spans = _SPANS.get(filename)
    if spans is not None:
        return spans
    spans = []
    try:
        with tokenize.open(filename) as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        tree = None
    if tree is not None:
        for node in ast.walk(tree):  # breadth-first: a later match is nested deeper
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                # From the body on: the ``def`` line itself (and its decorators and
                # defaults) runs in the enclosing function, which is where a closure is made.
                first = node.body[0].lineno
                spans.append((first, getattr(node, "end_lineno", None) or first, node.name))
    _SPANS[filename] = spans if tree is not None else [(0, -1, "?")]
    return _SPANS[filename]


def function_name(filename: str, line: int) -> str:
    """The innermost function (or class) whose source spans ``line``; ``<module>`` outside any,
    ``?`` when the file cannot be read."""
    spans = _spans(filename)
    if spans == [(0, -1, "?")]:
        return "?"
    name = "<module>"
    for first, last, candidate in spans:
        if first <= line <= last:
            name = candidate
    return name


def site(frame: Frame) -> Site:
    return Site(frame[0], frame[1], function_name(*frame))


def sites(frames: Frames) -> tuple[Site, Site | None]:
    """``(allocated_at, allocated_in)``: the user's frame, and the innermost when it differs."""
    at = user_frame(frames)
    inner = frames[0]
    return site(at), (None if inner == at else site(inner))


def _managed_dict_traceback(obj: Any) -> Frames:
    """CPython 3.11's ``get_object_traceback`` misses objects with a managed ``__dict__``.

    It looks for the allocation just before the collector's header, but 3.11 puts two
    more pointers (the dict's and its values') before that header for such objects
    (fixed in 3.12). The trace is there, at the true start of the block; tracemalloc's
    C function that reads a trace by address finds it.
    """
    pointer_size = ctypes.sizeof(ctypes.c_void_p)
    # The collector's header (2 pointers) and 3.11's pre-header (2 pointers).
    start = id(obj) - 4 * pointer_size
    frames = _read_trace(0, start)
    return [(str(name), int(line)) for name, line in frames or ()]


def _trace_reader() -> Any:
    function = ctypes.pythonapi._PyTraceMalloc_GetTraceback
    function.restype = ctypes.py_object
    function.argtypes = [ctypes.c_uint, ctypes.c_size_t]
    return function


_read_trace = _trace_reader() if sys.version_info[:2] == (3, 11) else None
_MANAGED_DICT = 1 << 4  # Py_TPFLAGS_MANAGED_DICT


def untraced_by_mistake(objects: list[Any]) -> list[tuple[Any, Frames]]:
    """``(object, frames)`` for the traced objects ``get_object_traceback`` misses (3.11's
    managed-dict instances, see :func:`_managed_dict_traceback`); [] elsewhere."""
    if _read_trace is None:
        return []
    managed = {cls for cls in set(map(type, objects)) if cls.__flags__ & _MANAGED_DICT}
    if not managed:
        return []
    found = []
    for obj in objects:
        if type(obj) in managed:
            frames = _managed_dict_traceback(obj)
            if frames:
                found.append((obj, frames))
    return found


def traceback_frames(obj: Any) -> Frames:
    """``(file, line)`` frames of an object's allocation, most recent first; [] if untraced."""
    traceback = tracemalloc.get_object_traceback(obj)
    if traceback is not None:
        return [(frame.filename, frame.lineno) for frame in reversed(traceback)]
    if _read_trace is not None and type(obj).__flags__ & _MANAGED_DICT:
        return _managed_dict_traceback(obj)
    return []
