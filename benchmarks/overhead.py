"""What agmem's instrumentation costs the workload it measures: instrumented vs plain, in one run.

Each pair runs the ``seed`` workload at the default settings twice, in fresh
interpreters: once through ``runner.measure`` (gc.callbacks, census per iteration, the
parent's 10 ms RSS sampler) and once in a plain ``python -c`` process that times only
its iterations, with the same warm-up and the same hash seed. The figure compared is
the iterations' wall time, first start to last end, which is what ``wall_seconds``
reports: interpreter start-up, imports and writing the result are not in it, on
either side. The two runs of a pair follow each other, in an order that alternates
from pair to pair, so that a slow spell of the machine hits both sides of a pair
alike; that is why the target (at most 1.05x) is judged on the **median of the pair
ratios**. The ratio of the medians is printed beside it. ``memory_profiler.memory_usage``
wrapped around the same loop is shown for comparison, and agmem with its sampler
ticking once a second, which separates the child's own bookkeeping from the
parent's sampling. Exit status 1 when the target is missed.

Each pair also runs at its own memory *layout*: an environment variable of a
different length (0 to 4080 bytes in 16-byte steps, spread over the pairs), set for
every process of the pair. Why: where the interpreter's and numpy's allocations land
depends on the sizes of everything allocated before them, down to the lengths of
``argv`` and of the environment, and this loop's speed depends on where its arrays
land. Measured on the development VM (2 CPUs, Python 3.11): the same child, same
config, took about 175 ms or about 220 ms depending only on the length of its config
file's directory name (slow for 1-3 and 12-15 characters, fast for 4-11 and 16-19);
the plain process took 134 ms with a 2,000-byte environment variable and 183 ms with
a 1,016-byte one. One fixed layout per side would compare one layout's luck with
another's, so both sides sample many.

    python benchmarks/overhead.py [--pairs 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys

from autograd_mem.measure import runner
from autograd_mem.schema.config import RunConfig

# The bound on agmem's wall time against the same loop uninstrumented.
TARGET_RATIO = 1.05

# The variable whose length sets a pair's layout, the allocator's alignment (the step
# between layouts), and how many distinct layouts there are (a page's worth of steps).
LAYOUT_VARIABLE = "AGMEM_BENCHMARK_LAYOUT"
LAYOUT_STEP_BYTES = 16
LAYOUTS = 4096 // LAYOUT_STEP_BYTES


def layout_bytes(pair: int) -> int:
    """The padding of a pair's layout: successive pairs far apart, all layouts in turn."""
    return LAYOUT_STEP_BYTES * ((pair * 37) % LAYOUTS)


# The same loop in both plain processes; ``{profiler}`` decides how it is wrapped.
PLAIN_LOOP = """
import gc, json, time
from autograd_mem.engine import reference_mode
from autograd_mem.schema.config import RunConfig
from autograd_mem.measure.child import WARMUP_ITERATIONS
from autograd_mem.targets.workload_spec import make_step

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15, help="pairs to run (at least 5)")
    args = parser.parse_args()
    if args.pairs < 5:
        parser.error("at least 5 pairs")
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
        f"{'pair':>4}  {'layout':>6}  {'plain':>9}  {'agmem':>9}  {'ratio':>6}  "
        f"{'agmem, 1 s sampler':>18}  {'memory_profiler':>15}"
    )
    for pair in range(args.pairs):
        # inherited by every process of the pair: plain_seconds and runner copy os.environ
        os.environ[LAYOUT_VARIABLE] = "x" * layout_bytes(pair)
        if pair % 2:
            instrumented.append(runner.measure(config).metrics.wall_seconds)
            plain.append(plain_seconds(config, UNINSTRUMENTED))
        else:
            plain.append(plain_seconds(config, UNINSTRUMENTED))
            instrumented.append(runner.measure(config).metrics.wall_seconds)
        unsampled.append(runner.measure(quiet_sampler).metrics.wall_seconds)
        profiled.append(plain_seconds(config, memory_profiler))
        print(
            f"{pair + 1:>4}  {layout_bytes(pair):>6}  "
            f"{plain[-1] * 1e3:>7.1f}ms  {instrumented[-1] * 1e3:>7.1f}ms  "
            f"{instrumented[-1] / plain[-1]:>5.3f}x  {unsampled[-1] * 1e3:>16.1f}ms  "
            f"{profiled[-1] * 1e3:>13.1f}ms"
        )
    plain_median = statistics.median(plain)
    pair_ratio = statistics.median(i / p for i, p in zip(instrumented, plain, strict=True))

    def summary(name: str, values: list[float]) -> str:
        median = statistics.median(values)
        ratio = median / plain_median
        return f"median {name:<24} {median * 1e3:7.1f} ms   ratio of medians {ratio:.3f}x"

    print(summary("plain", plain))
    print(summary("agmem", instrumented))
    print(summary("agmem, 1 s sampler", unsampled))
    print(summary("memory_profiler", profiled))
    verdict = "met" if pair_ratio <= TARGET_RATIO else "MISSED"
    print(
        f"agmem / plain, median of {args.pairs} pair ratios: {pair_ratio:.3f}x "
        f"(target <= {TARGET_RATIO}x: {verdict})"
    )
    return 0 if pair_ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
