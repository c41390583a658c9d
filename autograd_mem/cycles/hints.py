"""What a cycle means and where it was made: a one-line hint, and the user's source line.

Both read one example cycle of a shape, as a path of ``(object, label)`` hops. A hint
is given only for a pattern recognised from the objects themselves (their types and
the labels of the references between them); any other cycle gets none rather than a
guess. The source line comes from ``tracemalloc``'s traceback of an object's
allocation, read while the object is still alive (so only in the explain pass).
"""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

from autograd_mem.probes import sites

# A traceback of this many frames reaches from an allocation deep in a library (torch's
# autograd, the engine's Function.__call__, the import machinery under ``import``) back
# to the user's line that caused it. Each traced allocation costs time in proportion.
TRACEBACK_FRAMES = 32

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


SiteFinder = Callable[[Iterable[Any]], "tuple[sites.Site, sites.Site | None] | None"]


def allocation_site(
    objects: Iterable[Any], tries: int = 16
) -> tuple[sites.Site, sites.Site | None] | None:
    """``(allocated_at, allocated_in)`` of the best-placed of the first ``tries`` traced objects.

    An engine Variable is allocated in the engine, its graph's input by the user's line:
    the first object whose frames reach the user's code wins over earlier ones.
    """
    best: sites.Frames | None = None
    best_rank = 4
    for frames in map(sites.traceback_frames, itertools.islice(objects, tries)):
        if not frames:
            continue
        rank = sites.frame_rank(sites.user_frame(frames)[0])
        if rank < best_rank:
            best, best_rank = frames, rank
            if rank == 0:
                break
    return None if best is None else sites.sites(best)


def first_site(
    objects: Iterable[Any], tries: int = 32
) -> tuple[sites.Site, sites.Site | None] | None:
    """Where the best-placed of the first ``tries`` traced ``objects`` was allocated.

    For a caller that traces with few frames and reads tracebacks on demand (the pytest
    plugin): an engine Variable's one frame is in the engine, its graph's input's is the
    user's line, so the first object made in the user's code wins over earlier ones. The
    function is not named ("?"): reading it parses the file's source, which cost a suite
    measured test by test twice its time, and the plugin quotes the line's code instead.
    """
    first = itertools.islice(objects, tries)
    traced = [frames for frames in map(sites.traceback_frames, first) if frames]
    if not traced:
        return None
    ranked = [sites.user_frame(frames) for frames in traced]
    filename, line = min(ranked, key=lambda frame: sites.frame_rank(frame[0]))
    return sites.Site(filename, line, "?"), None
