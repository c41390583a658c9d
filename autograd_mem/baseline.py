"""The baseline file of ``agmem check``: what a configuration measured, saved as versioned JSON.

A baseline keeps the configuration, the interpreter it ran in and, for every metric,
the median over the repeats with its min–max spread — enough to judge a later run
without the timelines, which a regression check does not need. Loading maps every
way a file can be wrong (missing, unreadable, not JSON, cut short, another kind of
document, a schema this agmem does not know) to one ``BaselineError`` line, exit 2.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from autograd_mem._version import __version__
from autograd_mem.errors import BaselineError, OutputError, ResultFormatError
from autograd_mem.result import (
    SCHEMA_VERSION,
    Environment,
    Measurement,
    Metrics,
    RunConfig,
    dumps,
    from_plain,
    to_plain,
    write_atomic,
)
from autograd_mem.workloads import MAX_RNG_SEED

# The seeds numpy's legacy seeding accepts (the child seeds with np.random.seed): a
# larger one would only fail inside the measured child. `agmem`'s --seed refuses it too.

KIND = "baseline"


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


def from_measurement(measurement: Measurement, *, created_at: str | None = None) -> Baseline:
    """The baseline of a measurement: its medians and spread, without timelines."""
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
    )


def to_dict(baseline: Baseline) -> dict[str, Any]:
    """The JSON document of a baseline (``kind: "baseline"``)."""
    return {
        "schema_version": baseline.schema_version,
        "kind": KIND,
        "tool": {"name": "agmem", "version": baseline.tool_version},
        "created_at": baseline.created_at,
        "environment": to_plain(baseline.environment),
        "config": to_plain(baseline.config),
        "runs": baseline.runs,
        "peak_rss_source": baseline.peak_rss_source,
        "metrics": to_plain(baseline.metrics),
        "metrics_min": to_plain(baseline.metrics_min),
        "metrics_max": to_plain(baseline.metrics_max),
    }


def from_dict(data: Any, where: str = "baseline") -> Baseline:
    """Rebuild a baseline, refusing another kind, another schema or ill-typed figures.

    Raises ``ResultFormatError`` naming the first problem; ``load`` turns it into a
    ``BaselineError`` naming the file.
    """
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: not a JSON object")
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise ResultFormatError(
            f"{where}: written by a newer agmem (schema_version {version}; this agmem "
            f"{__version__} reads schema_version {SCHEMA_VERSION}) — upgrade agmem or save "
            "the baseline again"
        )
    if version != SCHEMA_VERSION:
        raise ResultFormatError(
            f"{where}: schema_version {version!r} is not supported "
            f"(this agmem {__version__} reads schema_version {SCHEMA_VERSION})"
        )
    kind = data.get("kind")
    if kind != KIND:
        hint = " (save one with `agmem baseline save FILE`)" if kind == "run" else ""
        raise ResultFormatError(f"{where}: a {kind!r} document, not a baseline{hint}")
    runs = data.get("runs")
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise ResultFormatError(f"{where}: 'runs' must be a positive integer, found {runs!r}")
    tool = data.get("tool")
    return Baseline(
        config=_config(data.get("config"), f"{where}.config"),
        environment=from_plain(Environment, data.get("environment"), f"{where}.environment"),
        metrics=_metrics(data.get("metrics"), f"{where}.metrics"),
        metrics_min=_metrics(data.get("metrics_min"), f"{where}.metrics_min"),
        metrics_max=_metrics(data.get("metrics_max"), f"{where}.metrics_max"),
        runs=runs,
        peak_rss_source=str(data.get("peak_rss_source", "unknown")),
        created_at=str(data.get("created_at", "unknown")),
        tool_version=str(tool.get("version", "unknown"))
        if isinstance(tool, Mapping)
        else "unknown",
        schema_version=version,
    )


def save(path: str | os.PathLike[str], baseline: Baseline) -> None:
    """Write the baseline atomically: a reader sees the old file or the whole new one."""
    try:
        write_atomic(path, dumps(to_dict(baseline)))
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {os.fspath(path)}: {_reason(exc)}") from None
    except OutputError as exc:  # files.write_atomic's own error
        raise BaselineError(f"cannot write baseline {os.fspath(path)}: {exc.reason}") from None


def load(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline file; every way it can be wrong is one ``BaselineError`` line (exit 2)."""
    name = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise BaselineError(
            f"baseline file not found: {name} (create it with `agmem baseline save {name}`)"
        ) from None
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {name}: {_reason(exc)}") from None
    if not raw.strip():
        raise BaselineError(f"baseline {name} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BaselineError(f"baseline {name} is corrupt: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(_json_problem(name, text, exc)) from None
    try:
        return from_dict(data, where=f"baseline {name}")
    except ResultFormatError as exc:
        raise BaselineError(exc.message) from None


def _json_problem(name: str, text: str, exc: json.JSONDecodeError) -> str:
    """Tell a file cut short (a save interrupted by an older tool, a partial copy) from garbage."""
    rest = text[exc.pos :].rstrip()
    # JSON strings cannot hold a raw newline: one left open with nothing after it on
    # its line ran into the end of the file.
    cut_in_a_string = exc.msg.startswith("Unterminated string") and "\n" not in rest
    if exc.pos >= len(text.rstrip()) or cut_in_a_string:
        return f"baseline {name} is truncated: the JSON ends early (line {exc.lineno})"
    return f"baseline {name} is corrupt: not valid JSON ({exc.msg} at line {exc.lineno})"


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def _config(data: Any, where: str) -> RunConfig:
    config = from_plain(RunConfig, data, where)
    for f in dataclasses.fields(RunConfig):
        value = getattr(config, f.name)
        expected = type(f.default)
        if f.name == "timeout_seconds":  # optional: None or seconds
            ok = value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
        elif expected is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, expected)
        if not ok:
            raise ResultFormatError(
                f"{where}.{f.name}: expected {expected.__name__}, found {value!r}"
            )
    if not 0 <= config.rng_seed <= MAX_RNG_SEED:
        # numpy would refuse it only in the child, as a failed run (exit 3).
        raise ResultFormatError(
            f"{where}.rng_seed: expected 0 to {MAX_RNG_SEED:,}, found {config.rng_seed!r}"
        )
    return config


def _metrics(data: Any, where: str) -> Metrics:
    """Metrics whose every figure is a finite number (or a tuple of them, or None).

    ``result.from_plain`` checks keys, not types; a hand-edited baseline with a string
    where a count belongs must fail here, as one line, not later as a traceback.
    """
    metrics = from_plain(Metrics, data, where)
    for f in dataclasses.fields(Metrics):
        value = getattr(metrics, f.name)
        parts = value if isinstance(value, tuple) else (value,)
        if value is None and "None" in str(f.type):
            continue
        for part in parts:
            if (
                not isinstance(part, (int, float))
                or isinstance(part, bool)
                or not math.isfinite(part)
            ):
                raise ResultFormatError(f"{where}.{f.name}: expected a number, found {value!r}")
    return metrics
