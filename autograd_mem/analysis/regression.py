"""The verdict of ``agmem check``: baseline, new measurement and limits in, one row per metric out.

Pure: nothing here runs, reads or prints. Each row says how its metric is judged,
because a gate that cries wolf gets switched off and one that misses a leak is worse:

- ``exact``: figures that are deterministic for one interpreter and configuration —
  live Variables and Functions (at the end and at most), objects the collector freed
  or could not free, collections per generation, the ``tracemalloc`` peak of a
  built-in workload. They must not grow at all above the largest value the baseline's
  runs saw. (A user workload's ``tracemalloc`` peak is judged with the tolerance: it
  can move by a few dozen bytes from run to run, see ``_baseline_rows``.)
- ``tolerance``: RSS figures, which move with the allocator and the machine. They fail
  only when the growth exceeds both ``tolerance`` × baseline and ``min_delta_bytes``,
  so a tiny baseline does not turn a page of noise into a failure. Wall time joins
  them only when ``max_slowdown`` is given (see ``Limits``).
- ``budget``: absolute ceilings that need no baseline (``--max-peak-growth``,
  ``--max-live-objects``, ``--max-collected``).
- ``info``: shown for context, never failing (baseline RSS, the floor, pause times,
  wall time unless gated).

When the baseline came from another Python or another collector layout, the exact
figures are not expected to match any more: they are judged with the tolerance
instead, collections per generation become ``info`` if the generations or thresholds
differ, and the report says so plainly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from autograd_mem.errors import EXIT_OK, EXIT_REGRESSION
from autograd_mem.schema.baseline import Baseline
from autograd_mem.schema.codec import header, to_plain
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Environment, Measurement, Metrics
from autograd_mem.targets.workloads import parse_spec

EXACT = "exact"
TOLERANCE = "tolerance"
BUDGET = "budget"
INFO = "info"
CLASSES = (EXACT, TOLERANCE, BUDGET, INFO)

DEFAULT_TOLERANCE = 0.10
DEFAULT_MIN_DELTA_BYTES = 1024**2


@dataclass(frozen=True)
class Limits:
    """How much a new measurement may differ before it counts as a regression.

    Wall time is reported but not gated unless ``max_slowdown`` is set: on a shared CI
    runner the same job's time varies by tens of percent, and a memory gate that fails
    on a slow neighbour would soon be ignored.
    """

    tolerance: float = DEFAULT_TOLERANCE
    min_delta_bytes: int = DEFAULT_MIN_DELTA_BYTES
    max_slowdown: float | None = None  # wall_seconds may be at most this × baseline
    max_peak_growth_bytes: int | None = None
    max_live_objects: int | None = None  # live Variables + Functions at the end
    max_collected: int | None = None  # objects the collector had to free

    @property
    def budgets(self) -> bool:
        return any(
            v is not None
            for v in (self.max_peak_growth_bytes, self.max_live_objects, self.max_collected)
        )


@dataclass(frozen=True)
class MetricCheck:
    """One metric: baseline and new value, the largest value that passes, and the verdict."""

    metric: str
    unit: str  # "bytes" | "count" | "seconds"
    judged: str  # one of CLASSES
    baseline: float | None
    now: float | None
    limit: float | None  # the largest passing value; None when not gated
    passed: bool | None  # None for info rows
    note: str = ""

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.now is None:
            return None
        return self.now - self.baseline

    @property
    def verdict(self) -> str:
        """``regressed`` / ``over budget`` / ``improved`` / ``ok`` / ``info``."""
        if self.passed is None:
            return "info"
        if not self.passed:
            return "over budget" if self.judged == BUDGET else "regressed"
        change = self.change
        if self.judged == EXACT and change is not None and change < 0:
            return "improved"
        return "ok"


@dataclass(frozen=True)
class CheckReport:
    """The verdict of one ``agmem check``: every metric's row and what was compared."""

    rows: tuple[MetricCheck, ...]
    limits: Limits
    measurement: Measurement  # the new one
    baseline_path: str | None = None
    baseline_config: RunConfig | None = None
    baseline_environment: Environment | None = None
    baseline_runs: int | None = None
    environment_differences: tuple[str, ...] = ()
    config_differences: tuple[str, ...] = ()

    @property
    def config(self) -> RunConfig:
        return self.measurement.config

    @property
    def environment(self) -> Environment:
        return self.measurement.environment

    @property
    def failures(self) -> tuple[MetricCheck, ...]:
        return tuple(row for row in self.rows if row.passed is False)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.passed else EXIT_REGRESSION

    @property
    def summary(self) -> str:
        """One line in plain words: what held, or which metrics regressed."""
        if self.passed:
            gated = sum(1 for row in self.rows if row.passed is not None)
            return f"PASS: all {gated} gated metrics hold"
        parts = []
        for verdict in ("regressed", "over budget"):
            names = [row.metric for row in self.failures if row.verdict == verdict]
            if names:
                plural = "s" if len(names) != 1 else ""
                parts.append(f"{len(names)} metric{plural} {verdict}: {', '.join(names)}")
        return "FAIL: " + "; ".join(parts)


def environment_differences(baseline: Environment, now: Environment) -> tuple[str, ...]:
    """What makes the interpreters' deterministic counts incomparable, in plain words."""
    differences = []
    if (baseline.python_implementation, baseline.python_version) != (
        now.python_implementation,
        now.python_version,
    ):
        differences.append(
            f"Python {baseline.python_implementation} {baseline.python_version} "
            f"→ {now.python_implementation} {now.python_version}"
        )
    if baseline.gc_layout != now.gc_layout or baseline.gc_generations != now.gc_generations:
        differences.append(f"collector layout {baseline.gc_layout} → {now.gc_layout}")
    if baseline.gc_threshold != now.gc_threshold:
        differences.append(
            f"collector thresholds {_tuple(baseline.gc_threshold)} → {_tuple(now.gc_threshold)}"
        )
    return tuple(differences)


def config_differences(baseline: RunConfig, now: RunConfig) -> tuple[str, ...]:
    """Options changed on the command line against the baseline's configuration."""
    return tuple(
        f"{f.name} {getattr(baseline, f.name)!r} → {getattr(now, f.name)!r}"
        for f in fields(RunConfig)
        if getattr(baseline, f.name) != getattr(now, f.name)
    )


def check(
    measurement: Measurement,
    baseline: Baseline | None,
    limits: Limits,
    *,
    baseline_path: str | None = None,
) -> CheckReport:
    """Judge a new measurement against a baseline (optional) and absolute budgets."""
    now = measurement.metrics
    rows: list[MetricCheck] = []
    env_diff: tuple[str, ...] = ()
    if baseline is not None:
        env_diff = environment_differences(baseline.environment, measurement.environment)
        rows.extend(_baseline_rows(baseline, measurement, limits, relaxed=bool(env_diff)))
    else:
        rows.extend(_info_rows(measurement))
    rows.extend(_budget_rows(now, limits))
    return CheckReport(
        rows=tuple(rows),
        limits=limits,
        measurement=measurement,
        baseline_path=baseline_path,
        baseline_config=baseline.config if baseline else None,
        baseline_environment=baseline.environment if baseline else None,
        baseline_runs=baseline.runs if baseline else None,
        environment_differences=env_diff,
        config_differences=config_differences(baseline.config, measurement.config)
        if baseline
        else (),
    )


# Which class each scalar metric belongs to against a baseline, and its unit, in report order.
_SCALARS: tuple[tuple[str, str, str], ...] = (
    ("peak_rss_growth_bytes", "bytes", TOLERANCE),
    ("peak_rss_bytes", "bytes", TOLERANCE),
    ("end_rss_bytes", "bytes", TOLERANCE),
    ("children_peak_rss_bytes", "bytes", TOLERANCE),  # a program's workers (sampled)
    ("uss_end_bytes", "bytes", TOLERANCE),
    ("baseline_rss_bytes", "bytes", INFO),
    ("floor_bytes", "bytes", INFO),
    ("tracemalloc_peak_bytes", "bytes", EXACT),
    ("tracemalloc_current_bytes", "bytes", INFO),
    ("live_variables_end", "count", EXACT),
    ("live_functions_end", "count", EXACT),
    ("max_live_variables", "count", EXACT),
    ("max_live_functions", "count", EXACT),
    ("gc_collections", "count", EXACT),  # expanded per generation
    ("gc_collected", "count", EXACT),
    ("gc_uncollectable", "count", EXACT),
    ("gc_pause_seconds", "seconds", INFO),
    ("gc_max_pause_seconds", "seconds", INFO),
    ("wall_seconds", "seconds", INFO),
    ("seconds_per_iteration", "seconds", INFO),
)


def _baseline_rows(
    baseline: Baseline, measurement: Measurement, limits: Limits, *, relaxed: bool
) -> list[MetricCheck]:
    rows: list[MetricCheck] = []
    base, base_max, now = baseline.metrics, baseline.metrics_max, measurement.metrics
    for name, unit, judged in _SCALARS:
        if name == "gc_collections":
            rows.extend(_generation_rows(baseline, measurement, limits, relaxed=relaxed))
            continue
        b, b_max, n = getattr(base, name), getattr(base_max, name), getattr(now, name)
        if b is None or n is None:
            if b is not None or n is not None:
                note = "not measured in the baseline" if b is None else "not measured now"
                rows.append(MetricCheck(name, unit, INFO, b, n, None, None, note))
            continue
        if name == "wall_seconds" and limits.max_slowdown is not None:
            limit = b * limits.max_slowdown
            rows.append(MetricCheck(name, unit, TOLERANCE, b, n, limit, n <= limit))
            continue
        if name == "seconds_per_iteration" and measurement.config.program is not None:
            continue  # a program is one run: its wall time, already shown
        if name == "tracemalloc_peak_bytes" and (
            measurement.config.program is not None
            or not parse_spec(measurement.config.workload).is_builtin
        ):
            # Exact for the built-in workloads (the same bytes run after run), but code
            # that opens text files or looks up attributes by names made at run time
            # leaves a few dozen bytes more or less in CPython's type attribute cache,
            # depending on where the name string landed in memory: noise, not a leak.
            row = _judge(name, unit, TOLERANCE, b, b_max, n, limits, relaxed=relaxed)
            note = "user workload or program: varies by a few bytes"
            rows.append(dataclasses.replace(row, note=note))
            continue
        rows.append(_judge(name, unit, judged, b, b_max, n, limits, relaxed=relaxed))
    return rows


def _generation_rows(
    baseline: Baseline, measurement: Measurement, limits: Limits, *, relaxed: bool
) -> list[MetricCheck]:
    """Collections per generation, matched by the generations' labels."""
    base_env, env = baseline.environment, measurement.environment
    labels = env.gc_generations
    comparable = (
        base_env.gc_generations == env.gc_generations and base_env.gc_threshold == env.gc_threshold
    )
    rows = []
    for i, count in enumerate(measurement.metrics.gc_collections):
        name = f"gc_collections[{labels[i] if i < len(labels) else i}]"
        if not comparable or i >= len(baseline.metrics.gc_collections):
            rows.append(
                MetricCheck(name, "count", INFO, None, count, None, None, "collector differs")
            )
            continue
        rows.append(
            _judge(
                name,
                "count",
                EXACT,
                baseline.metrics.gc_collections[i],
                baseline.metrics_max.gc_collections[i],
                count,
                limits,
                relaxed=relaxed,
            )
        )
    return rows


def _judge(
    name: str,
    unit: str,
    judged: str,
    base: float,
    base_max: float,
    now: float,
    limits: Limits,
    *,
    relaxed: bool,
) -> MetricCheck:
    if judged == INFO:
        return MetricCheck(name, unit, INFO, base, now, None, None)
    note = ""
    if judged == EXACT and not relaxed:
        # The largest value any baseline run saw: for a truly deterministic metric it is
        # the median itself; if the baseline's runs disagreed, say so rather than flap.
        if base_max != base:
            note = "baseline runs disagreed"
        return MetricCheck(name, unit, EXACT, base, now, base_max, now <= base_max, note)
    if judged == EXACT:
        note = "exact → tolerance: environment differs"
    limit = tolerance_limit(base, unit, limits)
    return MetricCheck(name, unit, TOLERANCE, base, now, limit, now <= limit, note)


def tolerance_limit(base: float, unit: str, limits: Limits) -> float:
    """The largest passing value: growth must exceed both the relative and absolute margin to fail.

    ``min_delta_bytes`` is a size, so it applies to byte metrics only; a count under
    the tolerance gets the relative margin alone.
    """
    relative = limits.tolerance * max(base, 0)
    absolute = limits.min_delta_bytes if unit == "bytes" else 0
    return base + max(relative, absolute)


def _budget_rows(now: Metrics, limits: Limits) -> list[MetricCheck]:
    rows = []
    if limits.max_peak_growth_bytes is not None:
        value = now.peak_rss_growth_bytes
        rows.append(
            MetricCheck(
                "peak_rss_growth_bytes",
                "bytes",
                BUDGET,
                None,
                value,
                limits.max_peak_growth_bytes,
                value <= limits.max_peak_growth_bytes,
            )
        )
    if limits.max_live_objects is not None:
        value = now.live_variables_end + now.live_functions_end
        rows.append(
            MetricCheck(
                "live_objects_end",
                "count",
                BUDGET,
                None,
                value,
                limits.max_live_objects,
                value <= limits.max_live_objects,
                "Variables + Functions",
            )
        )
    if limits.max_collected is not None:
        value = now.gc_collected
        rows.append(
            MetricCheck(
                "gc_collected",
                "count",
                BUDGET,
                None,
                value,
                limits.max_collected,
                value <= limits.max_collected,
            )
        )
    return rows


def _info_rows(measurement: Measurement) -> list[MetricCheck]:
    """Without a baseline, the measured figures for context (budgets are the only gate)."""
    now = measurement.metrics
    labels = measurement.environment.gc_generations
    rows = []
    for name, unit, _judged in _SCALARS:
        if name == "gc_collections":
            for i, count in enumerate(now.gc_collections):
                label = labels[i] if i < len(labels) else str(i)
                name = f"gc_collections[{label}]"
                rows.append(MetricCheck(name, unit, INFO, None, count, None, None))
            continue
        value = getattr(now, name)
        if value is not None:
            rows.append(MetricCheck(name, unit, INFO, None, value, None, None))
    return rows


# --- JSON ---------------------------------------------------------------------------


def report_to_dict(report: CheckReport) -> dict[str, Any]:
    """The JSON document of a check (``kind: "check"``): every row, the limits, the verdict."""
    return {
        **header("check"),
        "passed": report.passed,
        "exit_code": report.exit_code,
        "summary": report.summary,
        "regressed": [row.metric for row in report.failures],
        "baseline": None
        if report.baseline_path is None
        else {
            "path": report.baseline_path,
            "runs": report.baseline_runs,
            "config": to_plain(report.baseline_config),
            "environment": to_plain(report.baseline_environment),
        },
        "config": to_plain(report.config),
        "environment": to_plain(report.environment),
        "environment_differences": list(report.environment_differences),
        "config_differences": list(report.config_differences),
        "limits": to_plain(report.limits),
        "rows": [_row_to_dict(row) for row in report.rows],
    }


def _row_to_dict(row: MetricCheck) -> dict[str, Any]:
    return {
        "metric": row.metric,
        "unit": row.unit,
        "class": row.judged,
        "baseline": row.baseline,
        "now": row.now,
        "change": row.change,
        "limit": row.limit,
        "verdict": row.verdict,
        "note": row.note,
    }


def _tuple(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"
