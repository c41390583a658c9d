"""What a cycle means and where it was made: a one-line hint, and the user's source line.

Both read one example cycle of a shape, as a path of ``(object, label)`` hops. A hint
is given only for a pattern recognised from the objects themselves (their types and
the labels of the references between them); any other cycle gets none rather than a
guess. The source line comes from ``tracemalloc``'s traceback of an object's
allocation, read while the object is still alive (so only in the explain pass).
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import itertools
import os
import sys
import sysconfig
import tokenize
import tracemalloc
import types
from collections.abc import Iterable, Iterator
from typing import Any

import autograd_mem

# A traceback of this many frames reaches from an allocation deep in a library (torch's
# autograd, the engine's Function.__call__) back to the user's line that caused it.
# Each traced allocation costs time in proportion (about 0.5 µs a frame on the
# development VM), which is why the explain pass does its own work untraced.
TRACEBACK_FRAMES = 16

# Garbage objects of one type whose tracebacks are read per collection, while a site is wanted.
SAMPLES_PER_TYPE = 16

_AGMEM_DIRECTORY = os.path.dirname(os.path.abspath(autograd_mem.__file__)) + os.sep
# The built-in workloads play the user's part for agmem's own runs.
_AGMEM_WORKLOADS = os.path.join(_AGMEM_DIRECTORY, "targets", "workloads.py")
_LIBRARY_DIRECTORIES = tuple(
    os.path.abspath(path) + os.sep
    for path in {
        sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    if path
)

OUTPUT_ON_MAKER = (
    "an output stored on the function or context that made it: "
    "store a weakref, or use ctx.save_for_backward"
)
ENGINE_STRONG = (
    "the engine in strong mode: each Function holds its outputs, which hold it back; "
    "use weak mode"
)
EXCEPTION_TRACEBACK = (
    "an exception kept with its traceback: the frame holds the locals, the exception "
    "among them; keep str(exc), or del the name when done"
)
BOUND_METHOD = (
    "a bound method stored on its own instance: store the function, "
    "or a weakref.WeakMethod"
)
SELF_CLOSURE = (
    "a function whose closure refers to the function itself: pass it as an argument, "
    "or hold it through a weakref"
)
SELF_REFERENCE = (
    "an object referring to itself{where}: reference counting can never free it; "
    "drop the reference or hold it through a weakref"
)

Path = list[tuple[Any, str]]


def _is_engine_function(obj: Any) -> bool:
    # The module that defines Function, not the engine package: the package resolves its
    # names lazily, and asking it for Function would import the engine and numpy into a
    # process (a pytest session measured by the plugin) that never used them.
    module = sys.modules.get("autograd_mem.engine.function")
    function = getattr(module, "Function", None)
    return function is not None and isinstance(obj, function)


def hint_for(path: Path) -> str | None:
    """The hint for the first recognised pattern along an example cycle, or None."""
    labels = [label for _, label in path]
    if any(_is_engine_function(obj) and label == ".outputs" for obj, label in path):
        return ENGINE_STRONG
    if ".grad_fn" in labels or ".creator" in labels:
        return OUTPUT_ON_MAKER
    if ".__traceback__" in labels:
        return EXCEPTION_TRACEBACK
    if len(path) == 2 and any(
        isinstance(obj, types.MethodType) and label == ".__self__" for obj, label in path
    ):
        return BOUND_METHOD
    closures = [obj for obj, label in path if label.startswith(".__closure__[")]
    if len(closures) == 1 and len(path) == 2:
        return SELF_CLOSURE
    if len(path) == 1:
        label = path[0][1]
        where = f" ({type(path[0][0]).__name__}{label})" if label[:1] in ".[" else ""
        return SELF_REFERENCE.format(where=where)
    return None


def _frame_rank(filename: str) -> int:
    """0 for the user's code, 1 for a built-in workload, 2 for libraries, 3 for agmem itself."""
    path = os.path.abspath(filename)
    if path == _AGMEM_WORKLOADS:
        return 1
    if path.startswith(_AGMEM_DIRECTORY):
        return 3
    if path.startswith(_LIBRARY_DIRECTORIES) or filename.startswith("<"):
        return 2
    return 0


def _function_name(filename: str, line: int) -> str:
    """The innermost function (or class) whose source spans ``line``; ``<module>`` outside any.

    Read from the file's syntax tree, since a ``tracemalloc`` frame keeps only the file
    and the line.
    """
    # Read directly rather than through linecache, whose cache entries would show up
    # in the growth count that follows.
    try:
        with tokenize.open(filename) as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return "?"
    name = "<module>"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # From the body on: the ``def`` line itself (and its decorators and
            # defaults) runs in the enclosing function, which is where a closure is made.
            first = node.body[0].lineno
            end = getattr(node, "end_lineno", None) or first
            if first <= line <= end:
                # ast.walk goes breadth-first: a later match is nested deeper.
                name = node.name
    return name


def _managed_dict_traceback(obj: Any) -> list[tuple[str, int]]:
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


def traceback_frames(obj: Any) -> list[tuple[str, int]]:
    """``(file, line)`` frames of an object's allocation, most recent first; [] if untraced."""
    traceback = tracemalloc.get_object_traceback(obj)
    if traceback is not None:
        return [(frame.filename, frame.lineno) for frame in reversed(traceback)]
    if _read_trace is not None and type(obj).__flags__ & _MANAGED_DICT:
        return _managed_dict_traceback(obj)
    return []


Frames = list[tuple[str, int]]


def best_frame(frames: Frames) -> tuple[str, int, str]:
    """``(file, line, function)`` of the frame that names the allocation for a reader.

    The most recent frame of the best kind wins: the user's code, else a built-in
    workload, else a library; agmem's own frames only when nothing else was traced.
    """
    filename, line = min(frames, key=lambda frame: _frame_rank(frame[0]))
    return filename, line, _function_name(filename, line)


def allocation_site(
    objects: Iterable[Any], traced: dict[int, Frames]
) -> tuple[str, int, str] | None:
    """Where the first of ``objects`` found in ``traced`` (frames by ``id()``) was allocated."""
    if not traced:
        return None
    for obj in objects:
        frames = traced.get(id(obj))
        if frames:
            return best_frame(frames)
    return None


def first_site(objects: Iterable[Any], tries: int = 32) -> tuple[str, int, str] | None:
    """Where the best-placed of the first ``tries`` traced ``objects`` was allocated.

    For a caller that traces with few frames and reads tracebacks on demand (the pytest
    plugin): an engine Variable's one frame is in the engine, its graph's input's is the
    user's line, so the first object made in the user's code wins over earlier ones. The
    function is not named ("?"): reading it parses the file's source, which cost a suite
    measured test by test twice its time, and the plugin quotes the line's code instead.
    """
    first = itertools.islice(objects, tries)
    traced = [frames for frames in map(traceback_frames, first) if frames]
    if not traced:
        return None
    ranked = [min(frames, key=lambda frame: _frame_rank(frame[0])) for frames in traced]
    filename, line = min(ranked, key=lambda frame: _frame_rank(frame[0]))
    return filename, line, "?"


class TracebackSampler:
    """``tracemalloc`` for the workload's allocations, not for agmem's analysis of them.

    Tracing costs every allocation a traceback (about 1.5 µs at one frame, 10 µs at 20
    on the development VM), and the analysis of one collection allocates an int for
    each ``id()`` it takes: traced, it took ten times as long as the workload. So each
    collection's analysis runs with tracing stopped (:meth:`paused`), and just before,
    while the garbage's traces are still there, :meth:`sample` reads the tracebacks
    of the first few garbage objects of each type that still needs a site: a type not
    seen before, or one of a shape whose examples so far were untraced. Stopping
    forgets the traces of objects alive at that moment; the cycles of a loop are made
    again after it, and are found then.

    When tracing was on before the pass (not ours to stop), it is left alone.
    """

    def __init__(self) -> None:
        self._owned = False
        self._seen_types: set[int] = set()
        self.wanted_types: set[int] = set()  # ids of types a shape without a site is made of

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(TRACEBACK_FRAMES)
            self._owned = True

    def stop(self) -> None:
        if self._owned and tracemalloc.is_tracing():
            tracemalloc.stop()
        self._owned = False

    def sample(self, found: list[Any]) -> dict[int, Frames]:
        """Allocation frames, by ``id()``, of up to :data:`SAMPLES_PER_TYPE` objects of each
        type still needing a site, spread over the garbage of that type.

        Runs traced, so it allocates as little as it can per garbage object: types are
        compared as objects (an ``id()`` or a count above 256 would be a new int).
        """
        if not tracemalloc.is_tracing():
            return {}
        present = set(map(type, found))
        seen, wanted = self._seen_types, self.wanted_types
        groups: dict[type, list[Any]] = {
            cls: [] for cls in present if id(cls) not in seen or id(cls) in wanted
        }
        seen.update(id(cls) for cls in present)
        if not groups:
            return {}
        for obj in found:
            group = groups.get(type(obj))
            if group is not None:
                group.append(obj)
        traced: dict[int, Frames] = {}
        for group in groups.values():
            stride = max(1, len(group) // SAMPLES_PER_TYPE)
            for obj in group[::stride][:SAMPLES_PER_TYPE]:
                frames = traceback_frames(obj)
                if frames:
                    traced[id(obj)] = frames
        return traced

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No tracing inside (when the tracing is ours), tracing again after."""
        # Not tracing: stopped by a first-time import (probes.imports), which restarts it.
        if not self._owned or not tracemalloc.is_tracing():
            yield
            return
        tracemalloc.stop()
        try:
            yield
        finally:
            tracemalloc.start(TRACEBACK_FRAMES)
