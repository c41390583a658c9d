"""What ``pytest --agmem`` costs a public test suite, against plain pytest, in one interleaved run.

The suite is downloaded from PyPI as an sdist (``pip download --no-binary :all:``) and
its tests run from the unpacked source, offline. Each round runs every variant once, in
an order that rotates from round to round, so a slow spell of the (shared) machine hits
the variants alike; each variant's figure is the **median of its per-round ratios** to
that round's plain run (wall time of the whole ``python -m pytest`` process):

- ``--agmem``: the default (young collections around each test);
- ``--agmem --agmem-full``: today's full detail (a full collection before and after
  every test);
- ``--memray`` (pytest-memray), when it is importable;
- ``-X tracemalloc=1``: tracing every allocation of the session, nothing else.

Then the figures themselves, from the last round: the default's against the full
detail's (the same top tests by peak growth and by objects collected, the same cycle
paths and source lines), and every per-test peak of at least 1 MiB against an
independent ``tracemalloc`` measurement of the same test (a 20-line plugin of this
script, in a run of its own without agmem): within 5%. The outcomes of every run must be
the plain run's. Exit status 1 when a target is missed (at most 2x for ``--agmem``).

    python benchmarks/pytest_cost.py [--suite toolz|boltons] [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

SUITES = {
    # name: (requirement, tests path inside the unpacked sdist)
    "toolz": ("toolz==1.2.0", "toolz/tests"),
    "boltons": ("boltons==26.2.0", "tests"),
}
TARGET_RATIO = 2.0
PEAK_TOLERANCE = 0.05
BIG_PEAK_BYTES = 1024**2
TOP = 5
# Plugins that would make the runs differ from a CI user's plain run, or write files.
COMMON = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly")

# The independent measure: tracemalloc's peak above the start of each test's call, by a
# plugin that knows nothing of agmem. It collects first: when a test's garbage is freed
# depends on the collector's counts at its start (a test making cyclic garbage peaked at
# 1.84 MiB or 1.61 MiB in two plain runs of toolz, depending on what ran before it), and
# a collection resets them, as agmem's does.
INDEPENDENT_PLUGIN = '''
import gc, json, os, tracemalloc
import pytest

PEAKS = {}

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    gc.collect()
    tracemalloc.start(1)
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    try:
        return (yield)
    finally:
        PEAKS[item.nodeid] = max(tracemalloc.get_traced_memory()[1] - start, 0)
        tracemalloc.stop()

def pytest_sessionfinish(session):
    with open(os.environ["AGMEM_BENCH_PEAKS"], "w") as out:
        json.dump(PEAKS, out)
'''


def fetch_suite(requirement: str, workdir: Path) -> Path:
    """Download the sdist and unpack it; the folder it unpacked to."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         requirement, "-d", str(workdir)],
        check=True,
    )
    (archive,) = workdir.glob("*.tar.gz")
    with tarfile.open(archive) as sdist:
        if sys.version_info >= (3, 12):
            sdist.extractall(workdir, filter="data")
        else:
            sdist.extractall(workdir)  # an sdist just downloaded from PyPI
    (source,) = (path for path in workdir.iterdir() if path.is_dir())
    return source


def outcomes(text: str) -> str:
    """The session's counts ("187 passed, 1 skipped"), timing removed; the last line when
    no line has them (a session that ended early)."""
    lines = text.strip().splitlines() or [""]
    counted = [line for line in lines if re.search(r"\d+ (passed|failed|error)", line)]
    return re.sub(r" in [\d.]+s.*$", "", (counted or lines)[-1].strip("= "))


def cpu_seconds() -> float:
    """CPU time of the children waited for so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(source: Path, tests: str, prefix: list[str], args: list[str],
        env: dict[str, str]) -> tuple[float, float, str]:
    """One pytest process: its wall time, its CPU time and its outcome line."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    completed = subprocess.run(
        [sys.executable, *prefix, "-m", "pytest", *COMMON, *args, tests],
        cwd=source, env=env, capture_output=True, text=True,
    )
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    return elapsed, cpu, outcomes(completed.stdout)


def variants(workdir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each variant: the interpreter's arguments and pytest's."""
    found = {
        "plain": ([], []),
        "--agmem": ([], ["--agmem", "--agmem-json", str(workdir / "young.json")]),
        "--agmem --agmem-full": (
            [], ["--agmem", "--agmem-full", "--agmem-json", str(workdir / "full.json")]
        ),
        "-X tracemalloc=1": (["-X", "tracemalloc=1"], []),
    }
    if importlib.util.find_spec("pytest_memray") is not None:
        found["--memray"] = ([], ["--memray"])
    return found


def tests_of(path: Path) -> dict[str, dict]:
    return {test["nodeid"]: test for test in json.loads(path.read_text())["tests"]}


def top(tests: dict[str, dict], figure: str) -> list[str]:
    ranked = sorted((t for t in tests.values() if t["figures"][figure] > 0),
                    key=lambda t: -t["figures"][figure])
    return [t["nodeid"] for t in ranked[:TOP]]


def cycle_findings(tests: dict[str, dict]) -> dict[str, list[tuple]]:
    """Per test, its shapes' paths and source lines."""
    found = {}
    for nodeid, test in tests.items():
        shapes = test["figures"]["shapes"]
        if shapes:
            found[nodeid] = [
                (tuple((s["type"], s["edge"]) for s in shape["path"]),
                 None if shape["allocated_at"] is None
                 else (shape["allocated_at"]["file"], shape["allocated_at"]["line"]))
                for shape in shapes
            ]
    return found


def compare_figures(workdir: Path) -> list[str]:
    """What differs between the default's figures, the full detail's and tracemalloc's."""
    young, full = tests_of(workdir / "young.json"), tests_of(workdir / "full.json")
    peaks = json.loads((workdir / "independent.json").read_text())
    problems = []
    for figure in ("peak_growth_bytes", "collected"):
        if top(young, figure) != top(full, figure):
            problems.append(f"top {TOP} by {figure}: {top(young, figure)} != {top(full, figure)}")
    if cycle_findings(young) != cycle_findings(full):
        problems.append("cycle paths or source lines differ from --agmem-full's")
    big = {nodeid: peak for nodeid, peak in peaks.items() if peak >= BIG_PEAK_BYTES}
    for nodeid, peak in big.items():
        measured = young[nodeid]["figures"]["peak_growth_bytes"]
        if abs(measured - peak) > PEAK_TOLERANCE * peak:
            problems.append(f"{nodeid}: peak {measured:,} B, tracemalloc alone {peak:,} B")
    print(f"\nFigures: top {TOP} tests by peak growth and by objects collected, "
          f"{len(cycle_findings(full))} tests' cycle paths and lines compared with "
          f"--agmem-full; {len(big)} tests with a peak of 1 MiB or more compared with "
          "tracemalloc alone (5%).")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="toolz")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    requirement, tests = SUITES[options.suite]
    with tempfile.TemporaryDirectory(prefix="agmem-pytest-cost-") as scratch:
        workdir = Path(scratch)
        source = fetch_suite(requirement, workdir)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        kinds = variants(workdir)
        names = list(kinds)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        seen: dict[str, set[str]] = {name: set() for name in names}
        for round_index in range(options.rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                prefix, args = kinds[name]
                elapsed, cpu_used, outcome = run(source, tests, prefix, args, env)
                times[name].append(elapsed)
                cpu[name].append(cpu_used)
                seen[name].add(outcome)
        plugin = workdir / "independent_peaks.py"
        plugin.write_text(INDEPENDENT_PLUGIN)
        run(source, tests, [], ["-p", "independent_peaks"],
            {**env, "PYTHONPATH": str(workdir), "AGMEM_BENCH_PEAKS":
             str(workdir / "independent.json")})
        return report(options.suite, requirement, options.rounds, (times, cpu), seen, workdir)


def median_ratio(values: list[float], plain: list[float]) -> float:
    return statistics.median(v / p for v, p in zip(values, plain, strict=True))


def report(suite: str, requirement: str, rounds: int,
           measured: tuple[dict[str, list[float]], dict[str, list[float]]],
           seen: dict[str, set[str]], workdir: Path) -> int:
    """The table (wall and CPU time, each as the median of per-round ratios to plain)."""
    times, cpu = measured
    (plain_outcome,) = seen["plain"]
    print(f"{requirement} from PyPI ({plain_outcome}), {rounds} interleaved rounds, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"| {suite} | median wall s | wall ratio to plain | CPU ratio to plain "
          "| same outcomes |")
    print("|---|---|---|---|---|")
    missed = []
    for name, values in times.items():
        ratio = median_ratio(values, times["plain"])
        same = seen[name] == {plain_outcome}
        print(f"| `{name}` | {statistics.median(values):.2f} | {ratio:.2f}x | "
              f"{median_ratio(cpu[name], cpu['plain']):.2f}x | "
              f"{'yes' if same else 'NO: ' + ', '.join(sorted(seen[name]))} |")
        if not same:
            missed.append(f"{name}: outcomes differ")
        if name == "--agmem" and ratio > TARGET_RATIO:
            missed.append(f"--agmem: {ratio:.2f}x > {TARGET_RATIO}x")
    missed += compare_figures(workdir)
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
