"""The run document: one configuration measured in fresh interpreters, with its versioned JSON.

Every number agmem reports lives here first: the metrics, the timeline, the collections,
the per-iteration counters and the explain report of the representative run.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from autograd_mem._version import __version__
from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.codec import SCHEMA_VERSION, check_schema, from_plain, header, to_plain
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.explain import ExplainReport
from autograd_mem.schema.rules import (
    BYTES,
    COUNT,
    MAX_FIGURE,
    SECONDS,
    SIGNED_BYTES,
    Each,
    Integer,
    OneOf,
    OrNone,
    String,
    ruled,
)

# The generations' labels of each collector layout, as a document may name them: a
# reader refuses any other label (an unknown generation would be shown as if it were
# one). ``probes.gc_probe`` detects the layout with the same labels; it imports nothing
# of agmem (it runs as a script on bare interpreters), and a test holds the two equal.
GC_LABELS: Mapping[str, tuple[str, ...]] = {
    "generational": ("0", "1", "2"),
    "incremental": ("young", "old"),
    "free-threaded": (),
}
GC_LAYOUTS = tuple(GC_LABELS)


@dataclass(frozen=True)
class Environment:
    """The interpreter a run happened in: what makes collector counts comparable."""

    python_version: str = ruled(String())
    python_implementation: str = ruled(String())
    numpy_version: str = ruled(String())
    platform: str = ruled(String())
    # Labels of the collector's generations in this interpreter, detected at run time:
    # ("0", "1", "2") generational; ("young", "old") for 3.14.0-3.14.4's incremental
    # collector; () on free-threaded builds, which have no generations.
    gc_generations: tuple[str, ...] = ruled(Each(String()))
    gc_layout: str = ruled(OneOf(GC_LAYOUTS, "collector layout"))
    gc_threshold: tuple[int, ...] = ruled(Each(COUNT))

    def __post_init__(self) -> None:
        labels = GC_LABELS[self.gc_layout]
        if self.gc_generations != labels:
            raise ResultFormatError(
                f"gc_generations must be {list(labels)!r} for a {self.gc_layout} collector, "
                f"got {list(self.gc_generations)!r}"
            )
        if len(self.gc_threshold) != 3:  # gc.get_threshold() has three, in every build
            raise ResultFormatError(
                f"gc_threshold must have gc.get_threshold()'s three values, got "
                f"{list(self.gc_threshold)!r}"
            )


@dataclass(frozen=True)
class Metrics:
    """One run's figures (or, in a repeated measurement, the median of each)."""

    baseline_rss_bytes: int = ruled(BYTES)
    peak_rss_bytes: int = ruled(BYTES)
    peak_rss_growth_bytes: int = ruled(SIGNED_BYTES)
    end_rss_bytes: int = ruled(BYTES)
    floor_bytes: int | None = ruled(OrNone(BYTES))
    live_variables_end: int = ruled(COUNT)
    live_functions_end: int = ruled(COUNT)
    max_live_variables: int = ruled(COUNT)
    max_live_functions: int = ruled(COUNT)
    # One count per generation, as Environment.gc_generations.
    gc_collections: tuple[int, ...] = ruled(Each(COUNT))
    gc_collected_per_generation: tuple[int, ...] = ruled(Each(COUNT))
    gc_uncollectable_per_generation: tuple[int, ...] = ruled(Each(COUNT))
    gc_collected: int = ruled(COUNT)
    gc_uncollectable: int = ruled(COUNT)
    gc_pause_seconds: float = ruled(SECONDS)
    gc_max_pause_seconds: float = ruled(SECONDS)
    wall_seconds: float = ruled(SECONDS)
    seconds_per_iteration: float = ruled(SECONDS)
    uss_end_bytes: int | None = ruled(OrNone(BYTES), None)
    tracemalloc_current_bytes: int | None = ruled(OrNone(BYTES), None)
    tracemalloc_peak_bytes: int | None = ruled(OrNone(BYTES), None)
    # A program's worker processes, from the parent's samples of the process tree (None
    # for a workload): the highest summed RSS of the descendants, and of the whole tree.
    children_peak_rss_bytes: int | None = ruled(OrNone(BYTES), None)
    tree_peak_rss_bytes: int | None = ruled(OrNone(BYTES), None)
    # A program's bytes still allocated when it ended, above those at its start, as the
    # allocators count them (``probes.allocated``); None where they cannot be read.
    retained_bytes: int | None = ruled(OrNone(SIGNED_BYTES), None)
    # When a program said its set-up was over (``autograd_mem.setup_done()``), in seconds
    # from its first line; None when it did not (or for a workload).
    setup_marked_seconds: float | None = ruled(OrNone(SECONDS), None)

    # One count per generation: the fields whose length is the interpreter's generations.
    PER_GENERATION: ClassVar[tuple[str, ...]] = (
        "gc_collections", "gc_collected_per_generation", "gc_uncollectable_per_generation"
    )


def _equal_lengths(record: Any, names: Sequence[str], nonempty_only: Sequence[str] = ()) -> None:
    """Refuse columns of unequal lengths: a point would pair one column's value with another's
    from elsewhere. Columns in ``nonempty_only`` may also be empty (a workload has no children)."""
    lengths = {name: len(getattr(record, name)) for name in names}
    lengths.update({n: len(getattr(record, n)) for n in nonempty_only if getattr(record, n)})
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} {length}" for name, length in lengths.items())
        raise ResultFormatError(
            f"{type(record).__name__.lower()} columns must have equal lengths, got {shown}"
        )


SECONDS_COLUMN = Each(SECONDS)
BYTES_COLUMN = Each(BYTES)
COUNT_COLUMN = Each(COUNT)


@dataclass(frozen=True)
class Timeline:
    """The parent's RSS samples, aligned with the iteration the child was in; at most 4,096 points.

    ``seconds`` counts from the first iteration's start; ``iteration`` is the index
    of the iteration in progress at that sample (-1 before the first began). The first
    point is the child's own baseline reading, at 0 s and iteration 0, and a workload's
    last its end reading, at its last iteration's end: the parent's samples lie between.
    A run sampled more often than ``series.MAX_POINTS`` times is kept in as many buckets of
    consecutive samples: a point's ``seconds`` and ``iteration`` are its first
    sample's, ``rss_bytes`` its highest and ``rss_bytes_min`` its lowest, so the
    peaks and troughs a chart can draw survive (exact peaks are in the metrics).
    """

    seconds: tuple[float, ...] = ruled(SECONDS_COLUMN, ())
    rss_bytes: tuple[int, ...] = ruled(BYTES_COLUMN, ())
    iteration: tuple[int, ...] = ruled(Each(Integer(-1, kind="an iteration index")), ())
    rss_bytes_min: tuple[int, ...] = ruled(BYTES_COLUMN, ())
    # A program's descendants' summed RSS at each point (the bucket's highest); empty for
    # a workload. ``rss_bytes`` stays the measured process's own.
    children_rss_bytes: tuple[int, ...] = ruled(BYTES_COLUMN, ())

    def __post_init__(self) -> None:
        _equal_lengths(self, ("seconds", "rss_bytes"),
                       ("iteration", "rss_bytes_min", "children_rss_bytes"))


@dataclass(frozen=True)
class GcEvent:
    """One collection seen by ``gc.callbacks`` while the workload ran: one of the longest pauses.

    ``generation`` is an index into ``Environment.gc_generations`` (the raw number on a
    free-threaded build, which has none).
    """

    generation: int = ruled(Integer(0, 2, kind="a generation (0, 1 or 2)"))
    collected: int = ruled(COUNT)
    uncollectable: int = ruled(COUNT)
    pause_seconds: float = ruled(SECONDS)
    iteration: int = ruled(COUNT)  # the iteration in progress (0 for a program)
    seconds: float = ruled(SECONDS)  # start, from the first iteration's start


@dataclass(frozen=True)
class GcBuckets:
    """Every collection of the run, folded into at most 256 buckets of time.

    Each bucket covers ``bucket_seconds`` from its ``start_seconds`` (from the run's
    start); only buckets in which the collector ran are listed. Per bucket:
    ``collections`` (one count per generation, as ``Metrics.gc_collections``), the
    objects ``collected`` and ``uncollectable``, and the sum and the longest of the
    pauses. ``iteration`` is the iteration in progress at the bucket's start (0 for a
    program). The exact totals are in the metrics, the longest pauses in
    ``RunResult.gc_longest_pauses``.
    """

    bucket_seconds: float = ruled(SECONDS, 0.0)
    start_seconds: tuple[float, ...] = ruled(SECONDS_COLUMN, ())
    iteration: tuple[int, ...] = ruled(COUNT_COLUMN, ())
    collections: tuple[tuple[int, ...], ...] = ruled(Each(COUNT_COLUMN), ())
    collected: tuple[int, ...] = ruled(COUNT_COLUMN, ())
    uncollectable: tuple[int, ...] = ruled(COUNT_COLUMN, ())
    pause_seconds_sum: tuple[float, ...] = ruled(SECONDS_COLUMN, ())
    pause_seconds_max: tuple[float, ...] = ruled(SECONDS_COLUMN, ())

    def __post_init__(self) -> None:
        object.__setattr__(self, "collections", tuple(tuple(c) for c in self.collections))
        _equal_lengths(self, ("start_seconds", "iteration", "collections", "collected",
                              "uncollectable", "pause_seconds_sum", "pause_seconds_max"))


@dataclass(frozen=True)
class IterationRecord:
    """The child's per-iteration counters, read at each iteration's end; at most 4,096 points.

    A run of more iterations than ``series.MAX_POINTS`` is kept in as many buckets of
    consecutive iterations (one per iteration otherwise): ``iteration`` is a bucket's
    first iteration, ``end_seconds`` the end of its last, ``live_variables`` and
    ``live_functions`` the most alive at an iteration's end within it, and the
    ``_min`` columns the fewest. The census's exact high-water marks are in the metrics.
    """

    end_seconds: tuple[float, ...] = ruled(SECONDS_COLUMN, ())
    live_variables: tuple[int, ...] = ruled(COUNT_COLUMN, ())
    live_functions: tuple[int, ...] = ruled(COUNT_COLUMN, ())
    iteration: tuple[int, ...] = ruled(COUNT_COLUMN, ())
    live_variables_min: tuple[int, ...] = ruled(COUNT_COLUMN, ())
    live_functions_min: tuple[int, ...] = ruled(COUNT_COLUMN, ())

    def __post_init__(self) -> None:
        _equal_lengths(self, ("end_seconds", "live_variables", "live_functions", "iteration",
                              "live_variables_min", "live_functions_min"))


PEAK_RSS_SOURCES = ("VmHWM", "VmHWM-unreset", "ru_maxrss", "samples")


@dataclass(frozen=True)
class RunResult:
    """Everything one fresh child interpreter measured."""

    metrics: Metrics
    timeline: Timeline = field(default_factory=Timeline)
    # The collections: all of them in buckets, and the longest pauses each in full.
    gc_buckets: GcBuckets = field(default_factory=GcBuckets)
    gc_longest_pauses: tuple[GcEvent, ...] = ()
    per_iteration: IterationRecord = field(default_factory=IterationRecord)
    # Where peak_rss_bytes came from: "VmHWM" (reset after the baseline), "VmHWM-unreset",
    # "ru_maxrss" or "samples" (the parent's, when the program ended the process itself).
    peak_rss_source: str = ruled(OneOf(PEAK_RSS_SOURCES, "peak source"), "VmHWM")
    explain: ExplainReport | None = None
    # The status a program exited with, as ``python`` would have (None for a workload).
    exit_status: int | None = ruled(OrNone(Integer(-MAX_FIGURE, kind="an integer")), None)
    # What this run's figures lack, one sentence each ("the collector figures stop at
    # 2.31 s: the program removed agmem's observer from gc.callbacks"); empty when whole.
    incomplete: tuple[str, ...] = ruled(Each(String()), ())


@dataclass(frozen=True)
class Measurement:
    """One configuration measured ``config.repeat`` times, each in a fresh interpreter.

    ``metrics`` holds the median of each metric over the runs and ``metrics_min`` /
    ``metrics_max`` the spread; ``timeline``, the collections and ``per_iteration`` are
    those of the representative run (the one whose peak growth is the median).
    """

    config: RunConfig
    environment: Environment
    runs: tuple[RunResult, ...]
    tool_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    # Computed once per measurement, on first use: a frozen dataclass's fields never
    # change, and the reporters read these many times.
    @cached_property
    def representative(self) -> RunResult:
        by_growth = sorted(self.runs, key=lambda run: run.metrics.peak_rss_growth_bytes)
        return by_growth[(len(by_growth) - 1) // 2]

    @cached_property
    def metrics(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], statistics.median_low)

    @cached_property
    def metrics_min(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], min)

    @cached_property
    def metrics_max(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], max)

    @property
    def timeline(self) -> Timeline:
        return self.representative.timeline

    @property
    def gc_buckets(self) -> GcBuckets:
        return self.representative.gc_buckets

    @property
    def gc_longest_pauses(self) -> tuple[GcEvent, ...]:
        return self.representative.gc_longest_pauses

    @property
    def per_iteration(self) -> IterationRecord:
        return self.representative.per_iteration

    @property
    def explain(self) -> ExplainReport | None:
        return self.representative.explain

    @property
    def exit_status(self) -> int | None:
        """A program's exit status: the first run's that was not 0, else 0; None for a workload."""
        statuses = [run.exit_status for run in self.runs if run.exit_status is not None]
        if not statuses:
            return None
        return next((status for status in statuses if status != 0), 0)


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
            "gc_buckets": from_plain(GcBuckets, data.get("gc_buckets", {}), f"{where}.gc_buckets"),
            "gc_longest_pauses": tuple(
                from_plain(GcEvent, e, f"{where}.gc_longest_pauses[{i}]")
                for i, e in enumerate(_list(data.get("gc_longest_pauses", []),
                                            f"{where}.gc_longest_pauses"))
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


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ResultFormatError(f"{where} must be a list, got {type(value).__name__}")
    return list(value)


# The representative run's series live once, at the top of a run document.
_REPRESENTATIVE_KEYS = ("timeline", "gc_buckets", "gc_longest_pauses", "per_iteration", "explain")


def measurement_to_dict(m: Measurement) -> dict[str, Any]:
    """The JSON document of one measurement (``kind: "run"``).

    The top level carries the median metrics, their spread and the representative
    run's timeline, collections, per-iteration counters and explain report, so a reader
    of a single run needs nothing else. ``runs`` keeps each repeat in full, except that
    the representative's entry says ``"representative": true`` instead of repeating
    what the top level already holds.
    """
    representative = m.representative
    runs = []
    for run in m.runs:
        entry = run_to_dict(run)
        if run is representative:
            for key in _REPRESENTATIVE_KEYS:
                del entry[key]
            entry["representative"] = True
        runs.append(entry)
    return {
        **header("run", m.tool_version),
        "environment": to_plain(m.environment),
        "config": to_plain(m.config),
        "metrics": to_plain(m.metrics),
        "metrics_min": to_plain(m.metrics_min),
        "metrics_max": to_plain(m.metrics_max),
        "peak_rss_source": representative.peak_rss_source,
        **{key: to_plain(getattr(representative, key)) for key in _REPRESENTATIVE_KEYS},
        "runs": runs,
    }


def measurement_from_dict(data: Any, where: str = "run") -> Measurement:
    """Read a run document back, as ``measurement_to_dict`` wrote it, and nothing else.

    The representative run takes its series from the top level. The runs are the
    measurement; the top level's medians and spread are derived from them, so a
    document whose top level says otherwise (edited by hand, or spliced from two files)
    is refused rather than shown with figures it does not contain.
    """
    tool_version = check_schema(data, "run", where)
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ResultFormatError(f"{where}: 'runs' must be a non-empty list")
    read = []
    for i, entry in enumerate(runs):
        if isinstance(entry, Mapping) and entry.get("representative") is True:
            entry = {k: v for k, v in entry.items() if k != "representative"}
            entry.update({key: data.get(key) for key in _REPRESENTATIVE_KEYS if key in data})
        read.append(run_from_dict(entry, f"{where}.runs[{i}]"))
    measurement = Measurement(
        config=from_plain(RunConfig, data.get("config"), f"{where}.config"),
        environment=from_plain(Environment, data.get("environment"), f"{where}.environment"),
        runs=tuple(read),
        tool_version=tool_version,
    )
    for i, run in enumerate(measurement.runs):
        check_per_generation(run.metrics, measurement.environment, f"{where}.runs[{i}].metrics")
    _refuse_what_the_runs_do_not_say(data, measurement, where)
    return measurement


def _refuse_what_the_runs_do_not_say(data: Mapping[str, Any], m: Measurement, where: str) -> None:
    expected = measurement_to_dict(m)
    unknown = sorted(set(data) - set(expected))
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {unknown}")
    for key in expected:
        if key not in ("runs", "tool") and data.get(key) != expected[key]:
            path = where + _first_difference(data.get(key), expected[key], f".{key}")
            raise ResultFormatError(
                f"{path} is not what its runs measured (was the document edited?)"
            )


def _first_difference(found: Any, expected: Any, path: str) -> str:
    """The path of the innermost field where ``found`` differs from ``expected``: the
    message names the figure that was changed, not the whole block it sits in."""
    if isinstance(found, Mapping) and isinstance(expected, Mapping):
        for key in expected:
            if key not in found:
                return f"{path}.{key}"
            if found[key] != expected[key]:
                return _first_difference(found[key], expected[key], f"{path}.{key}")
        return path
    if isinstance(found, list) and isinstance(expected, list) and len(found) == len(expected):
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return path


def check_per_generation(metrics: Metrics, environment: Environment, where: str) -> None:
    """Refuse counts that are not one per generation of the interpreter that measured them.

    A report labels them with the generations' names: a count too many or too few would
    be shown under the wrong generation.
    """
    generations = len(environment.gc_generations)
    for name in Metrics.PER_GENERATION:
        counts = getattr(metrics, name)
        if len(counts) != generations:
            raise ResultFormatError(
                f"{where}.{name} must have one count per generation ({generations}: "
                f"{', '.join(environment.gc_generations) or 'none'}), got {list(counts)!r}"
            )
