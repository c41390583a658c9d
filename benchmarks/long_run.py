"""What a long run costs agmem itself: memory in both processes, and the JSON's size.

The target (issue 10, item 7): ``agmem run --iterations 1000000 --size 10`` uses at most
64 MiB above the interpreters' baselines in parent and child together, and writes a
JSON document under 2 MiB.

How it is measured. The same command runs twice, with ``--iterations 1`` (the
interpreters' baselines: Python, numpy, agmem's imports, one iteration) and with the
long count, each writing ``--format json -o FILE``. For each process the figure is its
kernel high-water mark, ``VmHWM``, which sees every page it ever had resident:

- the parent runs ``autograd_mem.cli.main`` inside a small wrapper that reads its own
  ``VmHWM`` after ``main`` returns, so the parent's figure is exact;
- the child's ``VmHWM`` is read from ``/proc/PID/status`` every 5 ms while it lives
  (the mark only rises, so the last reading misses at most the last 5 ms).

The memory above the baselines is (parent + child) of the long run minus (parent +
child) of the one-iteration run: a sum of the two peaks, which is at least the peak
of the sum. Dividing it by the iterations gives the bookkeeping per iteration that
``workloads.BOOKKEEPING_BYTES_PER_ITERATION`` estimates before a run.

    python benchmarks/long_run.py [--iterations 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

MIB = 1024 * 1024
MEMORY_TARGET_BYTES = 64 * MIB
JSON_TARGET_BYTES = 2 * MIB

WRAPPER = """
import sys
from autograd_mem.cli import main
code = main(sys.argv[2:])
with open("/proc/self/status") as status:
    for line in status:
        if line.startswith("VmHWM:"):
            open(sys.argv[1], "w").write(str(int(line.split()[1]) * 1024))
sys.exit(code)
"""


def _hwm_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def measure(iterations: int, folder: Path) -> tuple[int, int, int, float]:
    """(parent peak, child peak, JSON bytes, seconds) of one ``agmem run``."""
    report = folder / f"run-{iterations}.json"
    parent_file = folder / f"parent-{iterations}.hwm"
    command = [
        sys.executable, "-c", WRAPPER, str(parent_file),
        "run", "--iterations", str(iterations), "--size", "10",
        "--format", "json", "-o", str(report), "--quiet",
    ]
    started = time.monotonic()
    process = subprocess.Popen(command)
    wrapper = psutil.Process(process.pid)
    child_peaks: dict[int, int] = {}
    while process.poll() is None:
        try:
            children = wrapper.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            peak = _hwm_bytes(child.pid)
            if peak is not None:
                child_peaks[child.pid] = max(peak, child_peaks.get(child.pid, 0))
        time.sleep(0.005)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        sys.exit(f"agmem run --iterations {iterations} failed with {process.returncode}")
    parent = int(parent_file.read_text())
    return parent, max(child_peaks.values(), default=0), report.stat().st_size, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agmem-long-run-") as name:
        folder = Path(name)
        base_parent, base_child, base_json, base_seconds = measure(1, folder)
        parent, child, json_bytes, seconds = measure(args.iterations, folder)
    above = (parent + child) - (base_parent + base_child)
    print(f"agmem run --size 10, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'iterations':>12} {'parent VmHWM':>14} {'child VmHWM':>13} {'JSON':>11} {'time':>8}")
    for count, p, c, j, s in (
        (1, base_parent, base_child, base_json, base_seconds),
        (args.iterations, parent, child, json_bytes, seconds),
    ):
        print(f"{count:>12,} {p / MIB:>10.1f} MiB {c / MIB:>9.1f} MiB "
              f"{j / 1024:>7.1f} KiB {s:>7.1f}s")
    parent_growth, child_growth = (parent - base_parent) / MIB, (child - base_child) / MIB
    print(f"above the baselines, parent + child: {above / MIB:.1f} MiB "
          f"(parent {parent_growth:+.1f} MiB, child {child_growth:+.1f} MiB)"
          f"; per iteration: {above / args.iterations:.1f} bytes")
    memory_ok = above <= MEMORY_TARGET_BYTES
    json_ok = json_bytes < JSON_TARGET_BYTES
    print(f"memory: {above / MIB:.1f} MiB <= {MEMORY_TARGET_BYTES // MIB} MiB: "
          f"{'PASS' if memory_ok else 'FAIL'}")
    print(f"JSON: {json_bytes / MIB:.2f} MiB < {JSON_TARGET_BYTES // MIB} MiB: "
          f"{'PASS' if json_ok else 'FAIL'}")
    return 0 if memory_ok and json_ok else 1


if __name__ == "__main__":
    sys.exit(main())
