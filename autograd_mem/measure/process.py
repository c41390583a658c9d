"""One measured child's life, seen from the parent: its scratch folder, its start, its wait,
and the end of its whole process tree.

Every run happens in a fresh interpreter (``python -m autograd_mem.measure.child``) in a
session of its own, so that one run cannot pollute the next and Ctrl-C at a terminal
reaches agmem, which decides what to stop and when. The child is its descendants'
subreaper (``guard``): while it lives, every process the program started is below it,
and the sampler hands each one found to :meth:`MeasuredChild.track`, which holds it by a
pidfd, so that one the child leaves behind when it ends abruptly is still ended.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

from autograd_mem.measure import tree
from autograd_mem.probes.process_tree import descendants

SCRATCH_PREFIX = "agmem-"
_OWNER_FILE = "owner"


# --- scratch folders ------------------------------------------------------------------------


def _start_time(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (``/proc/PID/stat``), its identity
    together with its pid; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[19].decode()
    except (OSError, IndexError):
        return None


def make_scratch() -> Path:
    """A new scratch folder owned by this process, after removing those whose owner died.

    The owner is written inside (pid and start time): a folder left by a run that was
    killed with SIGKILL is recognised by the next run by its owner being gone.
    """
    remove_stale_scratch()
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    (folder / _OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
    return folder


def remove_stale_scratch(parent: str | None = None) -> list[Path]:
    """Remove every agmem scratch folder whose owner process is gone; the folders removed."""
    removed = []
    root = Path(parent or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for folder in root.glob(f"{SCRATCH_PREFIX}*"):
            if _owner_is_gone(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def _owner_is_gone(folder: Path) -> bool:
    try:
        pid_text, started = (folder / _OWNER_FILE).read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False  # not a folder this agmem made (or one being made): left alone
    return _start_time(pid) != started


def _children_of(pid: int) -> list[int]:
    """The direct children of ``pid`` (by their parent pid, which covers re-parented ones)."""
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.Error:
        return []


# --- the child ------------------------------------------------------------------------------


class MeasuredChild:
    """A started child and the processes below it, ended together by :meth:`end`."""

    def __init__(self, process: subprocess.Popen[bytes], own_children: frozenset[int] = frozenset(),
                 made_subreaper: bool = False) -> None:
        self.process = process
        self.pid = process.pid
        # This process's children before the child started: any other one found at the
        # end is an orphan of the child's tree, re-parented here (see ``start``).
        self._own_children = own_children
        self._made_subreaper = made_subreaper
        self._held: dict[int, tree.Held] = {}
        self._lock = threading.Lock()
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self._pidfd = os.pidfd_open(self.pid)  # type: ignore[attr-defined,unused-ignore]

    @classmethod
    def start(cls, command: list[str], env: dict[str, str], stdin: int | None,
              stdout: int, stderr: int) -> MeasuredChild:
        # The child is the subreaper of its own tree, but once it has ended (a program's
        # os._exit) a process it started a moment before, too late for any sample to see
        # it, would go to init: this process reaps the child's orphans for the run.
        made_subreaper = not tree.is_subreaper() and tree.become_subreaper()
        before = frozenset(_children_of(os.getpid()))
        process = subprocess.Popen(
            command, stdin=stdin, stdout=stdout, stderr=stderr, env=env, start_new_session=True
        )
        return cls(process, before, made_subreaper)

    def track(self, pids: tuple[int, ...]) -> None:
        """Hold every descendant the sampler found (called from its thread at each sample).

        Those not found again are let go: with the child their subreaper, a descendant
        leaves the walk only by ending.
        """
        with self._lock:
            for pid in pids:
                if pid not in self._held:
                    self._held[pid] = tree.Held(pid)
            for pid in [p for p in self._held if p not in pids]:
                self._held.pop(pid).close()

    def has_exited(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the child to exit, without reaping it.

        Why a pidfd rather than ``process.wait(timeout=...)``: on POSIX that polls
        ``waitpid`` with sleeps starting at half a millisecond, about eight wake-ups per
        interval, each one taken from the cores the measured child runs on; a pidfd (Linux
        5.3+) becomes readable when the process exits, so ``select`` wakes once per
        interval, or at the exit. Not reaping keeps the child's pid, and so its process
        group, from being reused until the group has been ended.
        """
        if self._pidfd is not None:
            return bool(select.select([self._pidfd], [], [], seconds)[0])
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        if os.waitid(os.P_PID, self.pid, flags) is not None:
            return True
        time.sleep(seconds)
        return os.waitid(os.P_PID, self.pid, flags) is not None

    def wait(self, deadline: float | None, tick: Callable[[], None], every: float) -> bool:
        """Wait for the child's exit, calling ``tick`` every ``every`` seconds; False past
        ``deadline`` (monotonic)."""
        while True:
            wait = every
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                wait = min(wait, left)
            if self.has_exited(wait):
                return True
            tick()

    def end(self, first_signal: int = signal.SIGTERM, grace: float = tree.GRACE_SECONDS) -> None:
        """End the child and everything below it, then reap the child.

        ``first_signal`` goes to the child's process group and to every descendant (the
        ones below it now, and the ones the sampler saw that outlived it); whatever has
        not ended ``grace`` seconds later gets SIGKILL. Done on every ending, a normal one
        too (then only what the program left behind is still there to end).
        """
        with self._lock:
            held = dict(self._held)
            self._held = {}
        if not self.has_exited(0):
            held.update({pid: tree.Held(pid) for pid in descendants(self.pid) if pid not in held})
        held.update(self._orphans(exclude=held))
        self._signal_group(first_signal)
        deadline = time.monotonic() + grace
        tree.end_processes(held.values(), first_signal, grace)
        while not self.has_exited(0) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._signal_group(signal.SIGKILL)
        self.process.wait()
        # Orphaned while the child was being ended (its own children, once it died).
        tree.end_processes(self._orphans(exclude=held).values(), first_signal, grace)
        if self._made_subreaper:
            tree.stop_being_subreaper()
            self._made_subreaper = False
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def _orphans(self, exclude: Mapping[int, tree.Held]) -> dict[int, tree.Held]:
        """The child's orphans re-parented to this process, and everything below them."""
        found: dict[int, tree.Held] = {}
        for orphan in set(_children_of(os.getpid())) - self._own_children - {self.pid}:
            for pid in (orphan, *descendants(orphan)):
                if pid not in exclude and pid not in found:
                    found[pid] = tree.Held(pid)
        return found

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)
