"""``agmem check`` on a public package's real release-to-release change, and on a leak put in it.

The gate's promise is that it fails on regressions, not on changes (issue 23). This
tries it as a user of a PyPI package would, on code nobody here wrote:

1. Two consecutive releases of a pure-Python package are downloaded as sdists
   (``pip download --no-binary :all:``, through pip's configured index) and unpacked.
2. A small job uses the package the way an application does (``JOB`` below). A
   baseline is saved with the older release on ``PYTHONPATH``
   (``agmem baseline save``, 3 runs).
3. The job is checked ``--checks`` times with the newer release: a real upgrade, with
   the release's own changes. Every check should pass: no false alarm.
4. A leak is put into a copy of the newer release: a module-level cache in ``groupby``
   that keeps every result, rendered (``LEAK``), as a memoising change might. Checked
   ``--checks`` times, every check should fail, and the causes it prints should name
   the cache's line in the package.

Prints each step's outcomes and exits 1 when a false alarm or a missed leak is seen.

    python benchmarks/gate_public.py [--package toolz] [--checks 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGES = {
    # name: (older release, newer release, the file and line the leak goes after)
    "toolz": ("1.1.0", "1.2.0", "toolz/itertoolz.py", "        rv[k] = v.__self__\n"),
}
LEAK_CACHE = "_AGMEM_TRIAL_CACHE = []\n"
# Each result kept, rendered: the cache's own bytes are allocated on its line. (A cache
# keeping the result itself holds the caller's records: the causes then name the line
# that made the records, job.py's, which is where those bytes were allocated.)
LEAK = "    _AGMEM_TRIAL_CACHE.append(repr(rv))  # the trial's leak: every result kept\n"

# The job: records grouped, counted, merged and piped through curried and composed
# functions, batch after batch, as an application's report would.
JOB = '''
import random
import sys

from toolz import (compose, concat, countby, curry, frequencies, groupby, merge_with,
                   partition_all, pipe, sliding_window, valmap)
from toolz.curried import filter as cfilter, map as cmap

rng = random.Random(7)
BATCHES = int(sys.argv[1]) if len(sys.argv) > 1 else 300


@curry
def scaled(factor, record):
    return {**record, "amount": record["amount"] * factor}


def batch(n):
    return [{"id": i, "city": rng.choice("ABCDEFGH"), "amount": rng.random() * 100,
             "tags": rng.sample("abcdefgh", 3)} for i in range(n)]


totals = {}
normalise = compose(dict, sorted, dict.items)
for _ in range(BATCHES):
    records = batch(400)
    by_city = groupby("city", records)
    sums = valmap(lambda rs: sum(r["amount"] for r in rs), by_city)
    totals = merge_with(sum, totals, sums)
    tags = frequencies(concat(r["tags"] for r in records))
    big = pipe(records, cmap(scaled(1.1)), cfilter(lambda r: r["amount"] > 50), list)
    windows = sum(1 for _ in sliding_window(3, big))
    chunks = countby(len, partition_all(7, records))
    normalise(tags)
print(len(totals), round(sum(totals.values())))
'''


def download(package: str, version: str, folder: Path) -> Path:
    """The release's unpacked sdist (its package importable from the folder returned)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
         f"{package}=={version}", "-d", str(folder)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    (archive,) = folder.glob(f"{package}-{version}.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder / f"{package}-{version}"


def agmem(args: list[str], source: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [sys.executable, "-m", "autograd_mem", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=600,
    )


def checks(times: int, source: Path, cwd: Path) -> list[dict[str, object]]:
    """``times`` checks against the baseline with ``source`` importable: each one's JSON."""
    found = []
    for _ in range(times):
        result = agmem(["check", "--baseline", "base.json", "--format", "json"], source, cwd)
        if result.returncode not in (0, 1):
            raise SystemExit(f"agmem check failed: {result.stderr.strip()}")
        found.append(json.loads(result.stdout))
    return found


def leaky_copy(release: Path, folder: Path, file: str, after: str) -> tuple[Path, int]:
    """A copy of the release with the leak put after ``after`` in ``file``; the leak's line."""
    copy = folder / (release.name + "-leaky")
    shutil.copytree(release, copy)
    path = copy / file
    text = path.read_text()
    if after not in text:
        raise SystemExit(f"{file}: the line the leak goes after was not found")
    text = LEAK_CACHE + text.replace(after, after + LEAK, 1)
    path.write_text(text)
    return copy, text.splitlines().index(LEAK.rstrip("\n")) + 1


def describe(report: dict[str, object]) -> str:
    regressed = report.get("regressed") or []
    causes = report.get("causes") or []
    said = "; ".join(
        f"{c['kind']} {c['what']} {c['bytes']:,} B at {c['line'] or '?'}"
        for c in causes  # type: ignore[union-attr]
    )
    return f"passed={report['passed']} regressed={regressed} causes: {said or '-'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", choices=sorted(PACKAGES), default="toolz")
    parser.add_argument("--checks", type=int, default=5)
    options = parser.parse_args()
    older, newer, file, after = PACKAGES[options.package]
    with tempfile.TemporaryDirectory(prefix="agmem-gate-public-") as scratch:
        folder = Path(scratch)
        old_source = download(options.package, older, folder)
        new_source = download(options.package, newer, folder)
        leaky_source, leak_line = leaky_copy(new_source, folder, file, after)
        (folder / "job.py").write_text(JOB)
        saved = agmem(["baseline", "save", "base.json", "--", "job.py"], old_source, folder)
        if saved.returncode != 0:
            raise SystemExit(f"agmem baseline save failed: {saved.stderr.strip()}")
        print(f"baseline: {options.package} {older}, job.py (3 runs)")
        upgrade = checks(options.checks, new_source, folder)
        passes = sum(1 for report in upgrade if report["passed"])
        print(f"upgrade to {newer}: {passes}/{len(upgrade)} checks passed")
        for report in upgrade:
            if not report["passed"]:
                print("  false alarm:", describe(report))
        leaked = checks(options.checks, leaky_source, folder)
        caught = [report for report in leaked if not report["passed"]]
        where = f"{file}:{leak_line}"
        named = [report for report in caught if where in json.dumps(report.get("causes"))]
        print(f"{newer} with a growing cache in groupby ({where}): caught "
              f"{len(caught)}/{len(leaked)}, the cache's line among the causes in "
              f"{len(named)}/{len(caught)}")
        for report in leaked[:1]:
            print("  first check:", describe(report))
        ok = passes == len(upgrade) and len(caught) == len(leaked) == len(named)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
