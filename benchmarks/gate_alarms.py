"""Does `agmem check` fail on regressions and only on them? Four real programs, 10 checks each.

For each of the gate's test programs (``tests/programs/gate``: a stdlib json job, a
sqlite3 job, a numpy job, a sortedcontainers job), in a scratch folder, through the
real command line (``python -m autograd_mem``) as CI would run it:

1. ``agmem baseline save`` of the program (3 runs, the default);
2. each ordinary change (``edits.BENIGN``: an argparse option, print to logging, one
   more stdlib import, 1% more input, an unseeded RNG) checked ``--checks`` times: every
   check should pass;
3. leaks kept from the start and after the work (``edits.leaky``) of 1 MiB, 1.5 MiB
   and the issue's size, max(5% of the baseline's peak growth, 2 MiB), each checked
   ``--checks`` times with ``--no-explain-on-fail --repeat 1`` (retained memory is the
   allocators' count, the same run after run): the smallest leak caught every time is
   printed per program.

Prints one line per (program, change) with its tally, then the smallest leak caught
10/10 per program; exits 1 if a benign change failed or a leak of the issue's size
passed. Usage: python benchmarks/gate_alarms.py [--checks 10] [--programs jsonjob.py ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS_DIR = HERE.parent / "tests" / "programs" / "gate"
sys.path.insert(0, str(PROGRAMS_DIR))
import edits  # noqa: E402  (the test programs' edits, shared with the tests)

MiB = 1024**2


def agmem(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autograd_mem", *args],
        capture_output=True, text=True, check=False, cwd=cwd,
    )


def check(cwd: Path, baseline: Path, *extra: str) -> tuple[int, dict]:
    process = agmem(cwd, "check", "--baseline", str(baseline), "--format", "json", "--quiet",
                    *extra)
    if process.returncode not in (0, 1):
        sys.exit(f"agmem check failed with exit {process.returncode}:\n{process.stderr}")
    return process.returncode, json.loads(process.stdout)


def tally(cwd: Path, baseline: Path, program: Path, source: str, checks: int,
          *extra: str) -> tuple[int, list[str]]:
    """Checks that failed out of ``checks``, with the failed metrics of each."""
    program.write_text(source)
    failed, why = 0, []
    for _ in range(checks):
        code, document = check(cwd, baseline, *extra)
        if code == 1:
            failed += 1
            why.append(",".join(document["regressed"]))
    return failed, why


def leak_ladder(peak_growth: int, sizes_mib: list[float]) -> list[int]:
    """Leak sizes from small to the issue's: max(5% of peak growth, 2 MiB)."""
    target = max(peak_growth // 20, 2 * MiB)
    return sorted({*(int(size * MiB) for size in sizes_mib), target})


def run_program(name: str, checks: int, scratch: Path, options: argparse.Namespace
                ) -> tuple[bool, str]:
    """Everything for one program: (all expectations held, its line for the summary)."""
    folder = scratch / name.removesuffix(".py")
    folder.mkdir()
    original = (PROGRAMS_DIR / name).read_text()
    program = folder / name
    program.write_text(original)
    baseline = folder / "base.json"
    saved = agmem(folder, "baseline", "save", str(baseline), "--quiet", "--", name)
    if saved.returncode != 0:
        sys.exit(f"baseline save of {name} failed:\n{saved.stderr}")
    document = json.loads(baseline.read_text())
    growth = document["metrics"]["peak_rss_growth_bytes"]
    print(f"{name}: peak growth {growth / MiB:.1f} MiB, retained "
          f"{document['metrics']['retained_bytes'] / MiB:.2f} MiB", flush=True)
    good = True
    for change in edits.BENIGN if not options.leaks_only else ():
        failed, why = tally(folder, baseline, program, edits.benign(original, change), checks)
        good &= failed == 0
        print(f"  {change:24} {checks - failed}/{checks} passed  {' '.join(why)}", flush=True)
    caught_always = []
    target = max(growth // 20, 2 * MiB)
    for at in ("start", "end"):
        for size in leak_ladder(growth, options.leak_mib):
            source = edits.leaky(original, size, at)
            # One run per check: retained memory is the allocators' count, the same in
            # every run (the baseline keeps its 3 runs and their spread).
            failed, _ = tally(folder, baseline, program, source, checks,
                              "--no-explain-on-fail", "--repeat", "1")
            print(f"  leak {size / MiB:5.2f} MiB at the {at:5}  caught {failed}/{checks}",
                  flush=True)
            if failed == checks:
                caught_always.append((size, at))
            if size >= target and failed != checks:
                good = False
    program.write_text(original)
    smallest = {at: min((s for s, a in caught_always if a == at), default=None)
                for at in ("start", "end")}
    text = ", ".join(
        f"{at}: {'none' if s is None else f'{s / MiB:.2f} MiB ({s / growth:.1%} of peak growth)'}"
        for at, s in smallest.items()
    )
    return good, f"{name}: smallest leak caught {checks}/{checks} — {text}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10)
    parser.add_argument("--programs", nargs="*", default=list(edits.PROGRAMS))
    parser.add_argument("--leak-mib", nargs="*", type=float, default=[1.0, 1.5],
                        help="leak sizes to try below the issue's (default: 1 1.5)")
    parser.add_argument("--leaks-only", action="store_true", help="skip the ordinary changes")
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="agmem-gate-"))
    try:
        results = [run_program(name, options.checks, scratch, options)
                   for name in options.programs]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    for _, line in results:
        print(line)
    return 0 if all(good for good, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
