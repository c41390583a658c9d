"""Ending a process tree: a signal to each process, a grace period, then SIGKILL to what is left.

Used by the measured child on its own descendants when the program ends, and by the
runner on the child's whole tree when the run ends another way (``--timeout``, Ctrl-C,
SIGTERM, a child that ended abruptly). Each process is held by a pidfd (Linux 5.3+)
from the moment it is found, so a pid reused meanwhile by an unrelated process is
never signalled; where there are no pidfds, plain pids are used.

Also the two Linux process attributes the measurement relies on, set through ``prctl``:
the child subreaper (orphaned descendants are re-parented to the measured child, not
to init, so none escapes sampling) and the parent-death signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import time
from collections.abc import Iterable

# How long a process is given to end on the first signal before SIGKILL, as
# ``timeout -k`` and a supervisor do: long enough for a program's cleanup handler,
# short enough that Ctrl-C feels immediate.
GRACE_SECONDS = 1.0

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux 3.4+); False elsewhere."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


_PR_GET_CHILD_SUBREAPER = 37


def is_subreaper() -> bool:
    """Whether this process already reaps its orphaned descendants (False where unknown)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        flag = ctypes.c_int(0)
        return int(libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)) == 0 \
            and flag.value != 0
    except (OSError, AttributeError):
        return False


def stop_being_subreaper() -> bool:
    """Let orphaned descendants go to init again (the attribute is the whole process's)."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 0)


def signal_on_parent_death(signum: int) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent dies; False elsewhere."""
    return _prctl(_PR_SET_PDEATHSIG, signum)


class Held:
    """A process held by its pidfd (or its pid where there are none), to signal safely."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.fd = os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]

    def send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, signum)  # type: ignore[attr-defined,unused-ignore]
            else:
                os.kill(self.pid, signum)

    def exited(self) -> bool:
        if self.fd is not None:
            return bool(select.select([self.fd], [], [], 0)[0])
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _is_zombie(self.pid)

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def end_processes(
    held: Iterable[Held], first_signal: int = signal.SIGTERM, grace: float = GRACE_SECONDS
) -> None:
    """Send ``first_signal`` to each process, give them ``grace`` seconds, SIGKILL the rest.

    Then reap those that are this process's children (zombies otherwise), and close
    every pidfd. Returns at once when every process has ended.
    """
    processes = list(held)
    for process in processes:
        process.send(first_signal)
    deadline = time.monotonic() + grace
    while any(not p.exited() for p in processes) and time.monotonic() < deadline:
        time.sleep(0.01)
    for process in processes:
        if not process.exited():
            process.send(signal.SIGKILL)
    for process in processes:
        _reap(process.pid)
        process.close()


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)
