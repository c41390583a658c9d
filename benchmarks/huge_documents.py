"""How long agmem takes to read back a huge but consistent saved document, at what memory.

The target: ``agmem report``, ``compare`` and ``check`` render any saved document they
accept within 10 s and bounded memory. The largest file they accept is capped (32 MiB
for a run or comparison, 1 MiB for a baseline), so the worst case is a document near
that cap whose every figure is consistent: here a real run with full series (a long
seed run: 4,096 timeline and per-iteration points), its runs repeated and the whole
measured again under many labels as one comparison, grown until it nears the cap.

For each size the script prints the file's size, then the median wall time (of
``--rounds``) and the peak RSS of ``agmem report FILE`` and ``agmem report FILE
--format json`` in a fresh process (``wait4``'s maxrss, the kernel's figure).

    python benchmarks/huge_documents.py [--iterations 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1024 * 1024
TARGET_SECONDS = 10.0
CAP_BYTES = 32 * MIB  # schema.saved.MAX_RESULT_BYTES


def agmem(*args: str) -> tuple[float, int, subprocess.CompletedProcess[bytes]]:
    """(wall seconds, peak RSS bytes, the process) of one ``agmem`` command: its output goes
    to files, so that the process can be reaped by ``wait4`` for its own maxrss."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "autograd_mem", *args],
                                   stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(process.args, process.returncode, out.read(), err.read())
    return seconds, usage.ru_maxrss * 1024, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100_000,
                        help="iterations of the seed run the documents are built from")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per command")
    args = parser.parse_args()

    from autograd_mem.analysis.compare import compare, comparison_to_dict
    from autograd_mem.schema.codec import dumps
    from autograd_mem.schema.run import measurement_from_dict, measurement_to_dict

    with tempfile.TemporaryDirectory(prefix="agmem-huge-") as scratch:
        folder = Path(scratch)
        seed = folder / "seed.json"
        _, _, done = agmem("run", "--iterations", str(args.iterations), "--size", "10",
                           "--format", "json", "-o", str(seed), "--quiet")
        if done.returncode != 0:
            sys.exit(f"the seed run failed: {done.stderr.decode().strip()}")
        measured = measurement_from_dict(json.loads(seed.read_text()))
        print(f"built from: agmem run --iterations {args.iterations} --size 10 "
              f"({len(measured.representative.timeline.seconds)} timeline points, "
              f"{len(measured.representative.per_iteration.iteration)} per-iteration points)")
        print(f"{'document':<34}{'size':>10}{'report s':>10}{'RSS MiB':>9}"
              f"{'json s':>9}{'RSS MiB':>9}")
        worst = 0.0
        for repeat, labels in ((1, 1), (10, 1), (10, 8), (17, 12), (20, 16)):
            runs = tuple(dataclasses.replace(run) for run in measured.runs * repeat)
            one = dataclasses.replace(measured, runs=runs)
            if labels == 1:
                text, name = dumps(measurement_to_dict(one)), f"run, {repeat} runs"
            else:
                compared = compare([one] * labels, [f"v{i}" for i in range(labels)])
                text = dumps(comparison_to_dict(compared))
                name = f"{labels} variants x {repeat} runs"
            if len(text) > CAP_BYTES:
                print(f"{name:<34}{len(text) / MIB:>8.1f}M  over the {CAP_BYTES // MIB} MiB cap: "
                      "refused in one line before it is parsed")
                continue
            path = folder / "doc.json"
            path.write_text(text)
            cells = []
            for extra in ((), ("--format", "json")):
                timings = [agmem("report", str(path), *extra) for _ in range(args.rounds)]
                if any(done.returncode != 0 for _, _, done in timings):
                    sys.exit(f"report failed: {timings[0][2].stderr.decode().strip()}")
                seconds = statistics.median(t for t, _, _ in timings)
                worst = max(worst, seconds)
                cells.append((seconds, max(peak for _, peak, _ in timings)))
            print(f"{name:<34}{len(text) / MIB:>8.1f}M" + "".join(
                f"{s:>10.2f}{rss / MIB:>9.0f}" for s, rss in cells))
        verdict = "within" if worst <= TARGET_SECONDS else "OVER"
        print(f"slowest median: {worst:.2f} s, {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
