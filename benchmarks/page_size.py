"""How big the report page gets for a long run: a million iterations must stay under 1 MiB.

Run: ``python benchmarks/page_size.py`` (about 30 s on a 2-core machine). Measures one
run of the built-in ``seed`` workload in strong mode (a collection every few dozen
iterations: the most collections a run of this length has) with ``agmem run --html``
and ``--format json`` side by side, and prints both files' sizes. The page carries the
bounded series (at most 4,096 points each) and every collection, delta-encoded, so it
stays a fraction of the JSON document.

Exit status: 0 if the page is under 1 MiB, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

LIMIT_BYTES = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1_000_000)
    parser.add_argument("--modes", default="strong",
                        help="one mode (a run page) or several, comma-separated (a comparison)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agmem-page-size-") as folder:
        page, document = Path(folder) / "page.html", Path(folder) / "run.json"
        modes = args.modes.split(",")
        command = (["run", "--mode", modes[0]] if len(modes) == 1
                   else ["compare", "--modes", args.modes])
        subprocess.run(
            [sys.executable, "-m", "autograd_mem", *command, "--size", "100",
             "--iterations", str(args.iterations), "-q", "--format", "json",
             "-o", str(document), "--html", str(page)],
            check=True,
        )
        data = json.loads(document.read_text())
        runs = data.get("measurements", [data])
        collections = sum(len(run["gc_events"]) for run in runs)
        page_bytes, json_bytes = page.stat().st_size, document.stat().st_size
    print(f"{args.iterations:,} iterations, {', '.join(modes)}: {collections:,} collections")
    print(f"page   {page_bytes:>12,} bytes ({page_bytes / LIMIT_BYTES:.2f} MiB)")
    print(f"json   {json_bytes:>12,} bytes ({json_bytes / LIMIT_BYTES:.2f} MiB)")
    print(f"page ÷ json: {page_bytes / json_bytes:.2f}")
    passed = page_bytes < LIMIT_BYTES
    print(f"{'PASS' if passed else 'FAIL'}: the page is {'under' if passed else 'over'} 1 MiB")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
