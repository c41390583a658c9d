"""Tests for the process-tree RSS probe: a program's workers counted, checked against /proc."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from autograd_mem.probes.process_tree import BACKENDS, ProcessTreeRss, tree_rss

MIB = 1 << 20
PROGRAMS = Path(__file__).parents[1] / "programs"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def vmrss_bytes(pid: int) -> int:
    """The kernel's own figure, read here independently of the probe: VmRSS in /proc/PID/status."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def python(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )


def stop(process: subprocess.Popen[str], *others: int) -> None:
    for pid in others:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    process.kill()
    process.wait()


def lines_of(process: subprocess.Popen[str]) -> Iterator[str]:
    assert process.stdout is not None
    for line in process.stdout:
        yield line.rstrip("\n")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_children_column_holds_the_workers_memory(backend):
    # given a program whose two workers each hold 50 MiB, every page written
    parent = subprocess.Popen(
        [sys.executable, "workers.py", "--mib", "50", "--hold", "3", "--linger", "5"],
        cwd=PROGRAMS,
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    worker_pids: list[int] = []
    try:
        lines = lines_of(parent)
        for line in lines:
            if line.startswith("worker "):
                worker_pids.append(int(line.split()[1]))
                if len(worker_pids) == 2:
                    break
        reader = ProcessTreeRss(parent.pid, backend)
        # when the tree is read while they hold it, and again after they were joined
        during, descendants = reader.read(), reader.descendants()
        workers_rss = [vmrss_bytes(pid) for pid in worker_pids]
        parent_rss = vmrss_bytes(parent.pid)
        assert any(line.startswith("workers done") for line in lines)
        after = reader.read()
    finally:
        stop(parent, *worker_pids)
    # then the children column is the workers' memory, as the kernel reports it
    assert reader.backend == backend
    assert set(worker_pids) <= set(descendants)
    assert all(rss >= 50 * MIB for rss in workers_rss), workers_rss
    assert during.children >= 2
    assert during.children_bytes >= sum(workers_rss) - MIB
    assert during.children_bytes - after.children_bytes >= 90 * MIB
    assert abs(during.own_bytes - parent_rss) <= MIB
    assert during.total_bytes == during.own_bytes + during.children_bytes


def test_a_process_alone_has_an_empty_children_column():
    alone = python("import time; print('up', flush=True); time.sleep(30)")
    try:
        next(lines_of(alone))
        reading = tree_rss(alone.pid)
        kernel = vmrss_bytes(alone.pid)
    finally:
        stop(alone)
    assert (reading.children, reading.children_bytes) == (0, 0)
    assert abs(reading.own_bytes - kernel) <= MIB


@pytest.mark.parametrize("backend", BACKENDS)
def test_grandchildren_are_found_after_children(backend):
    # given a chain: a process, its child (a shell), the child's child (a sleep)
    top = python(
        "import subprocess, time\n"
        "shell = subprocess.Popen(['sh', '-c', 'sleep 30 & echo $!; wait'],"
        " stdout=subprocess.PIPE, text=True)\n"
        "print(shell.pid, shell.stdout.readline().strip(), flush=True)\n"
        "time.sleep(30)\n"
    )
    child = grandchild = None
    try:
        child, grandchild = (int(pid) for pid in next(lines_of(top)).split())
        # when its tree is listed
        descendants = ProcessTreeRss(top.pid, backend).descendants()
    finally:
        stop(top, *(pid for pid in (grandchild, child) if pid is not None))
    # then both are there, the child first
    assert descendants == [child, grandchild]


@pytest.mark.parametrize("backend", BACKENDS)
def test_children_that_come_and_go_mid_reading_are_tolerated(backend):
    # given a process that forks short-lived children as fast as it can
    churner = python(
        "import os, time\n"
        "print('up', flush=True)\n"
        "end = time.monotonic() + 20\n"
        "while time.monotonic() < end:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        time.sleep(0.002)\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
    )
    try:
        next(lines_of(churner))
        reader = ProcessTreeRss(churner.pid, backend)
        # when its tree is read again and again, children exiting between listing and reading
        readings = [reader.read() for _ in range(300)]
    finally:
        stop(churner)
    # then no reading fails, and some of them did catch a child
    assert any(reading.children for reading in readings)
    assert all(reading.own_bytes > 0 for reading in readings)


def test_a_root_that_is_gone_raises_no_such_process():
    short = python("print('up', flush=True)")
    next(lines_of(short))
    reader = ProcessTreeRss(short.pid)
    short.wait()
    with pytest.raises(psutil.NoSuchProcess):
        reader.read()
    with pytest.raises(psutil.NoSuchProcess):
        ProcessTreeRss(short.pid)


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown process tree backend 'smaps'"):
        ProcessTreeRss(os.getpid(), "smaps")
