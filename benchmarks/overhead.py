"""What agmem's instrumentation costs the workload it measures: instrumented vs plain, in one run.

Each pair runs the ``seed`` workload at the default settings twice, in fresh
interpreters: once through ``runner.measure`` (gc.callbacks, census per iteration, the
parent's 10 ms RSS sampler) and once in a plain ``python -c`` process that times only
its iterations, with the same warm-up and the same hash seed. The figure compared is
the iterations' wall time, first start to last end, which is what ``wall_seconds``
reports. Pairs are interleaved so that the machine's noise hits both sides alike; the
ratio of medians is printed, with ``memory_profiler.memory_usage`` wrapped around the
same loop for comparison. A third column runs agmem with its sampler ticking once a
second, which separates the child's own bookkeeping from the parent's sampling.

    python benchmarks/overhead.py [--pairs 9]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys

from autograd_mem import runner
from autograd_mem.result import RunConfig

# The same loop in both plain processes; ``{profiler}`` decides how it is wrapped.
PLAIN_LOOP = """
import gc, json, time
from autograd_mem.engine import reference_mode
from autograd_mem.result import RunConfig
from autograd_mem.child import WARMUP_ITERATIONS
from autograd_mem.workloads import make_step

config = RunConfig(**json.loads({config!r}))

def iterations():
    with reference_mode(config.mode):
        step = make_step(config)
        for i in range(WARMUP_ITERATIONS):
            step(i)
        del step
        gc.collect()
        step = make_step(config)
        gc.collect()
        start = time.monotonic()
        for i in range(config.iterations):
            step(i)
        return time.monotonic() - start

{profiler}
"""

UNINSTRUMENTED = "print(iterations())"
WITH_MEMORY_PROFILER = """
from memory_profiler import memory_usage
samples, seconds = memory_usage((iterations, (), {{}}), interval={interval}, retval=True)
print(seconds)
"""


def plain_seconds(config: RunConfig, profiler: str) -> float:
    """Run the loop in a fresh ``python -c`` and return the seconds its iterations took."""
    source = PLAIN_LOOP.format(config=json.dumps(dataclasses.asdict(config)), profiler=profiler)
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=9, help="pairs to run (at least 5)")
    args = parser.parse_args()
    config = RunConfig()  # the defaults: seed, weak, size 10,000, depth 3, 1,000 iterations
    quiet_sampler = dataclasses.replace(config, sample_interval_seconds=1.0)
    memory_profiler = WITH_MEMORY_PROFILER.format(interval=config.sample_interval_seconds)

    plain: list[float] = []
    instrumented: list[float] = []
    unsampled: list[float] = []
    profiled: list[float] = []
    print(
        f"seed, mode={config.mode}, gc={config.gc_policy}, size={config.size:,}, "
        f"depth={config.depth}, iterations={config.iterations:,}; "
        f"python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    print(
        f"{'pair':>4}  {'plain':>9}  {'agmem':>9}  {'ratio':>6}  "
        f"{'agmem, 1 s sampler':>18}  {'memory_profiler':>15}"
    )
    for pair in range(args.pairs):
        plain.append(plain_seconds(config, UNINSTRUMENTED))
        instrumented.append(runner.measure(config).metrics.wall_seconds)
        unsampled.append(runner.measure(quiet_sampler).metrics.wall_seconds)
        profiled.append(plain_seconds(config, memory_profiler))
        print(
            f"{pair + 1:>4}  {plain[-1] * 1e3:>7.1f}ms  {instrumented[-1] * 1e3:>7.1f}ms  "
            f"{instrumented[-1] / plain[-1]:>5.3f}x  {unsampled[-1] * 1e3:>16.1f}ms  "
            f"{profiled[-1] * 1e3:>13.1f}ms"
        )
    plain_median = statistics.median(plain)
    ratios = [i / p for i, p in zip(instrumented, plain, strict=True)]

    def summary(name: str, values: list[float]) -> str:
        median = statistics.median(values)
        ratio = median / plain_median
        return f"median {name:<24} {median * 1e3:7.1f} ms   ratio of medians {ratio:.3f}x"

    print(summary("plain", plain))
    print(
        summary("agmem", instrumented)
        + f" (median of pair ratios {statistics.median(ratios):.3f}x; target <= 1.05x)"
    )
    print(summary("agmem, 1 s sampler", unsampled))
    print(summary("memory_profiler", profiled))


if __name__ == "__main__":
    main()
