"""A program's own word that its set-up is over: ``autograd_mem.setup_done()``.

agmem finds where a program's set-up ends on its RSS timeline by itself
(``analysis.steady_state``), and that guess can be wrong: loop steps that overlap the end
of a long import count as set-up. A program that knows better says so by calling
``autograd_mem.setup_done()`` once its imports, data and model are ready. Under ``agmem
run`` the measured pass notes the moment, and set-up ends there on the timeline; the
explain pass starts counting what grew, and tracing what is allocated, from there. Run
without agmem, the call does nothing, so the program stays a plain program (with agmem
installed; a program that must not depend on it can guard the import).

Only the first call counts: set-up ends once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

_listeners: list[Callable[[], None]] = []


def setup_done() -> None:
    """Mark the end of the program's set-up (its imports, data, model): under ``agmem run``,
    growth is counted from here; elsewhere this does nothing."""
    for listener in tuple(_listeners):
        listener()


@contextmanager
def listening(listener: Callable[[], None]) -> Iterator[None]:
    """``listener`` is called at each ``setup_done()`` inside the block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
