"""Resident memory of a process and all its descendants: a program measured with its workers.

A program that starts worker processes (multiprocessing, a DataLoader, a subprocess)
holds memory the measured child's own RSS does not show. :class:`ProcessTreeRss` reads
the RSS of the child and of every descendant at each sample, as ``mprof`` and
``memory_profiler``'s ``include_children`` do: the sum of their resident set sizes, so a
page shared between processes (copy-on-write after ``fork``) counts once per process
that has it resident. Processes come and go between the listing and the reading; one
that is gone is simply not counted in that sample.

It is meant to be read every 10 ms from the parent's sampling thread. On Linux it reads
``/proc`` directly: each task's ``children`` file lists its children (cost grows with
the tree), where psutil's ``children(recursive=True)`` reads the parent of every process
on the machine (cost grows with the machine: about 1.6 ms a call with 76 processes, see
``benchmarks/process_tree_cost.py``). Elsewhere, or on a kernel built without
``CONFIG_PROC_CHILDREN``, it uses psutil.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import psutil

# The errors of a process that exited, or became a zombie, between listing and reading;
# and of one we may not read. Such a process is left out of that one sample.
_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class TreeRss:
    """One reading of a process tree: the root's RSS, its descendants' summed, and their number."""

    own_bytes: int
    children_bytes: int
    children: int
    pids: tuple[int, ...] = ()  # the descendants found, counted or not

    @property
    def total_bytes(self) -> int:
        return self.own_bytes + self.children_bytes


@dataclass(frozen=True)
class _Reader:
    """How to list a process's descendants and read one process's RSS (None once it is gone)."""

    name: str
    descendants: Callable[[int], list[int]]
    rss_bytes: Callable[[int], int | None]


class ProcessTreeRss:
    """Reads the RSS of ``pid`` and of all its descendants; ``read()`` is cheap enough for 10 ms.

    ``backend`` is ``"proc"`` or ``"psutil"``; None picks ``"proc"`` where the kernel
    offers it. Raises ``psutil.NoSuchProcess`` when ``pid`` itself is gone, so a sampler
    that stops on ``psutil.Error`` stops with its process.
    """

    def __init__(self, pid: int, backend: str | None = None) -> None:
        self.pid = pid
        chosen = backend or ("proc" if proc_children_available(pid) else "psutil")
        if chosen not in _READERS:
            raise ValueError(f"unknown process tree backend {chosen!r}")
        self._reader = _READERS[chosen]
        if self._reader.rss_bytes(pid) is None:
            raise psutil.NoSuchProcess(pid)

    @property
    def backend(self) -> str:
        return self._reader.name

    def descendants(self) -> list[int]:
        """The pids of every live descendant, children before grandchildren."""
        return self._reader.descendants(self.pid)

    def read(self) -> TreeRss:
        """The tree's RSS now: the root's, and its descendants' that were still there to read."""
        own = self._reader.rss_bytes(self.pid)
        if own is None:
            raise psutil.NoSuchProcess(self.pid)
        children_bytes = 0
        counted = 0
        found = self._reader.descendants(self.pid)
        for child in found:
            rss = self._reader.rss_bytes(child)
            if rss is not None:
                children_bytes += rss
                counted += 1
        return TreeRss(own_bytes=own, children_bytes=children_bytes, children=counted,
                       pids=tuple(found))


def descendants(pid: int) -> list[int]:
    """The pids of every live descendant of ``pid``, from ``/proc`` where it lists children."""
    reader = _READERS["proc" if proc_children_available(pid) else "psutil"]
    return reader.descendants(pid)


def tree_rss(pid: int) -> TreeRss:
    """One reading of ``pid``'s tree; a sampler keeps one ProcessTreeRss instead."""
    return ProcessTreeRss(pid).read()


def proc_children_available(pid: int) -> bool:
    """Whether this kernel lists a task's children in ``/proc/PID/task/TID/children``."""
    return os.path.exists(f"/proc/{pid}/task/{pid}/children")


# --- /proc ------------------------------------------------------------------------------


def _proc_descendants(pid: int) -> list[int]:
    """Descendants from each task's ``children`` file: a child started by any thread is found."""
    found: list[int] = []
    seen = {pid}
    pending = deque([pid])
    while pending:
        parent = pending.popleft()
        for child in _proc_children(parent):
            if child not in seen:  # pid reuse mid-walk must not loop
                seen.add(child)
                found.append(child)
                pending.append(child)
    return found


def _proc_children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []  # gone since it was listed
    children: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as listing:
                children.extend(int(word) for word in listing.read().split())
        except OSError:
            continue  # the thread ended
    return children


def _proc_rss_bytes(pid: int) -> int | None:
    """Resident pages from ``/proc/PID/statm`` (the figure ``VmRSS`` shows), in bytes."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            fields = statm.read().split()
    except OSError:
        return None
    return int(fields[1]) * _PAGE_BYTES


# --- psutil -----------------------------------------------------------------------------


def _psutil_descendants(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except _GONE:
        return []


def _psutil_rss_bytes(pid: int) -> int | None:
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except _GONE:
        return None


_READERS = {
    "proc": _Reader("proc", _proc_descendants, _proc_rss_bytes),
    "psutil": _Reader("psutil", _psutil_descendants, _psutil_rss_bytes),
}

BACKENDS = tuple(_READERS)
