"""Whose code made a test's cycle or kept its memory: the project's, or a library's.

A test's budget is about the code under test, so ``max_cycles`` counts the cycles the
project's own code made, and a ``max_retained`` failure names the project's line. The
project is every file that is neither the standard library nor site-packages nor agmem
(``probes.sites.frame_rank``).

- A cycle is the project's when one of its objects was allocated *directly* by the
  project's code: its innermost traced frame is the project's. A closure cycle that
  ``json.dumps`` builds is all allocated inside ``json/encoder.py``; it is the library's,
  though the test called it. An engine graph's input Variable is allocated by the
  test's line, so the graph is the test's.
- The line shown for either is the innermost frame of the project's code, walked out
  from the allocation through the library frames, when the traceback is deep enough
  (under ``max_retained`` the plugin traces :data:`RETAINED_FRAMES`).
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Iterable
from typing import Any

from autograd_mem.probes import sites
from autograd_mem.schema.explain import CycleShape

# Frames traced per allocation under a max_retained budget: enough to walk from an
# allocation inside a library (json.loads allocates 4 frames below the test's line) out
# to the project's line. Each frame costs every traced allocation: json.loads of 30,000
# records took 0.28 s traced at 1 frame, 0.69 s at 8 and 1.13 s at 16 (0.03 s untraced).
RETAINED_FRAMES = 8
_OWN_RANKS = (0, 1)  # the user's code, or agmem's built-in workloads (agmem's own runs)


def _ranked(frames: sites.Frames) -> int:
    return sites.frame_rank(frames[0][0])


def cycle_site(
    objects: Iterable[Any], tries: int = 32
) -> tuple[sites.Site, sites.Site | None] | None:
    """``(allocated_at, allocated_in)`` of a cycle, from the first ``tries`` traced objects:
    the object allocated most directly by the project (innermost frame), its project line
    as ``allocated_at`` and its innermost frame as ``allocated_in`` where they differ.

    Functions are not named ("?"): naming parses the file, which cost a suite measured
    test by test twice its time; the summary quotes the line's code instead.
    """
    # agmem's own frames (an object agmem made and freed, reused from a free list) say
    # nothing of the test's code.
    traced = [frames for frames in map(sites.traceback_frames, itertools.islice(objects, tries))
              if frames and not sites.made_by_agmem(frames)]
    if not traced:
        return None
    frames = min(traced, key=_ranked)
    at, inner = sites.user_frame(frames), frames[0]
    return (sites.Site(at[0], at[1], "?"),
            None if inner == at else sites.Site(inner[0], inner[1], "?"))


def is_library_shape(shape: CycleShape) -> bool:
    """Whether a cycle's objects were all allocated by libraries (none by the project)."""
    made = shape.allocated_in or shape.allocated_at
    return made is not None and sites.frame_rank(made.file) not in _OWN_RANKS


def retained_line(before: tracemalloc.Snapshot | None) -> str:
    """``file:line`` of the project's code that allocated most of what is traced now and
    was not in ``before`` (None: tracing started with the call, so all of it is the
    call's): each allocation is charged to its innermost project frame. Where no project
    frame is within the traced frames, the innermost is named, and says so."""
    now = tracemalloc.take_snapshot()
    stats = now.statistics("traceback") if before is None else [
        stat for stat in now.compare_to(before, "traceback") if stat.size_diff > 0
    ]
    grown: dict[tuple[str, int], int] = {}
    for stat in stats:
        frames = [(frame.filename, frame.lineno) for frame in reversed(stat.traceback)]
        if frames[0][0] == tracemalloc.__file__:
            continue
        where = sites.user_frame(frames)
        grown[where] = grown.get(where, 0) + (stat.size if before is None else stat.size_diff)
    if not grown:
        return ""
    file, line = max(grown, key=grown.__getitem__)
    if sites.frame_rank(file) in _OWN_RANKS:
        return f"{file}:{line}"
    depth = tracemalloc.get_traceback_limit()
    return f"{file}:{line} (no line of the project within the {depth} frame(s) traced)"
