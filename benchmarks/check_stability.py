"""Does `agmem check` cry wolf? Save a weak-mode seed baseline, check it 10 times, then a leak.

Runs the real command line (``python -m autograd_mem``) the way CI would:

1. ``agmem baseline save`` of ``seed`` in weak mode (defaults: size 10,000, depth 3,
   1,000 iterations, 3 runs);
2. ``agmem check --baseline`` of the same configuration, ``--checks`` times: every
   one should pass (exit 0);
3. ``agmem check --baseline --mode strong``: the notebook's leak, which should fail
   with exit 1 and name the metrics that regressed.

Prints one line per check and the tally; exits 1 if any expectation failed.
Usage: python benchmarks/check_stability.py [--checks 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def agmem(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autograd_mem", *args],
        capture_output=True, text=True, check=False,
    )


def check(baseline: Path, *extra: str) -> tuple[int, dict, float]:
    started = time.perf_counter()
    process = agmem("check", "--baseline", str(baseline), "--format", "json", "--quiet", *extra)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        sys.exit(f"agmem check failed with exit {process.returncode}:\n{process.stderr}")
    return process.returncode, json.loads(process.stdout), seconds


def closest_call(report: dict) -> str:
    """How much of its allowed growth the nearest noisy metric used: the gate's margin."""
    used = [
        (max(row["now"] - row["baseline"], 0) / (row["limit"] - row["baseline"]), row["metric"])
        for row in report["rows"]
        if row["class"] == "tolerance" and row["limit"] is not None and row["baseline"] is not None
    ]
    fraction, metric = max(used)
    return f"closest: {metric} used {fraction:.0%} of its allowed growth"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        baseline = Path(directory) / "baseline.json"
        saved = agmem("baseline", "save", str(baseline), "--mode", "weak",
                      "--repeat", str(args.repeat))
        if saved.returncode != 0:
            sys.exit(f"agmem baseline save failed with exit {saved.returncode}:\n{saved.stderr}")
        print(saved.stderr.strip())

        passes = 0
        for i in range(1, args.checks + 1):
            code, report, seconds = check(baseline)
            passes += code == 0
            print(f"check {i:2d}/{args.checks}: exit {code}  {report['summary']}  "
                  f"({closest_call(report)}; {seconds:.1f} s)")
        print(f"same configuration: {passes}/{args.checks} passed")

        code, report, _ = check(baseline, "--mode", "strong")
        print(f"--mode strong: exit {code}  {report['summary']}")
        for row in report["rows"]:
            if row["verdict"] == "regressed":
                print(f"    {row['metric']:<24} {row['class']:<9} "
                      f"baseline {row['baseline']:>12,.0f}  now {row['now']:>12,.0f}  "
                      f"limit {row['limit']:>12,.0f}")

    ok = passes == args.checks and code == 1
    print("PASS" if ok else "FAIL", f"— {passes}/{args.checks} clean checks passed; "
          f"the strong-mode leak {'failed with exit 1' if code == 1 else f'gave exit {code}'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
