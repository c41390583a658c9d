"""The baseline file of ``agmem check``: what a configuration measured, saved as versioned JSON.

A baseline keeps the configuration, the interpreter it ran in and, for every metric,
the median over the repeats with its min–max spread — enough to judge a later run
without the timelines, which a regression check does not need. Loading maps every
way a file can be wrong (missing, unreadable, not a regular file, too large, not JSON,
cut short, nested or numbered to crash a parser, another kind of document, a schema
this agmem does not know, a figure no run can produce) to one ``BaselineError`` line,
exit 2. A baseline may come from someone else (a pull request), so nothing in it is
trusted before it is checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from autograd_mem._version import __version__
from autograd_mem.errors import BaselineError, OutputError, ResultFormatError
from autograd_mem.schema.codec import (
    SCHEMA_VERSION,
    check_schema,
    dumps,
    from_plain,
    header,
    to_plain,
)
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.explain import ExplainReport
from autograd_mem.schema.files import write_atomic
from autograd_mem.schema.rules import POSITIVE
from autograd_mem.schema.run import Environment, Measurement, Metrics, check_per_generation

KIND = "baseline"
# A baseline holds no timelines: a few kilobytes whatever the run's length. Reading at
# most this much bounds what a hostile file (a symlink to /dev/zero, a multi-gigabyte
# array) can make agmem allocate before it is refused.
MAX_BASELINE_BYTES = 1024**2


@dataclass(frozen=True)
class Baseline:
    """One configuration's reference figures: median and spread of each metric."""

    config: RunConfig
    environment: Environment
    metrics: Metrics  # the median over the runs
    metrics_min: Metrics
    metrics_max: Metrics
    runs: int
    peak_rss_source: str
    created_at: str  # ISO 8601, UTC
    tool_version: str = __version__
    schema_version: int = SCHEMA_VERSION
    # The engine's and built-in workloads' source digest (``_version.engine_revision``);
    # "unknown" in a baseline saved before it was kept.
    engine_revision: str = "unknown"
    # The forensics of one run (saved with ``--explain``): what a failed check's rerun
    # is set against to name the causes.
    explain: ExplainReport | None = None


def from_measurement(
    measurement: Measurement, *, created_at: str | None = None, engine_revision: str = "unknown"
) -> Baseline:
    """The baseline of a measurement: its medians and spread and its forensics, no timelines."""
    return Baseline(
        config=measurement.config,
        environment=measurement.environment,
        metrics=measurement.metrics,
        metrics_min=measurement.metrics_min,
        metrics_max=measurement.metrics_max,
        runs=len(measurement.runs),
        peak_rss_source=measurement.representative.peak_rss_source,
        created_at=created_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        tool_version=measurement.tool_version,
        engine_revision=engine_revision,
        explain=measurement.explain,
    )


def to_dict(baseline: Baseline) -> dict[str, Any]:
    """The JSON document of a baseline (``kind: "baseline"``)."""
    return {
        **header(KIND, baseline.tool_version),
        "created_at": baseline.created_at,
        "environment": to_plain(baseline.environment),
        "config": to_plain(baseline.config),
        "runs": baseline.runs,
        "peak_rss_source": baseline.peak_rss_source,
        "metrics": to_plain(baseline.metrics),
        "metrics_min": to_plain(baseline.metrics_min),
        "metrics_max": to_plain(baseline.metrics_max),
        "engine_revision": baseline.engine_revision,
        "explain": to_plain(baseline.explain),
    }


def from_dict(data: Any, where: str = "baseline") -> Baseline:
    """Rebuild a baseline, refusing another kind, another schema or ill-typed figures.

    Raises ``ResultFormatError`` naming the first problem; ``load`` turns it into a
    ``BaselineError`` naming the file.
    """
    tool_version = check_schema(data, KIND, where)
    runs = data.get("runs")
    problem = POSITIVE.problem("'runs'", runs, repr(runs))
    if problem:
        raise ResultFormatError(f"{where}: {problem}")
    _refuse_unknown_keys(data, where)
    environment = from_plain(Environment, data.get("environment"), f"{where}.environment")
    explain = data.get("explain")
    spread = {
        key: _metrics(data.get(key), environment, f"{where}.{key}")
        for key in ("metrics", "metrics_min", "metrics_max")
    }
    _refuse_a_spread_out_of_order(spread, where)
    return Baseline(
        config=from_plain(RunConfig, data.get("config"), f"{where}.config"),
        environment=environment,
        **spread,
        runs=runs,
        peak_rss_source=_text(data, "peak_rss_source", where),
        created_at=_text(data, "created_at", where),
        tool_version=tool_version,
        engine_revision=_text(data, "engine_revision", where),
        explain=None if explain is None else from_plain(ExplainReport, explain, f"{where}.explain"),
    )


_KEYS = {
    "schema_version", "kind", "tool", "created_at", "environment", "config", "runs",
    "peak_rss_source", "metrics", "metrics_min", "metrics_max", "engine_revision", "explain",
}


def _refuse_a_spread_out_of_order(spread: Mapping[str, Metrics], where: str) -> None:
    """Each figure's median lies within its runs' min and max, and is missing in all three or
    in none: a gate judging against a spread that cannot be would pass or fail on nothing."""
    low, middle, high = (to_plain(spread[k]) for k in ("metrics_min", "metrics", "metrics_max"))
    for name, median in middle.items():
        values = [low[name], median, high[name]]
        if not isinstance(median, list):
            values = [[v] for v in values]
        lows, medians, highs = values
        if any(v is None for v in (*lows, *medians, *highs)):
            if not all(v is None for v in (*lows, *medians, *highs)):
                raise ResultFormatError(
                    f"{where}.metrics.{name} must be missing in metrics_min, metrics and "
                    "metrics_max alike, or in none"
                )
            continue
        if not all(a <= b <= c for a, b, c in zip(lows, medians, highs, strict=True)):
            raise ResultFormatError(
                f"{where}.metrics.{name} must lie within metrics_min and metrics_max "
                f"(got {medians!r:.60} against {lows!r:.60} and {highs!r:.60})"
            )


def _refuse_unknown_keys(data: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {unknown}")


def save(path: str | os.PathLike[str], baseline: Baseline) -> None:
    """Write the baseline atomically: a reader sees the old file or the whole new one."""
    try:
        write_atomic(path, dumps(to_dict(baseline)))
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {os.fspath(path)}: {_reason(exc)}") from None
    except OutputError as exc:  # files.write_atomic's own error
        raise BaselineError(f"cannot write baseline {os.fspath(path)}: {exc.reason}") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key, "unknown")
    if not isinstance(value, str):
        raise ResultFormatError(f"{where}.{key} must be a string, got {value!r}")
    return value


def _metrics(data: Any, environment: Environment, where: str) -> Metrics:
    """Metrics that obey their rules, with one count per generation of the interpreter."""
    metrics = from_plain(Metrics, data, where)
    check_per_generation(metrics, environment, where)
    return metrics
