"""What a long run costs agmem itself: memory in both processes, and the JSON's size (issue 17).

The targets: for a run of any length, agmem's parent and the measured child each stay
within 64 MiB of their own baseline, the JSON stays under 2 MiB, and the program's peak
growth under agmem does not depend on how long it ran (within 1 MiB of an uninstrumented
run's ``VmHWM`` growth). Two kinds of long run, side by side in one invocation:

- a program of continuous cycle churn (``while time < end: x = Node(); x.me = x``) for
  1 s (the baseline), 10 s and 60 s (``--long`` adds 600 s), and the same program run
  plainly (``python churn.py``) for its ``VmHWM`` from the kernel (``wait4``'s maxrss);
- ``agmem run --mode strong --size 10`` for 1 iteration (the baseline) and
  ``--iterations`` (default 10**6; 10**7 takes a few minutes).

For each process the figure is its kernel high-water mark, ``VmHWM``, which sees every
page it ever had resident: the parent runs ``autograd_mem.cli.main`` inside a small
wrapper that reads its own ``VmHWM`` after ``main`` returns (exact); the child's is read
from ``/proc/PID/status`` every 5 ms while it lives (the mark only rises).

    python benchmarks/long_run.py [--iterations 10000000] [--long]
"""

from __future__ import annotations

import argparse
import json
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


CHURN = """
import sys, time
class Node:
    pass
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for _ in range(1000):
        node = Node()
        node.me = node
"""


def measure(name: str, agmem_args: list[str], folder: Path) -> dict[str, float]:
    """Parent peak, child peak, JSON bytes, seconds and peak growth of one ``agmem run``."""
    report = folder / f"{name}.json"
    parent_file = folder / f"{name}.hwm"
    command = [sys.executable, "-c", WRAPPER, str(parent_file), "run", "--format", "json",
               "-o", str(report), "--quiet", *agmem_args]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=folder)
    wrapper = psutil.Process(process.pid)
    child_peaks: dict[int, int] = {}
    while process.poll() is None:
        try:
            children = wrapper.children(recursive=False)
        except psutil.Error:
            children = []
        for child in children:
            peak = _hwm_bytes(child.pid)
            if peak is not None:
                child_peaks[child.pid] = max(peak, child_peaks.get(child.pid, 0))
        time.sleep(0.005)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        sys.exit(f"agmem run {' '.join(agmem_args)} failed with {process.returncode}")
    document = json.loads(report.read_text())
    return {
        "parent": int(parent_file.read_text()),
        "child": max(child_peaks.values(), default=0),
        "json": report.stat().st_size,
        "seconds": seconds,
        "growth": document["metrics"]["peak_rss_growth_bytes"],
    }


def plain_hwm(script: Path, seconds: float) -> int:
    """The churn program's own ``VmHWM`` without agmem (``wait4``'s maxrss, KiB on Linux)."""
    process = subprocess.Popen([sys.executable, str(script), str(seconds)])
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss * 1024


def _row(label: str, m: dict[str, float], base: dict[str, float]) -> str:
    return (f"{label:>26} {m['parent'] / MIB:>8.1f} {(m['parent'] - base['parent']) / MIB:>+7.1f}"
            f" {m['child'] / MIB:>8.1f} {(m['child'] - base['child']) / MIB:>+7.1f}"
            f" {m['json'] / 1024:>8.1f} {m['growth'] / MIB:>+8.2f} {m['seconds']:>7.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1_000_000)
    parser.add_argument("--long", action="store_true", help="add a 600 s program")
    args = parser.parse_args()
    durations = [10.0, 60.0] + ([600.0] if args.long else [])
    ok = True
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; MiB except JSON (KiB) "
          "and time (s); +: above the baseline row's")
    print(f"{'run':>26} {'parent':>8} {'':>7} {'child':>8} {'':>7} {'JSON':>8} "
          f"{'growth':>8} {'time':>7}")
    with tempfile.TemporaryDirectory(prefix="long-run-") as name:
        folder = Path(name)
        script = folder / "churn.py"
        script.write_text(CHURN)
        rows = [("churn 1 s (baseline)", measure("churn-1", [str(script), "1"], folder))]
        rows += [(f"churn {d:g} s", measure(f"churn-{d:g}", [str(script), str(d)], folder))
                 for d in durations]
        plain = {d: plain_hwm(script, d) for d in (1.0, durations[-1])}
        seed = ["--mode", "strong", "--size", "10", "--iterations"]
        seed_rows = [("seed strong 1 it (baseline)", measure("seed-1", [*seed, "1"], folder)),
                     (f"seed strong {args.iterations:,} it",
                      measure("seed-n", [*seed, str(args.iterations)], folder))]
    for group in (rows, seed_rows):
        base = group[0][1]
        for label, m in group:
            print(_row(label, m, base))
            ok &= (m["parent"] - base["parent"] <= MEMORY_TARGET_BYTES
                   and m["child"] - base["child"] - (m["growth"] - base["growth"])
                   <= MEMORY_TARGET_BYTES and m["json"] < JSON_TARGET_BYTES)
    growths = [m["growth"] for _, m in rows]
    spread = (max(growths) - min(growths)) / MIB
    plain_growth = (plain[durations[-1]] - plain[1.0]) / MIB
    print(f"churn peak growth under agmem: spread {spread:.2f} MiB over 1-{durations[-1]:g} s; "
          f"uninstrumented VmHWM {plain[1.0] / MIB:.2f} MiB at 1 s, "
          f"{plain[durations[-1]] / MIB:.2f} MiB at {durations[-1]:g} s ({plain_growth:+.2f} MiB)")
    flat = spread <= 1.0 and abs(max(growths) / MIB - plain_growth) <= 1.0
    print(f"own memory within {MEMORY_TARGET_BYTES // MIB} MiB and JSON under "
          f"{JSON_TARGET_BYTES // MIB} MiB: {'PASS' if ok else 'FAIL'}; "
          f"peak growth flat within 1 MiB: {'PASS' if flat else 'FAIL'}")
    return 0 if ok and flat else 1


if __name__ == "__main__":
    sys.exit(main())
