"""Are the figures ``agmem check`` judges exactly really the same run after run? A tally.

Runs a built-in workload (``seed`` unless ``--workload``; the defaults otherwise,
with ``tracemalloc`` on) in ``--runs`` fresh children per reference mode and tallies
each figure the regression gate compares exactly: the ``tracemalloc`` peak and current
bytes, the live objects at the end and at their highest, the collections per
generation and the objects collected. A deterministic figure has one value in the
tally; the script exits 1 if any has more.

    python benchmarks/determinism.py [--runs 20] [--modes weak strong] [--workload mlp]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter

from autograd_mem.measure import runner
from autograd_mem.schema.config import RunConfig

FIGURES = (
    "tracemalloc_peak_bytes",
    "tracemalloc_current_bytes",
    "live_variables_end",
    "live_functions_end",
    "max_live_variables",
    "max_live_functions",
    "gc_collections",
    "gc_collected_per_generation",
    "gc_uncollectable",
)


def tally(config: RunConfig) -> dict[str, Counter[object]]:
    """Each figure's values over ``config.repeat`` fresh children, counted."""
    measurement = runner.measure(config)
    return {
        name: Counter(getattr(run.metrics, name) for run in measurement.runs) for name in FIGURES
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh children per mode")
    parser.add_argument("--modes", nargs="+", default=["weak", "strong"])
    parser.add_argument("--workload", default="seed")
    args = parser.parse_args()
    varying = 0
    for mode in args.modes:
        config = dataclasses.replace(
            RunConfig(), workload=args.workload, mode=mode, tracemalloc=True, repeat=args.runs
        )
        print(
            f"{args.workload}, mode={mode}, size={config.size:,}, depth={config.depth}, "
            f"iterations={config.iterations:,}, tracemalloc on: {args.runs} runs; "
            f"python {sys.version.split()[0]}"
        )
        for name, counts in tally(config).items():
            values = ", ".join(f"{value} x{count}" for value, count in counts.most_common())
            verdict = "same every run" if len(counts) == 1 else "VARIES"
            varying += len(counts) > 1
            print(f"  {name:<28} {verdict:<15} {values}")
    return 1 if varying else 0


if __name__ == "__main__":
    sys.exit(main())
