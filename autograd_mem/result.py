"""The measured results as frozen dataclasses, and their versioned JSON form.

Every number agmem reports lives here first. The JSON is an API for machines,
so its keys are fixed names with units in them, and ``schema_version`` says
which shape a document has: a reader refuses a version it does not know
rather than guessing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograd_mem._version import __version__
from autograd_mem.engine.modes import REFERENCE_MODES as REFERENCE_MODES
from autograd_mem.errors import ResultFormatError

SCHEMA_VERSION = 1

GC_POLICIES = ("auto", "off")
SAMPLERS = ("psutil", "memory_profiler")


@dataclass(frozen=True)
class Environment:
    """The interpreter a run happened in: what makes collector counts comparable."""

    python_version: str
    python_implementation: str
    numpy_version: str
    platform: str
    # Labels of the collector's generations in this interpreter, detected at run time:
    # ("0", "1", "2") generational; ("young", "old") for 3.14.0-3.14.4's incremental
    # collector; () on free-threaded builds, which have no generations.
    gc_generations: tuple[str, ...]
    gc_layout: str  # "generational" | "incremental" | "free-threaded"
    gc_threshold: tuple[int, ...]


@dataclass(frozen=True)
class RunConfig:
    """What to measure and how; the same config measured twice gives the same counts."""

    workload: str = "seed"
    mode: str = "weak"
    size: int = 10_000
    depth: int = 3
    iterations: int = 1_000
    backward: bool = False
    no_grad: bool = False
    gc_policy: str = "auto"
    repeat: int = 1
    sampler: str = "psutil"
    sample_interval_seconds: float = 0.01
    tracemalloc: bool = False
    uss: bool = False
    explain: bool = False
    rng_seed: int = 0

    @property
    def label(self) -> str:
        """``"weak"`` or ``"strong/off"``: the name a comparison shows for this run."""
        return self.mode if self.gc_policy == "auto" else f"{self.mode}/{self.gc_policy}"


@dataclass(frozen=True)
class Metrics:
    """One run's figures (or, in a repeated measurement, the median of each)."""

    baseline_rss_bytes: int
    peak_rss_bytes: int
    peak_rss_growth_bytes: int
    end_rss_bytes: int
    floor_bytes: int | None
    live_variables_end: int
    live_functions_end: int
    max_live_variables: int
    max_live_functions: int
    gc_collections: tuple[int, ...]  # one count per generation, as Environment.gc_generations
    gc_collected_per_generation: tuple[int, ...]
    gc_uncollectable_per_generation: tuple[int, ...]
    gc_collected: int
    gc_uncollectable: int
    gc_pause_seconds: float
    gc_max_pause_seconds: float
    wall_seconds: float
    seconds_per_iteration: float
    uss_end_bytes: int | None = None
    tracemalloc_current_bytes: int | None = None
    tracemalloc_peak_bytes: int | None = None


@dataclass(frozen=True)
class Timeline:
    """The parent's RSS samples, aligned with the iteration the child was in.

    ``seconds`` counts from the first iteration's start; ``iteration`` is the index
    of the iteration in progress at that sample (-1 before the first began).
    """

    seconds: tuple[float, ...] = ()
    rss_bytes: tuple[int, ...] = ()
    iteration: tuple[int, ...] = ()


@dataclass(frozen=True)
class GcEvent:
    """One collection seen by ``gc.callbacks`` while the workload ran."""

    generation: int
    collected: int
    uncollectable: int
    pause_seconds: float
    iteration: int
    seconds: float  # start, from the first iteration's start


@dataclass(frozen=True)
class IterationRecord:
    """The child's cheap per-iteration bookkeeping: counters read at each iteration's end."""

    end_seconds: tuple[float, ...] = ()
    live_variables: tuple[int, ...] = ()
    live_functions: tuple[int, ...] = ()


@dataclass(frozen=True)
class ExplainReport:
    """What the collector found, from a rerun with ``gc.DEBUG_SAVEALL``."""

    collections: int  # the collections that found garbage
    garbage_objects: int
    garbage_by_type: Mapping[str, int]
    array_bytes_held: int
    example_cycle: tuple[str, ...]  # type names along one reference cycle, first repeated last


@dataclass(frozen=True)
class RunResult:
    """Everything one fresh child interpreter measured."""

    metrics: Metrics
    timeline: Timeline = field(default_factory=Timeline)
    gc_events: tuple[GcEvent, ...] = ()
    per_iteration: IterationRecord = field(default_factory=IterationRecord)
    # Where peak_rss_bytes came from: "VmHWM" (reset after the baseline), "VmHWM-unreset",
    # "ru_maxrss" or "samples".
    peak_rss_source: str = "VmHWM"
    explain: ExplainReport | None = None


@dataclass(frozen=True)
class Measurement:
    """One configuration measured ``config.repeat`` times, each in a fresh interpreter.

    ``metrics`` holds the median of each metric over the runs and ``metrics_min`` /
    ``metrics_max`` the spread; ``timeline``, ``gc_events`` and ``per_iteration`` are
    those of the representative run (the one whose peak growth is the median).
    """

    config: RunConfig
    environment: Environment
    runs: tuple[RunResult, ...]
    tool_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    @property
    def representative(self) -> RunResult:
        by_growth = sorted(self.runs, key=lambda run: run.metrics.peak_rss_growth_bytes)
        return by_growth[(len(by_growth) - 1) // 2]

    @property
    def metrics(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], statistics.median_low)

    @property
    def metrics_min(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], min)

    @property
    def metrics_max(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], max)

    @property
    def timeline(self) -> Timeline:
        return self.representative.timeline

    @property
    def gc_events(self) -> tuple[GcEvent, ...]:
        return self.representative.gc_events

    @property
    def per_iteration(self) -> IterationRecord:
        return self.representative.per_iteration

    @property
    def explain(self) -> ExplainReport | None:
        return self.representative.explain


def aggregate_metrics(runs: Sequence[Metrics], reduce: Any) -> Metrics:
    """Reduce each metric over runs (element-wise for per-generation tuples).

    ``median_low`` rather than ``median`` so that every figure is one a run really
    measured: a median of two counts would otherwise be a count nobody saw.
    """
    if not runs:
        raise ValueError("no runs to aggregate")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Metrics):
        column = [getattr(m, f.name) for m in runs]
        if any(v is None for v in column):
            values[f.name] = None
        elif isinstance(column[0], tuple):
            values[f.name] = tuple(reduce(list(parts)) for parts in zip(*column, strict=True))
        else:
            values[f.name] = reduce(column)
    return Metrics(**values)


# --- JSON ---------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """Dataclasses and tuples to dicts and lists, recursively: the JSON side of a result.

    Public because the baseline and check documents are built from the same pieces.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def from_plain(cls: type, data: Any, where: str) -> Any:
    """Rebuild a dataclass from plain data, refusing missing or unknown keys.

    A reader of agmem's JSON (the runner reading its child, ``agmem check`` reading a
    baseline) must fail on a document it does not understand, never guess.
    """
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: expected an object, found {type(data).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, f in names.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ResultFormatError(f"{where}: missing key {name!r}")
            continue
        value = data[name]
        if isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ResultFormatError(f"{where}: {exc}") from None


def run_to_dict(run: RunResult) -> dict[str, Any]:
    return to_plain(run)


def run_from_dict(data: Mapping[str, Any], where: str = "run") -> RunResult:
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: expected an object")
    explain = data.get("explain")
    return from_plain(
        RunResult,
        {
            **data,
            "metrics": from_plain(Metrics, data.get("metrics"), f"{where}.metrics"),
            "timeline": from_plain(Timeline, data.get("timeline", {}), f"{where}.timeline"),
            "gc_events": tuple(
                from_plain(GcEvent, e, f"{where}.gc_events[{i}]")
                for i, e in enumerate(data.get("gc_events", []))
            ),
            "per_iteration": from_plain(
                IterationRecord, data.get("per_iteration", {}), f"{where}.per_iteration"
            ),
            "explain": None
            if explain is None
            else from_plain(ExplainReport, explain, f"{where}.explain"),
        },
        where,
    )


def measurement_to_dict(m: Measurement) -> dict[str, Any]:
    """The JSON document of one measurement (``kind: "run"``).

    The top level carries the median metrics, their spread and the representative
    run's timeline and collections, so a reader of a single run needs nothing else;
    ``runs`` keeps each repeat in full.
    """
    return {
        "schema_version": m.schema_version,
        "kind": "run",
        "tool": {"name": "agmem", "version": m.tool_version},
        "environment": to_plain(m.environment),
        "config": to_plain(m.config),
        "metrics": to_plain(m.metrics),
        "metrics_min": to_plain(m.metrics_min),
        "metrics_max": to_plain(m.metrics_max),
        "peak_rss_source": m.representative.peak_rss_source,
        "timeline": to_plain(m.timeline),
        "gc_events": to_plain(m.gc_events),
        "per_iteration": to_plain(m.per_iteration),
        "explain": to_plain(m.explain),
        "runs": [run_to_dict(r) for r in m.runs],
    }


def check_schema(data: Any, kind: str, where: str = "document") -> None:
    """Refuse a document of another kind or of a schema version this agmem does not know."""
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: not a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultFormatError(
            f"{where}: schema_version {version!r} is not supported "
            f"(this agmem {__version__} reads schema_version {SCHEMA_VERSION})"
        )
    if data.get("kind") != kind:
        found = data.get("kind")
        raise ResultFormatError(f"{where}: expected a {kind!r} document, found {found!r}")


def measurement_from_dict(data: Any, where: str = "run") -> Measurement:
    check_schema(data, "run", where)
    tool = data.get("tool") or {}
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ResultFormatError(f"{where}: 'runs' must be a non-empty list")
    return Measurement(
        config=from_plain(RunConfig, data.get("config"), f"{where}.config"),
        environment=from_plain(Environment, data.get("environment"), f"{where}.environment"),
        runs=tuple(run_from_dict(r, f"{where}.runs[{i}]") for i, r in enumerate(runs)),
        tool_version=str(tool.get("version", "unknown")),
        schema_version=data["schema_version"],
    )


def dumps(document: Mapping[str, Any]) -> str:
    """JSON text for people and machines alike: indented, keys in a stable order."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a file so that a reader sees the old content or the whole new one, never half.

    The text goes to a temporary file in the same directory, is flushed to disk and
    renamed over the target: a kill mid-way leaves at most a stray temporary file.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates 0600; a report should get the mode open() would give it.
        os.chmod(tmp, 0o666 & ~_current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
