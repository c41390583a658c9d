"""Writing reports and baselines without ever destroying or half-writing what is at the path.

What "write FILE" must do depends on what FILE is:

- a new path or a regular file: write a temporary file beside it, flush it to disk and
  rename it over the target, so a reader (or a kill) sees the old content or the whole
  new one. The replaced file's mode, and its owner where the kernel allows, are kept;
- a symbolic link: the same, on the file the link points to (the link stays a link);
- a regular file with other hard links: a rename would leave the other names on the old
  content, so the new content is written *in place*, after a complete copy has been
  written beside it (which proves the disk has room) and with the space reserved
  (``posix_fallocate``), SIGINT, SIGTERM and SIGHUP held back until it is done. Only a
  SIGKILL or a power cut in those few microseconds can tear it; the complete copy
  is then left beside it as ``.NAME.XXXXXXXX.tmp``;
- anything else (a character device such as ``/dev/null``, a FIFO, a terminal, or
  ``/dev/stdout`` and the other ``/proc/self/fd`` links): written through, appended,
  never replaced. A rename would put a regular file where the device or pipe was.

Every failure is one :class:`~autograd_mem.errors.OutputError` line (exit 2).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from autograd_mem.errors import OutputError

# The temporary file's name keeps at most this much of the target's, so that
# ``.{name}.XXXXXXXX.tmp`` stays under NAME_MAX (255) even for a 255-character name.
TEMP_NAME_STEM = 100
# Symbolic links followed before giving up, as the kernel's own ELOOP limit.
MAX_SYMLINK_HOPS = 40
# Signals held back while a hard-linked file is rewritten in place.
_DEFERRED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

NEW, REGULAR, LINKED, STREAM = "new", "regular", "linked", "stream"


@dataclass(frozen=True)
class Destination:
    """Where a write lands and how: ``new``, ``regular``, ``linked`` (hard links) or ``stream``."""

    kind: str
    path: str  # the symlinks' final target; for a stream, the path as given
    status: os.stat_result | None = None

    @property
    def identity(self) -> tuple[int, int] | str:
        """What two paths share when they name the same file: its inode, or the path to be."""
        if self.status is not None:
            return (self.status.st_dev, self.status.st_ino)
        return self.path


def _under_proc(path: str) -> bool:
    return path == "/proc" or path.startswith("/proc/")


def _follow(path: str) -> tuple[str, bool]:
    """The file ``path`` finally names, and whether the way led through ``/proc``.

    Links are followed one hop at a time rather than by ``realpath``, because
    ``/dev/stdout`` leads to ``/proc/self/fd/1``, a link to whatever stdout is: a
    regular file there is the shell's open file, to be written through, not replaced.
    """
    current = os.path.abspath(path)
    for _ in range(MAX_SYMLINK_HOPS):
        parent = os.path.realpath(os.path.dirname(current))
        if _under_proc(parent):
            return current, True
        current = os.path.join(parent, os.path.basename(current))
        if not os.path.islink(current):
            return current, False
        current = os.path.normpath(os.path.join(parent, os.readlink(current)))
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)


def destination(path: str | os.PathLike[str]) -> Destination:
    """Classify ``path`` for writing (raises OSError; IsADirectoryError for a directory)."""
    given = os.fspath(path)
    target, through_proc = _follow(given)
    try:
        status = os.stat(target)
    except FileNotFoundError:
        return Destination(NEW, target)
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), given)
    if through_proc or not stat.S_ISREG(status.st_mode):
        return Destination(STREAM, given, status)
    return Destination(LINKED if status.st_nlink > 1 else REGULAR, target, status)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_name(path: str | os.PathLike[str], option: str) -> None:
    """Refuse a name that cannot be meant (``-o=x`` gives ``=x``) or cannot exist (too long)."""
    name = os.fspath(path)
    if not name:
        raise OutputError(f"{option} needs a file name")
    if name.startswith("="):
        raise OutputError(
            f"{option} {name!r}: a file name starting with '=' is refused "
            f"(to write {name[1:]!r}, give '{option} {name[1:]}')"
        )
    base = os.path.basename(name.rstrip("/"))
    directory = os.path.dirname(name) or "."
    try:
        limit = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(base)) > limit:
        raise OutputError(
            f"{option}: file name too long ({len(os.fsencode(base))} bytes; at most {limit})"
        )


def check_writable(path: str | os.PathLike[str], option: str) -> None:
    """Refuse, before any run, an output path that could not be written afterwards.

    Creating (and removing) a temporary file beside the target is the honest test for
    a file to be replaced: permission bits say nothing of read-only mounts, and root
    passes every ``access()``. A device or a FIFO is opened only when written.
    """
    check_name(path, option)
    name = os.fspath(path)
    try:
        where = destination(path)
    except IsADirectoryError:
        raise OutputError(f"{option} {name!r} is a directory, not a file") from None
    except OSError as exc:
        raise OutputError(f"{option} {name!r} cannot be written: {_reason(exc)}") from None
    if where.kind == STREAM:
        return
    directory = os.path.dirname(where.path)
    if not os.path.isdir(directory):
        raise OutputError(f"{option} {name!r}: directory {directory!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=".agmem.", suffix=".probe", dir=directory)
    except OSError as exc:
        raise OutputError(f"{option} {name!r} cannot be written: {_reason(exc)}") from None
    os.close(fd)
    os.unlink(probe)


def check_distinct_outputs(paths: Mapping[str, str | os.PathLike[str] | None]) -> None:
    """Refuse two outputs (``{"--output": path, "--svg": path}``) that name one file.

    Compared after following links, by inode where the file exists: ``-o r.txt --html
    ./r.txt`` would otherwise write one report and then silently replace it.
    """
    seen: dict[object, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        try:
            identity = destination(path).identity
        except OSError:
            continue  # check_writable or the write itself says what is wrong with it
        if identity in seen:
            raise OutputError(
                f"{seen[identity]} and {option} name the same file {os.fspath(path)!r}"
            )
        seen[identity] = option


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(target: str) -> tuple[int, str]:
    name = os.path.basename(target)[:TEMP_NAME_STEM]
    return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=os.path.dirname(target))


def _complete_copy(target: str, data: bytes, status: os.stat_result | None) -> str:
    """A temporary file beside ``target`` holding ``data``, on disk, with the target's mode."""
    fd, tmp = _temp_beside(target)
    try:
        try:
            if status is None:
                os.fchmod(fd, 0o666 & ~_current_umask())  # mkstemp made it 0600
            else:
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, status.st_uid, status.st_gid)
                # After chown, which clears the set-id bits.
                os.fchmod(fd, stat.S_IMODE(status.st_mode))
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _replace(where: Destination, data: bytes) -> None:
    tmp = _complete_copy(where.path, data, where.status)
    try:
        os.replace(tmp, where.path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then act on the first that came.

    Python handlers only ever run in the main thread; elsewhere nothing can be held.
    """
    try:
        previous = {signum: signal.getsignal(signum) for signum in _DEFERRED_SIGNALS}
        arrived: list[int] = []
        for signum in _DEFERRED_SIGNALS:
            signal.signal(signum, lambda received, _frame: arrived.append(received))
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if arrived:
            signal.raise_signal(arrived[0])


def _rewrite_in_place(where: Destination, data: bytes) -> None:
    """Rewrite a hard-linked file in place, so that every one of its names sees the new report."""
    copy = _complete_copy(where.path, data, where.status)
    with _signals_held():
        fd = os.open(where.path, os.O_WRONLY)
        try:
            if data:
                with contextlib.suppress(OSError):  # EOPNOTSUPP, EINVAL: write and see
                    os.posix_fallocate(fd, 0, len(data))
            _write_all(fd, data)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.unlink(copy)


def _write_through(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` as what is there demands (see the module docstring).

    Raises OutputError, one line naming the path and the reason, on any failure: a
    full disk, a device that refuses writes (``/dev/full``), a name too long.
    """
    data = text.encode("utf-8")
    name = os.fspath(path)
    try:
        where = destination(path)
        if where.kind == STREAM:
            _write_through(where.path, data)
        elif where.kind == LINKED:
            _rewrite_in_place(where, data)
        else:
            _replace(where, data)
    except OSError as exc:
        reason = _reason(exc)
        raise OutputError(f"cannot write {name!r}: {reason}", reason=reason) from None


def read_tail(path: str | os.PathLike[str], max_bytes: int) -> str:
    """The last ``max_bytes`` of a file, decoded leniently: a log's end, never the whole log."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            data = handle.read(max_bytes)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")

