"""The verdict of ``agmem check``: baseline, new measurement and limits in, one row per metric out.

Pure: nothing here runs, reads or prints. A gate that cries wolf gets switched off,
and one that misses a leak is worse, so what is gated is what a regression *is*, and
every limit starts from the largest value the baseline's own runs saw:

- ``exact``: figures deterministic for one interpreter, configuration and engine:
  live Variables and Functions (end and most), and for the built-in workloads the
  collector's counts and the ``tracemalloc`` peak. They must not grow past the
  baseline's largest run at all: one kept graph is one Variable more.
- ``tolerance``: memory in bytes. Peak growth must not grow past the baseline's
  largest run by more than ``tolerance`` × its median, ``min_delta_bytes`` and the
  runs' own spread, whichever is largest. Memory retained at the end (a leak, made
  early or late) gets ``retained_tolerance`` × the baseline's peak growth instead:
  what an ordinary change (1% more input) adds to a program's retained memory is a
  sliver of its peak, and a leak of 5% of it is not.
- ``budget``: absolute ceilings that need no baseline.
- ``info``: shown, never failing.

Programs and user workloads are gated on what a regression of *their* code is: peak
growth, retained memory, live engine objects. The collector's counts move with any
allocation (an ``argparse`` option, ``logging``, 1% more input), so for them they are
``info`` unless ``gate_collector`` asks; then they are judged against the baseline's
spread plus the tolerance. The built-in workloads keep their exact gates.

A difference in provenance that makes exact figures meaningless (another Python
minor version, another engine revision, another collector layout) turns the exact
rows into ``info`` with one line saying why; the portable bytes stay gated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from autograd_mem.analysis import provenance
from autograd_mem.errors import ExitCode
from autograd_mem.schema.baseline import Baseline
from autograd_mem.schema.check import (
    BUDGET,
    CLASSES,
    EXACT,
    INFO,
    TOLERANCE,
    BaselineFacts,
    Cause,
    CheckDocument,
    Limits,
    MetricCheck,
)
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.explain import ExplainReport
from autograd_mem.schema.run import Environment, Measurement, Metrics
from autograd_mem.targets.target import target_of

__all__ = ["BUDGET", "CLASSES", "EXACT", "INFO", "TOLERANCE", "Limits", "MetricCheck"]


@dataclass(frozen=True)
class Gate:
    """How one metric is judged: for a built-in workload, for user code, and why."""

    metric: str
    unit: str  # "bytes" | "count" | "seconds"
    builtin: str  # its class for a built-in workload
    user: str  # its class for a program or user workload
    portable: bool  # still gated against a baseline of another Python or engine
    why: str  # one line for the README and `agmem check --help`
    user_note: str = ""  # said on a user's row, when it is judged otherwise than built-ins

    @property
    def collector(self) -> bool:
        return self.metric.startswith("gc_") and self.unit == "count"


GATES: tuple[Gate, ...] = (
    Gate("peak_rss_growth_bytes", "bytes", TOLERANCE, TOLERANCE, True,
         "peak memory above the run's start: what a regression costs"),
    Gate("retained_bytes", "bytes", INFO, TOLERANCE, True,
         "memory still allocated when a program ends: a leak, made early or late"),
    Gate("children_peak_rss_bytes", "bytes", TOLERANCE, TOLERANCE, True,
         "a program's worker processes at their peak"),
    Gate("peak_rss_bytes", "bytes", TOLERANCE, INFO, False,
         "includes the interpreter and imports: moves with an import"),
    Gate("end_rss_bytes", "bytes", TOLERANCE, INFO, False,
         "freed memory stays resident: hides a late leak, moves with the allocator"),
    Gate("uss_end_bytes", "bytes", TOLERANCE, INFO, False, "as end RSS"),
    Gate("baseline_rss_bytes", "bytes", INFO, INFO, False, "the start, not the program's"),
    Gate("floor_bytes", "bytes", INFO, INFO, False, "the engine's lower bound"),
    Gate("tracemalloc_peak_bytes", "bytes", EXACT, TOLERANCE, False,
         "exact for the built-in workloads; user code moves by a few bytes",
         # Code that opens text files or looks up attributes by names made at run time
         # leaves a few dozen bytes more or less in CPython's type attribute cache.
         "user workload or program: varies by a few bytes"),
    Gate("tracemalloc_current_bytes", "bytes", INFO, INFO, False, "shown with --tracemalloc"),
    Gate("live_variables_end", "count", EXACT, EXACT, False,
         "one kept graph is one Variable more"),
    Gate("live_functions_end", "count", EXACT, EXACT, False, "as live Variables"),
    Gate("max_live_variables", "count", EXACT, EXACT, False, "the graph at its largest"),
    Gate("max_live_functions", "count", EXACT, EXACT, False, "as the most Variables"),
    Gate("gc_collections", "count", EXACT, INFO, False,
         "moves with any allocation; gated for user code with --gate-collector"),
    Gate("gc_collected", "count", EXACT, INFO, False,
         "moves with the code's own cycles and its libraries'; as collections"),
    Gate("gc_uncollectable", "count", EXACT, INFO, False, "as collections"),
    Gate("gc_pause_seconds", "seconds", INFO, INFO, False, "time: machine noise"),
    Gate("gc_max_pause_seconds", "seconds", INFO, INFO, False, "time: machine noise"),
    Gate("wall_seconds", "seconds", INFO, INFO, False, "gated with --max-slowdown"),
    Gate("seconds_per_iteration", "seconds", INFO, INFO, False, "time: machine noise"),
)


@dataclass(frozen=True)
class CheckReport:
    """The verdict of one ``agmem check``: every metric's row, what was compared, and why."""

    rows: tuple[MetricCheck, ...]
    limits: Limits
    measurement: Measurement  # the new one
    baseline_path: str | None = None
    baseline: Baseline | None = None
    differences: tuple[str, ...] = ()  # provenance, every one named
    not_gated: str = ""  # one line: which exact metrics are shown only, and why
    config_differences: tuple[str, ...] = ()
    causes: tuple[Cause, ...] = ()
    forensics: str = ""  # what was done to explain a failure, in one line

    @property
    def config(self) -> RunConfig:
        return self.measurement.config

    @property
    def environment(self) -> Environment:
        return self.measurement.environment

    @property
    def baseline_runs(self) -> int | None:
        return None if self.baseline is None else self.baseline.runs

    @property
    def failures(self) -> tuple[MetricCheck, ...]:
        return tuple(row for row in self.rows if row.passed is False)

    @property
    def memory_failures(self) -> tuple[MetricCheck, ...]:
        """Failed rows a rerun with the forensics can explain: bytes and live objects."""
        return tuple(row for row in self.failures if row.unit == "bytes" or "live" in row.metric)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK if self.passed else ExitCode.REGRESSION)

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


def config_differences(baseline: RunConfig, now: RunConfig) -> tuple[str, ...]:
    """Options changed on the command line against the baseline's configuration."""
    return tuple(
        f"{f.name} {getattr(baseline, f.name)!r} → {getattr(now, f.name)!r}"
        for f in fields(RunConfig)
        # --explain adds a pass beside the measured runs: their figures do not change.
        if f.name != "explain" and getattr(baseline, f.name) != getattr(now, f.name)
    )


def is_user_code(config: RunConfig) -> bool:
    """A program or a user workload: gated on its memory, not on the collector's counts."""
    return target_of(config).is_user_code


def check(
    measurement: Measurement,
    baseline: Baseline | None,
    limits: Limits,
    *,
    baseline_path: str | None = None,
    engine_revision: str = "",
) -> CheckReport:
    """Judge a new measurement against a baseline (optional) and absolute budgets.

    ``engine_revision`` is the running engine's (``provenance.engine_revision``); a
    baseline of another one is not judged exactly.
    """
    rows: list[MetricCheck] = []
    differences: tuple[str, ...] = ()
    blocker = ""
    if baseline is not None:
        differences = provenance.differences(baseline, measurement, engine_revision)
        blocker = provenance.exactness_blocker(baseline, measurement, engine_revision)
        rows.extend(_baseline_rows(baseline, measurement, limits, blocker))
    else:
        rows.extend(_info_rows(measurement))
    rows.extend(_budget_rows(measurement.metrics, limits))
    not_gated = ""
    if blocker and any(row.note.startswith("not gated") for row in rows):
        not_gated = f"exact metrics are shown, not gated: {blocker}"
    return CheckReport(
        rows=tuple(rows),
        limits=limits,
        measurement=measurement,
        baseline_path=baseline_path,
        baseline=baseline,
        differences=differences,
        not_gated=not_gated,
        config_differences=config_differences(baseline.config, measurement.config)
        if baseline
        else (),
    )


def with_causes(report: CheckReport, causes: tuple[Cause, ...], forensics: str) -> CheckReport:
    """The report with the causes a forensic rerun found, and a line saying what was done."""
    return replace(report, causes=causes, forensics=forensics)


def forensics_of(report: CheckReport) -> ExplainReport | None:
    """The baseline's own forensics, when it was saved with them."""
    return None if report.baseline is None else report.baseline.explain


def _class(gate: Gate, config: RunConfig, limits: Limits) -> str:
    if not is_user_code(config):
        return gate.builtin
    if gate.collector and limits.gate_collector:
        return TOLERANCE
    return gate.user


def _baseline_rows(
    baseline: Baseline, measurement: Measurement, limits: Limits, blocker: str
) -> list[MetricCheck]:
    rows: list[MetricCheck] = []
    config = measurement.config
    for gate in GATES:
        if gate.metric == "seconds_per_iteration" and target_of(config).traits.runs_once:
            continue  # a program is one run: its wall time, already shown
        judged = _class(gate, config, limits)
        if gate.metric == "wall_seconds" and limits.max_slowdown is not None:
            judged = TOLERANCE
        for name, base, low, high, now, missing in _values(gate, baseline, measurement):
            if base is None or now is None:
                if base is not None or now is not None:
                    note = missing or (
                        "not measured in the baseline" if base is None else "not measured now"
                    )
                    rows.append(MetricCheck(name, gate.unit, INFO, base, now, None, None, note))
                continue
            if blocker and not gate.portable and judged != INFO:
                rows.append(MetricCheck(name, gate.unit, INFO, base, now, None, None,
                                        f"not gated: {blocker}"))
                continue
            spread = _Spread(base, low, high, baseline.metrics.peak_rss_growth_bytes)
            row = _judge(name, gate.unit, judged, spread, now, limits)
            if judged != gate.builtin and gate.user_note:
                row = replace(row, note=gate.user_note)
            rows.append(row)
    return rows


_Values = tuple[str, float | None, float | None, float | None, float | None, str]


def _values(gate: Gate, baseline: Baseline, measurement: Measurement) -> list[_Values]:
    """(row name, median, min, max, now, why one is missing) for a metric; collections
    one per generation, matched by the generations' labels."""
    reads = (baseline.metrics, baseline.metrics_min, baseline.metrics_max, measurement.metrics)
    if gate.metric != "gc_collections":
        return [(gate.metric, *(getattr(m, gate.metric) for m in reads), "")]
    labels = measurement.environment.gc_generations
    same_layout = (
        baseline.environment.gc_generations == labels
        and baseline.environment.gc_threshold == measurement.environment.gc_threshold
    )
    values = []
    for i, count in enumerate(measurement.metrics.gc_collections):
        name = f"gc_collections[{labels[i] if i < len(labels) else i}]"
        if not same_layout or i >= len(baseline.metrics.gc_collections):
            values.append((name, None, None, None, count, "collector differs"))
        else:
            values.append((name, *(m.gc_collections[i] for m in reads[:3]), count, ""))
    return values


@dataclass(frozen=True)
class _Spread:
    """A metric's baseline: median, least and largest run, and the baseline's peak growth."""

    median: float
    low: float
    high: float
    peak_growth: float


def _judge(
    name: str, unit: str, judged: str, base: _Spread, now: float, limits: Limits
) -> MetricCheck:
    if judged == INFO:
        return MetricCheck(name, unit, INFO, base.median, now, None, None)
    if judged == EXACT:
        # The largest value any baseline run saw: for a truly deterministic metric it is
        # the median itself; if the baseline's runs disagreed, say so rather than flap.
        note = "baseline runs disagreed" if base.high != base.median else ""
        return MetricCheck(name, unit, EXACT, base.median, now, base.high, now <= base.high, note)
    limit = tolerance_limit(name, unit, base, limits)
    note = "judged against the baseline's peak growth" if name == "retained_bytes" else ""
    return MetricCheck(name, unit, TOLERANCE, base.median, now, limit, now <= limit, note)


def tolerance_limit(name: str, unit: str, base: _Spread, limits: Limits) -> float:
    """The largest passing value: the baseline's largest run plus the widest of the margins.

    Bytes get the relative margin, ``min_delta_bytes`` and the runs' spread; retained
    memory's relative margin is a share of the peak growth, not of itself (a program
    that keeps nothing would otherwise fail on a few kilobytes). Counts get the spread
    *plus* the relative margin: the collector's counts move a little with any change.
    Wall time is a factor of the baseline's median.
    """
    spread = base.high - base.low
    if name == "wall_seconds" and limits.max_slowdown is not None:
        return base.median * limits.max_slowdown
    if unit != "bytes":
        return base.high + spread + math.ceil(limits.tolerance * max(base.median, 0))
    if name == "retained_bytes":
        relative = limits.retained_tolerance * max(base.peak_growth, 0)
    else:
        relative = limits.tolerance * max(base.median, 0)
    return base.high + max(relative, limits.min_delta_bytes, spread)


def _budget_rows(now: Metrics, limits: Limits) -> list[MetricCheck]:
    budgets = (
        ("peak_rss_growth_bytes", "bytes", limits.max_peak_rss_growth_bytes,
         now.peak_rss_growth_bytes, ""),
        ("live_objects_end", "count", limits.max_live_objects,
         now.live_variables_end + now.live_functions_end, "Variables + Functions"),
        ("gc_collected", "count", limits.max_collected, now.gc_collected, ""),
    )
    return [
        MetricCheck(name, unit, BUDGET, None, value, limit, value <= limit, note)
        for name, unit, limit, value, note in budgets
        if limit is not None
    ]


def _info_rows(measurement: Measurement) -> list[MetricCheck]:
    """Without a baseline, the measured figures for context (budgets are the only gate)."""
    now = measurement.metrics
    labels = measurement.environment.gc_generations
    rows = []
    for gate in GATES:
        if gate.metric == "gc_collections":
            for i, count in enumerate(now.gc_collections):
                label = labels[i] if i < len(labels) else str(i)
                rows.append(MetricCheck(f"gc_collections[{label}]", "count", INFO, None, count,
                                        None, None))
            continue
        value = getattr(now, gate.metric)
        if value is not None:
            rows.append(MetricCheck(gate.metric, gate.unit, INFO, None, value, None, None))
    return rows


def to_document(report: CheckReport) -> CheckDocument:
    """The check document (``schema.check``) of a report: what the JSON carries."""
    saved = report.baseline
    facts = None
    if saved is not None:
        facts = BaselineFacts(
            path=report.baseline_path or "",
            runs=saved.runs,
            created_at=saved.created_at,
            tool_version=saved.tool_version,
            engine_revision=saved.engine_revision,
            config=saved.config,
            environment=saved.environment,
        )
    return CheckDocument(
        passed=report.passed,
        exit_code=report.exit_code,
        summary=report.summary,
        regressed=tuple(row.metric for row in report.failures),
        baseline=facts,
        config=report.config,
        environment=report.environment,
        differences=report.differences,
        not_gated=report.not_gated,
        config_differences=report.config_differences,
        limits=report.limits,
        rows=report.rows,
        causes=report.causes,
        forensics=report.forensics,
    )


def _portable(gate: Gate) -> str:
    if gate.builtin == INFO and gate.user == INFO:
        return "–"
    return "yes" if gate.portable else "no (shown)"


def gates_markdown() -> str:
    """The README's table of what is gated how, and why, made from ``GATES`` (tested)."""
    rows = [
        f"| `{gate.metric}` | {gate.builtin} | {gate.user} | "
        f"{_portable(gate)} | {gate.why} |"
        for gate in GATES
    ]
    head = ["| metric | built-in workload | program or user workload | gated across Python "
            "minor versions | why |", "|---|---|---|---|---|"]
    return "\n".join([*head, *rows]) + "\n"
