"""Issue 24's five PyTorch training loops: the true extra memory of each leak, and what agmem says.

The true extra memory of a loop is its peak RSS, read by GNU time (``/usr/bin/time -f
%M``) around a plain ``python loop.py``, less the fixed loop's, read the same way (the
median of ``--repeat`` runs each). Beside it, from ``agmem run --explain --format json``
on the same loop: the peak growth, the growth after setup and its slope
(``analysis.steady_state``), and from the explain pass the largest growing type and
cycle shape with their bytes and lines.

    .venv-torch/bin/python benchmarks/torch_loops.py [--steps 200] [--repeat 3]

Needs torch in the interpreter that runs it and GNU time at /usr/bin/time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from autograd_mem.analysis.steady_state import steady_state
from autograd_mem.schema.run import Measurement, measurement_from_dict
from autograd_mem.schema.units import format_bytes

LOOPS = Path(__file__).resolve().parent.parent / "tests" / "programs" / "torch_loops"
PROGRAMS = ("fixed", "leak_losses", "leak_hook", "leak_errors", "leak_exc_cycle")
GNU_TIME = "/usr/bin/time"


def plain_peak_bytes(program: str, steps: int) -> int:
    """Peak RSS of ``python program.py`` by GNU time, in bytes."""
    finished = subprocess.run(
        [GNU_TIME, "-f", "agmem-peak-kib %M", sys.executable, f"{program}.py",
         "--steps", str(steps)],
        cwd=LOOPS, check=True, capture_output=True, text=True,
    )
    line = next(line for line in finished.stderr.splitlines() if line.startswith("agmem-peak-kib"))
    return int(line.split()[1]) * 1024


def agmem_explained(program: str, steps: int) -> Measurement:
    agmem = [sys.executable, "-m", "autograd_mem"]
    finished = subprocess.run(
        [*agmem, "run", "--explain", "--quiet", "--format", "json", f"{program}.py",
         "--steps", str(steps)],
        cwd=LOOPS, check=True, capture_output=True, text=True, env={**os.environ},
    )
    return measurement_from_dict(json.loads(finished.stdout))


def _grown_bytes(row: object) -> int:
    return int(getattr(row, "bytes_end", 0) - getattr(row, "bytes_start", 0))


def explain_words(m: Measurement) -> str:
    """The explain pass's largest growing type and largest shape, with bytes and lines."""
    report = m.explain
    if report is None:
        return "–"
    words = []
    if report.growth:
        row = max(report.growth, key=_grown_bytes)
        grown = _grown_bytes(row)
        at = getattr(row, "allocated_at", None)
        where = f" at {Path(at.file).name}:{at.line}" if at is not None else ""
        words.append(f"{row.type} +{row.end - row.start:,} ({format_bytes(grown)}){where}")
    if report.shapes:
        shape = report.shapes[0]
        held = getattr(shape, "bytes_freed_total", None) or getattr(shape, "bytes_held", 0)
        words.append(f"cycle {' → '.join(s.type for s in shape.path)} ({format_bytes(held)})")
    return "; ".join(words) or "nothing"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    peaks = {
        p: statistics.median(plain_peak_bytes(p, args.steps) for _ in range(args.repeat))
        for p in PROGRAMS
    }
    print("| program | true extra memory (peak RSS beside fixed.py, GNU time) | agmem peak growth "
          "| agmem after setup | what --explain names |")
    print("|---|---|---|---|---|")
    for program in PROGRAMS:
        m = agmem_explained(program, args.steps)
        state = steady_state(m.timeline, m.metrics.wall_seconds)
        after = "–" if state is None else (
            f"{format_bytes(state.growth_after_setup_bytes, signed=True)}, "
            f"{format_bytes(int(state.bytes_per_second), signed=True)}/s"
            + ("" if state.growing else " (levels off)")
        )
        extra = peaks[program] - peaks["fixed"]
        print(f"| {program}.py | {format_bytes(extra, signed=True)} "
              f"| {format_bytes(m.metrics.peak_rss_growth_bytes)} | {after} | {explain_words(m)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
