"""The rows every human-readable report shows, as plain strings: one source for table and Markdown.

Choosing which figures to show, in which unit and with which spread, happens here
once; ``table.py`` and ``markdown.py`` only lay these strings out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograd_mem.analysis.compare import Comparison, format_ratio
from autograd_mem.analysis.steady_state import rate_words, steady_state
from autograd_mem.analysis.target_view import target_view
from autograd_mem.schema.run import Measurement, Metrics
from autograd_mem.schema.units import format_bytes, format_count, format_seconds

Read = Callable[[Metrics], Any]
Format = Callable[[Any], str]


def _growth(n: float | None) -> str:
    return format_bytes(n, signed=True)


@dataclass(frozen=True)
class Row:
    """One figure of a report: a title and how to read and format it."""

    title: str
    read: Read
    fmt: Format
    ratio_key: str | None = None  # the key of compare.RATIO_METRICS, where a ratio is shown


def _get(name: str) -> Read:
    return lambda m: getattr(m, name)


def _growth_over_floor(m: Metrics) -> float | None:
    if not m.floor_bytes:
        return None
    return m.peak_rss_growth_bytes / m.floor_bytes


def used_the_engine(measurements: list[Measurement]) -> bool:
    """Whether any run made an engine Variable or Function: only then do its census rows mean
    something. For any other workload a row of zeros beside a leak would read as "nothing
    alive"; its growing types are in the explain section instead."""
    return any(
        m.metrics.max_live_variables or m.metrics.max_live_functions for m in measurements
    )


def memory_rows(measurement: Measurement, *, engine_rows: bool | None = None) -> list[Row]:
    """The memory and object figures, in reading order; optional probes only when measured.

    ``engine_rows`` says whether to show the engine's live-object rows (by default: when
    this measurement used the engine).
    """
    m = measurement.metrics
    if engine_rows is None:
        engine_rows = used_the_engine([measurement])
    rows = [
        Row(f"Peak RSS ({measurement.representative.peak_rss_source})",
            _get("peak_rss_bytes"), format_bytes, "peak_rss_bytes"),
        Row("Baseline RSS", _get("baseline_rss_bytes"), format_bytes),
        Row("Peak growth above baseline", _get("peak_rss_growth_bytes"), _growth,
            "peak_rss_growth_bytes"),
        Row("Floor (arrays needed)", _get("floor_bytes"), format_bytes),
        Row("Peak growth ÷ floor", _growth_over_floor, format_ratio),
        Row("RSS at the end", _get("end_rss_bytes"), format_bytes, "end_rss_bytes"),
    ]
    target = target_view(measurement.config)
    if target.runs_once:
        rows = [*rows[:3], rows[5]]  # one run has no floor: a floor is per iteration
    if target.reports_children:
        rows += _children_rows(m)
    if m.uss_end_bytes is not None:
        rows.append(Row("USS at the end", _get("uss_end_bytes"), format_bytes))
    if m.tracemalloc_peak_bytes is not None:
        rows.append(Row("tracemalloc current", _get("tracemalloc_current_bytes"), format_bytes))
        rows.append(Row("tracemalloc peak", _get("tracemalloc_peak_bytes"), format_bytes))
    if not engine_rows:
        return rows
    rows += [
        Row("Live Variables at the end", _get("live_variables_end"), format_count),
        Row("Live Functions at the end", _get("live_functions_end"), format_count),
        Row("Live Variables at most", _get("max_live_variables"), format_count,
            "max_live_variables"),
        Row("Live Functions at most", _get("max_live_functions"), format_count),
    ]
    return rows


def _children_rows(m: Metrics) -> list[Row]:
    """A program's worker processes, from the parent's samples of its process tree."""
    rows = [Row("Peak RSS of child processes (sampled)", _get("children_peak_rss_bytes"),
                format_bytes)]
    if m.children_peak_rss_bytes:
        rows.append(Row("Peak RSS with child processes (sampled)", _get("tree_peak_rss_bytes"),
                        format_bytes))
    return rows


def _counts(values: object) -> str:
    """Per-generation counts as ``"120 / 10 / 1"``."""
    if not isinstance(values, tuple):
        return "–"
    return " / ".join(format_count(v) for v in values) or "–"


def collector_rows(measurement: Measurement) -> list[Row]:
    """Collections, objects collected and uncollectable per generation, then the pauses."""
    generations = "/".join(measurement.environment.gc_generations) or "none"
    return [
        Row(f"Collections (gen {generations})", _get("gc_collections"), _counts),
        Row(f"Objects collected (gen {generations})",
            _get("gc_collected_per_generation"), _counts),
        Row("Objects collected, total", _get("gc_collected"), format_count,
            "gc_collected"),
        Row(f"Uncollectable (gen {generations})",
            _get("gc_uncollectable_per_generation"), _counts),
        Row("Collector pause, total", _get("gc_pause_seconds"), format_seconds,
            "gc_pause_seconds"),
        Row("Collector pause, longest", _get("gc_max_pause_seconds"), format_seconds),
    ]


def time_rows(measurement: Measurement | None = None) -> list[Row]:
    """Wall time and time per iteration; a program's run time alone (it is one run)."""
    if measurement is not None and target_view(measurement.config).runs_once:
        return [Row("Wall time (the program's run)", _get("wall_seconds"), format_seconds,
                    "wall_seconds")]
    return [
        Row("Wall time (iterations only)", _get("wall_seconds"), format_seconds, "wall_seconds"),
        Row("Time per iteration", _get("seconds_per_iteration"), format_seconds),
    ]


def setup_rows(measurement: Measurement) -> list[Row]:
    """A program's setup apart from its growth (``analysis.steady_state``), read from the
    representative run's timeline; none for a workload (its timeline starts after its
    warm-up) or a timeline too short to tell."""
    if not target_view(measurement.config).runs_once:
        return []
    metrics = measurement.metrics
    state = steady_state(measurement.timeline, metrics.wall_seconds, metrics.setup_marked_seconds)
    if state is None:
        return []
    verdict = f"keeps growing, {rate_words(state)}" if state.growing else "levels off"
    return [
        Row("Setup ends at", lambda _: state.setup_end_seconds, format_seconds),
        Row("RSS climbed during setup", lambda _: state.setup_bytes, _growth),
        Row("Growth after setup", lambda _: state.growth_after_setup_bytes, _growth),
        Row("After setup", lambda _: verdict, str),
    ]


def all_rows(measurement: Measurement, *, engine_rows: bool | None = None) -> list[Row]:
    return (
        memory_rows(measurement, engine_rows=engine_rows)
        + collector_rows(measurement)
        + time_rows(measurement)
    )


def cell_parts(measurement: Measurement, row: Row) -> tuple[str, str | None]:
    """The median, and the ``(min – max)`` over the repeats when they differ (else None)."""
    median = row.fmt(row.read(measurement.metrics))
    if len(measurement.runs) < 2:
        return median, None
    low = row.fmt(row.read(measurement.metrics_min))
    high = row.fmt(row.read(measurement.metrics_max))
    if low == high:
        return median, None
    # "70.0 MiB (69.0 – 72.0)": the unit once, so that the column stays narrow.
    unit = median.rpartition(" ")[2]
    if " " in median and low.endswith(" " + unit) and high.endswith(" " + unit):
        low, high = low[: -len(unit) - 1], high[: -len(unit) - 1]
    return median, f"({low} – {high})"


def cell(measurement: Measurement, row: Row) -> str:
    """The median, followed by the min–max over the repeats when they differ."""
    median, spread = cell_parts(measurement, row)
    return median if spread is None else f"{median} {spread}"


def comparison_rows(
    comparison: Comparison,
) -> list[tuple[str, list[tuple[str, str | None]], list[str]]]:
    """``(title, one cell_parts per mode, one ratio per non-reference mode)`` for every row.

    The rows are those of the reference's run report, so the two reports read alike;
    a row measured in only some modes (an optional probe) shows ``–`` in the others.
    """
    reference = comparison.reference
    table = []
    engine_rows = used_the_engine(list(comparison.measurements))
    for row in all_rows(reference, engine_rows=engine_rows):
        cells = []
        for m in comparison.measurements:
            cells.append(cell_parts(m, row))
        ratios = [
            format_ratio(comparison.ratios[label][row.ratio_key]) if row.ratio_key else ""
            for label in comparison.labels[1:]
        ]
        table.append((row.title, cells, ratios))
    return table


def ratio_headings(comparison: Comparison) -> list[str]:
    reference = comparison.labels[0]
    return [f"{reference} ÷ {label}" for label in comparison.labels[1:]]


def describe_config(measurement: Measurement, *, with_mode: bool = True) -> str:
    """``seed · weak mode · gc auto · size 10,000 · depth 3 · 1,000 iterations``."""
    return " · ".join(_config_parts(measurement, with_mode=with_mode))


def describe_shared_config(comparison: Comparison) -> str:
    """What every variant of a comparison shares (``weak mode · 300 iterations``).

    What differs between them is in the column headings: the modes of one workload,
    or the workloads, or both; a part of the reference's description that some other
    variant lacks is left out rather than claimed for all.
    """
    # A comparison of modes names them in its columns already.
    with_mode = not comparison.of_modes
    others = [set(_config_parts(m, with_mode=with_mode)) for m in comparison.measurements[1:]]
    parts = [
        part for part in _config_parts(comparison.reference, with_mode=with_mode)
        if all(part in other for other in others)
    ]
    return " · ".join(parts) or "nothing in common but the measurement"


def _config_parts(measurement: Measurement, *, with_mode: bool = True) -> list[str]:
    c, target = measurement.config, target_view(measurement.config)
    if target.runs_once:
        return program_parts(measurement, with_mode=with_mode)
    parts = [target.title]
    if with_mode:
        # The reference mode is the engine's: a workload that made no Variable has none.
        if used_the_engine([measurement]):
            parts.append(f"{c.mode} mode")
        parts.append(f"gc {c.gc_policy}")
    # Only what the workload reads: mlp has no depth, and a user's function neither.
    parts += target.parameters
    parts.append(f"{format_count(c.iterations)} iterations")
    if c.backward:
        parts.append("backward")
    if c.no_grad:
        parts.append("no_grad")
    if c.repeat > 1:
        parts.append(f"median of {c.repeat} runs (min – max)")
    return parts


def describe_environments(comparison: Comparison) -> list[str]:
    """One line when every variant ran in the same interpreter, else one per variant.

    Saved runs compared with a fresh one may come from another Python or numpy, whose
    collector counts are not comparable: the report says so rather than show one.
    """
    lines = [describe_environment(m) for m in comparison.measurements]
    if len(set(lines)) == 1:
        return lines[:1]
    return [f"{label}: {line}" for label, line in zip(comparison.labels, lines, strict=True)]


def program_parts(measurement: Measurement, *, with_mode: bool = True) -> list[str]:
    """``train.py --fix · gc auto · exit status 0``: a program's run, as typed.

    ``--mode`` is named only when the program used the engine (to any other program it
    means nothing), as the option it is: the engine's mode as the program starts, which
    the program may change itself.
    """
    c = measurement.config
    parts = [target_view(c).title]
    if with_mode:
        parts.append(f"gc {c.gc_policy}")
        if used_the_engine([measurement]):
            parts.append(f"--mode {c.mode}")
    parts.append(f"exit status {measurement.exit_status}")
    if c.stdin:
        parts.append("stdin kept")
    if c.repeat > 1:
        parts.append(f"median of {c.repeat} runs (min – max)")
    return parts


def describe_environment(measurement: Measurement) -> str:
    e = measurement.environment
    generations = ", ".join(e.gc_generations) or "none"
    return (
        f"{e.python_implementation} {e.python_version} · numpy {e.numpy_version} · "
        f"{e.gc_layout} collector (generations {generations}; thresholds "
        f"{', '.join(format_count(t) for t in e.gc_threshold)})"
    )


def plural(count: int, noun: str) -> str:
    """``"1 collection"``, ``"12,792 objects"``."""
    return f"{format_count(count)} {noun}{'' if count == 1 else 's'}"


def incomplete_notes(measurement: Measurement) -> list[str]:
    """What the runs' figures lack, each said once (a program that ended its process itself,
    an observer the program removed)."""
    notes: list[str] = []
    for run in measurement.runs:
        notes.extend(note for note in run.incomplete if note not in notes)
    return notes
