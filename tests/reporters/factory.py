"""Hand-built Measurements with chosen figures, for tests that must not depend on a real run.

Real runs give whatever numbers the machine gives; a verdict or a table is tested
against numbers the test chose, so that it can say exactly what must be printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.explain import CycleShape, ExplainReport, PathStep, SourceLine
from autograd_mem.schema.run import (
    Environment,
    GcEvent,
    IterationRecord,
    Measurement,
    Metrics,
    RunResult,
    Timeline,
)

MiB = 1024 * 1024

ENVIRONMENT = Environment(
    python_version="3.11.7",
    python_implementation="CPython",
    numpy_version="1.26.4",
    platform="Linux-x86_64",
    gc_generations=("0", "1", "2"),
    gc_layout="generational",
    gc_threshold=(700, 10, 10),
)

STRONG_EXPLAIN = ExplainReport(
    collections=3,
    garbage_objects=12_000,
    garbage_by_type={"Variable": 4_000, "Square": 3_000, "list": 3_000, "dict": 2_000},
    array_bytes_held=40 * MiB,
    example_cycle=("Variable", "Square", "list", "Variable"),
    shapes=(
        CycleShape(
            types=("Square", "Variable", "list"),
            path=(
                PathStep("Variable", ".creator"),
                PathStep("Square", ".outputs"),
                PathStep("list", "[0]"),
            ),
            cycles=1_000,
            objects=12_000,
            bytes_held_at_most=4 * MiB,
            bytes_freed_total=40 * MiB,
            allocated_at=SourceLine("workloads.py", 42, "step"),
            hint="the engine in strong mode: use weak mode",
        ),
    ),
    bytes_held_at_most=4 * MiB,
    bytes_freed_total=40 * MiB,
)


def _timeline(iterations: int, baseline: int, growth: int, sawtooth: bool) -> Timeline:
    """One sample per iteration: a saw-tooth that the collector cuts every 50 iterations."""
    seconds, rss, iteration = [], [], []
    for i in range(iterations):
        level = growth * ((i % 50) + 1) // 50 if sawtooth else growth
        seconds.append(i * 0.001)
        rss.append(baseline + level)
        iteration.append(i)
    return Timeline(tuple(seconds), tuple(rss), tuple(iteration))


def _census(iterations: int, live_end: int, sawtooth: bool) -> IterationRecord:
    """Live Variables at each iteration's end: 4 more each iteration until a collection."""
    live = tuple(4 * ((i % 50) + 1) if sawtooth else live_end for i in range(iterations))
    return IterationRecord(
        end_seconds=tuple(i * 0.001 for i in range(iterations)),
        live_variables=live,
        live_functions=tuple(max(v - 1, 0) for v in live),
        iteration=tuple(range(iterations)),
        live_variables_min=live,
        live_functions_min=tuple(max(v - 1, 0) for v in live),
    )


def _events(iterations: int, collections: Sequence[int]) -> tuple[GcEvent, ...]:
    """``collections[g]`` collections of generation g, spread evenly over the iterations."""
    events = []
    for generation, count in enumerate(collections):
        for k in range(count):
            iteration = (k + 1) * iterations // (count + 1)
            events.append(GcEvent(generation, 10, 0, 0.0005, iteration, iteration * 0.001))
    return tuple(sorted(events, key=lambda e: e.iteration))


def make_run(
    *,
    peak_growth_bytes: int,
    collected: int,
    iterations: int,
    collections: Sequence[int] = (12, 1, 1),
    live_variables_end: int = 4,
    baseline_rss_bytes: int = 30 * MiB,
    floor_bytes: int | None = 625 * 1024,
    explain: ExplainReport | None = None,
    wall_seconds: float = 0.5,
) -> RunResult:
    per_generation = tuple(collected // max(sum(collections), 1) * c for c in collections)
    metrics = Metrics(
        baseline_rss_bytes=baseline_rss_bytes,
        peak_rss_bytes=baseline_rss_bytes + peak_growth_bytes,
        peak_rss_growth_bytes=peak_growth_bytes,
        end_rss_bytes=baseline_rss_bytes + peak_growth_bytes // 2,
        floor_bytes=floor_bytes,
        live_variables_end=live_variables_end,
        live_functions_end=max(live_variables_end - 1, 0),
        max_live_variables=200 if collected > 0 else live_variables_end * 3 + 8,
        max_live_functions=live_variables_end * 3 + 6,
        gc_collections=tuple(collections),
        gc_collected_per_generation=per_generation,
        gc_uncollectable_per_generation=(0,) * len(collections),
        gc_collected=collected,
        gc_uncollectable=0,
        gc_pause_seconds=0.0005 * sum(collections),
        gc_max_pause_seconds=0.0005,
        wall_seconds=wall_seconds,
        seconds_per_iteration=wall_seconds / iterations,
    )
    return RunResult(
        metrics=metrics,
        timeline=_timeline(iterations, baseline_rss_bytes, peak_growth_bytes, collected > 0),
        gc_events=_events(iterations, collections),
        per_iteration=_census(iterations, live_variables_end, sawtooth=collected > 0),
        peak_rss_source="VmHWM",
        explain=explain,
    )


def make_measurement(
    mode: str = "weak",
    *,
    gc_policy: str = "auto",
    peak_growth_bytes: int | Sequence[int] = 2 * MiB,
    collected: int = 0,
    iterations: int = 200,
    explain: bool = False,
    **run_options: object,
) -> Measurement:
    """A measurement of ``seed``; a sequence of growths makes one run per value (a repeat)."""
    growths = (
        [peak_growth_bytes] if isinstance(peak_growth_bytes, int) else list(peak_growth_bytes)
    )
    config = RunConfig(
        mode=mode, gc_policy=gc_policy, iterations=iterations, repeat=len(growths),
        explain=explain,
    )
    runs = tuple(
        make_run(
            peak_growth_bytes=growth,
            collected=collected,
            iterations=iterations,
            explain=STRONG_EXPLAIN if explain and mode == "strong" else None,
            **run_options,  # type: ignore[arg-type]
        )
        for growth in growths
    )
    return Measurement(config=config, environment=ENVIRONMENT, runs=runs)


def with_metrics(measurement: Measurement, **changes: object) -> Measurement:
    """The same measurement with some metrics of every run replaced."""
    runs = tuple(
        dataclasses.replace(run, metrics=dataclasses.replace(run.metrics, **changes))
        for run in measurement.runs
    )
    return dataclasses.replace(measurement, runs=runs)
