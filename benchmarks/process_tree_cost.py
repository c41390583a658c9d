"""What one reading of a process tree's RSS costs the parent's sampler, per backend and tree size.

The sampler reads every 10 ms, so a reading must cost a small fraction of that. For each
backend (``proc``: the tasks' ``children`` files; ``psutil``: ``children(recursive=True)``,
which reads the parent of every process on the machine) and for a tree of 0 and of 2
children, it times ``--calls`` readings in each of ``--batches`` batches and prints the
median cost per call, and that cost as a share of a 10 ms sampling interval. The machine's
process count is printed too: psutil's cost grows with it. Exit status 1 when the
backend agmem picks costs more than ``TARGET_SHARE`` of the interval.

    python benchmarks/process_tree_cost.py [--calls 500] [--batches 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import psutil

from autograd_mem.probes.process_tree import BACKENDS, ProcessTreeRss

INTERVAL_SECONDS = 0.010
# The most of a sampling interval one reading may take with the default backend.
TARGET_SHARE = 0.02

# A parent that starts N idle children and waits; the tree the sampler would read.
PARENT = (
    "import subprocess, sys, time\n"
    "children = [subprocess.Popen(['sleep', '120']) for _ in range(int(sys.argv[1]))]\n"
    "print('up', flush=True)\n"
    "time.sleep(120)\n"
)


def per_call_seconds(reader: ProcessTreeRss, calls: int, batches: int) -> float:
    """The median over batches of one batch's time divided by its calls."""
    timings = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            reader.read()
        timings.append((time.perf_counter() - start) / calls)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--batches", type=int, default=7)
    args = parser.parse_args()
    print(f"processes on this machine: {len(psutil.pids())}")
    default_backend = ProcessTreeRss(psutil.Process().pid).backend
    worst_default = 0.0
    for children in (0, 2):
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, str(children)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert parent.stdout is not None
            parent.stdout.readline()
            for backend in BACKENDS:
                reader = ProcessTreeRss(parent.pid, backend)
                assert reader.read().children == children
                cost = per_call_seconds(reader, args.calls, args.batches)
                share = cost / INTERVAL_SECONDS
                if backend == default_backend:
                    worst_default = max(worst_default, share)
                print(
                    f"{backend:>6}, {children} children: {cost * 1e6:8.1f} µs per reading"
                    f" = {share:6.2%} of a 10 ms interval (median of {args.batches} x {args.calls})"
                )
        finally:
            for child in psutil.Process(parent.pid).children(recursive=True):
                child.kill()
            parent.kill()
            parent.wait()
    verdict = "ok" if worst_default <= TARGET_SHARE else "MISSED"
    print(f"default backend {default_backend}: at most {worst_default:.2%} ({verdict})")
    return 0 if worst_default <= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
