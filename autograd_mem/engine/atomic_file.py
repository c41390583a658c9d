"""Files the engine writes (weights, caches, pictures) appear whole or not at all.

Each is written under a temporary name beside its final one and renamed over it
only once complete, so an interrupted write never leaves a half-written file that
a later load would take for a whole one, nor destroys the previous version.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it becomes ``path``, else it goes.

    The file gets the permissions a plain ``open`` would give it (``mkstemp`` makes
    it private to its owner).
    """
    target = Path(path)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)
        yield partial
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
