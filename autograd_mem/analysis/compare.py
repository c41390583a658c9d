"""Pure comparison of measured variants: Measurements in, ratios and a plain-words verdict out.

A variant is anything measured under a label: a reference mode of one workload
(``strong``, ``weak/off``), another workload (``a.py:step``), a saved run
(``before.json``). The first measurement is the *reference* (``strong`` on the
defaults: the notebook's original graph). Every other one is compared to it, and each
ratio is written ``reference ÷ variant``, so on the defaults a ratio above 1 says how
many times more the strong graph costs than the weak one. The verdict is computed from
the very numbers the reports show, formatted the same way, so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_mem._version import __version__
from autograd_mem.analysis import steady_state
from autograd_mem.analysis.target_view import target_view
from autograd_mem.schema import comparison as comparison_document
from autograd_mem.schema.comparison import ComparisonRecord
from autograd_mem.schema.run import Measurement, Metrics
from autograd_mem.schema.units import format_bytes, format_count

# Two figures closer than this (relative to the larger) are "about the same": RSS moves
# by a few percent between identical runs, and a verdict should not call noise a win.
SAME_WITHIN = 0.10


@dataclass(frozen=True)
class MetricSpec:
    """One comparable figure: how to read it from Metrics and what it is called."""

    key: str
    title: str
    kind: str  # "bytes" | "count" | "seconds"
    read: Callable[[Metrics], float | None]


def _attr(name: str) -> Callable[[Metrics], float | None]:
    return lambda m: getattr(m, name)


def _live_objects_end(m: Metrics) -> int:
    return m.live_variables_end + m.live_functions_end


# The figures whose ratio the comparison computes, in the order reports show them.
RATIO_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("peak_rss_bytes", "peak RSS", "bytes", _attr("peak_rss_bytes")),
    MetricSpec("peak_rss_growth_bytes", "peak growth", "bytes", _attr("peak_rss_growth_bytes")),
    MetricSpec("end_rss_bytes", "RSS at the end", "bytes", _attr("end_rss_bytes")),
    MetricSpec("live_objects_end", "live objects at the end", "count", _live_objects_end),
    MetricSpec("max_live_variables", "most live Variables", "count", _attr("max_live_variables")),
    MetricSpec("gc_collected", "objects collected", "count", _attr("gc_collected")),
    MetricSpec("gc_pause_seconds", "collector pause", "seconds", _attr("gc_pause_seconds")),
    MetricSpec("wall_seconds", "wall time", "seconds", _attr("wall_seconds")),
)


def ratio(reference: float | None, value: float | None) -> float | None:
    """``reference ÷ value``, or None where it means nothing (a missing figure, or ÷ 0)."""
    if reference is None or value is None or value <= 0 or reference < 0:
        return None
    return reference / value


def format_ratio(value: float | None) -> str:
    """``11.4x``; ``–`` where there is no ratio."""
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}x"
    # Below 1, two significant digits: 0.33x, not a misleading 0.3x; one that rounds up
    # to 1 (0.998) reads 1.0x like its neighbours, not a bare "1x".
    return f"{value:.1f}x" if round(value, 2) >= 1 else f"{value:.2g}x"


@dataclass(frozen=True)
class ModeVerdict:
    """How one mode did against the reference, in figures and in one plain sentence."""

    label: str
    reference_label: str
    # "lower" | "higher" | "same" | "none" (no growth in either)
    peak_growth_direction: str
    peak_growth_factor: float | None  # how many times lower/higher; None when undefined
    sentence: str


@dataclass(frozen=True)
class Comparison:
    """Several measured variants, the first being the reference, each under its own label."""

    measurements: tuple[Measurement, ...]
    ratios: Mapping[str, Mapping[str, float | None]]  # label -> metric key -> reference ÷ it
    verdicts: tuple[ModeVerdict, ...]
    labels: tuple[str, ...]  # one per measurement, unique
    tool_version: str = __version__  # the agmem that compared them (kept when read back)
    # Programs only: each one's growth after its setup, in plain words (analysis.steady_state).
    after_setup: str | None = None

    @property
    def reference(self) -> Measurement:
        return self.measurements[0]

    @property
    def of_modes(self) -> bool:
        """True when the variants are reference modes of one workload, named by their modes."""
        return self.labels == mode_labels(self.measurements)

    def variant_name(self, label: str) -> str:
        """``weak mode`` in a comparison of modes, the label alone otherwise."""
        return _variant_name(label, self.of_modes)

    @property
    def verdict(self) -> str:
        """The verdict as the reports print it: one line per mode compared, and for programs
        first the line that says which keeps growing after its setup."""
        lines = [v.sentence for v in self.verdicts]
        if self.after_setup is not None:
            lines.insert(0, self.after_setup)
        return "\n".join(lines)


def mode_labels(measurements: Sequence[Measurement]) -> tuple[str, ...]:
    """Each measurement named by its mode (``strong``, ``weak/off``): a comparison of modes."""
    return tuple(m.config.label for m in measurements)


def compare(
    measurements: Sequence[Measurement], labels: Sequence[str] | None = None
) -> Comparison:
    """Compare every measurement with the first; needs at least two, under unique labels.

    Without ``labels`` the measurements are named by their modes, as ``agmem compare
    --modes`` measures them; the verdict then says "weak mode: ...".
    """
    if len(measurements) < 2:
        raise ValueError("a comparison needs at least two measurements")
    names = tuple(labels) if labels is not None else mode_labels(measurements)
    if len(names) != len(measurements) or len(set(names)) != len(names):
        raise ValueError(f"a comparison needs one unique label per measurement, got {names}")
    reference = measurements[0]
    of_modes = names == mode_labels(measurements)
    ratios = {
        label: {
            spec.key: ratio(spec.read(reference.metrics), spec.read(m.metrics))
            for spec in RATIO_METRICS
        }
        for label, m in zip(names[1:], measurements[1:], strict=True)
    }
    verdicts = tuple(
        _verdict(reference, m, names[0], label, of_modes)
        for label, m in zip(names[1:], measurements[1:], strict=True)
    )
    return Comparison(
        tuple(measurements), ratios, verdicts, names, after_setup=_after_setup(measurements, names)
    )


def _after_setup(measurements: Sequence[Measurement], names: Sequence[str]) -> str | None:
    """``leaky.py keeps growing, +1.2 MiB/s after setup; fixed.py levels off`` (programs:
    a workload's timeline starts after its warm-up, so it has no setup to set apart)."""
    if not all(target_view(m.config).runs_once for m in measurements):
        return None
    return "; ".join(
        steady_state.growth_phrase(
            label, steady_state.steady_state(
                m.timeline, m.metrics.wall_seconds, m.metrics.setup_marked_seconds
            )
        )
        for label, m in zip(names, measurements, strict=True)
    )


def _growth_phrase(
    reference: int, value: int, reference_label: str
) -> tuple[str, float | None, str]:
    """Direction, factor and words for peak growth, free of ÷ 0 and of "infinity"."""
    ref, val = max(reference, 0), max(value, 0)
    if ref == 0 and val == 0:
        return "none", None, f"no peak growth, like {reference_label}"
    if val == 0:
        return "lower", None, f"no peak growth vs {format_bytes(ref)} for {reference_label}"
    if ref == 0:
        return (
            "higher",
            None,
            f"{format_bytes(val)} peak growth vs none for {reference_label}",
        )
    if abs(ref - val) <= SAME_WITHIN * max(ref, val):
        return "same", ref / val, (
            f"about the same peak growth as {reference_label} "
            f"({format_bytes(val)} vs {format_bytes(ref)})"
        )
    if val < ref:
        factor = ref / val
        return "lower", factor, f"{format_ratio(factor)} lower peak growth than {reference_label}"
    factor = val / ref
    return "higher", factor, f"{format_ratio(factor)} higher peak growth than {reference_label}"


def _objects_phrase(reference: Measurement, other: Measurement) -> str:
    """What the collector had to clean up, or (collector off) what was left alive."""
    if reference.config.gc_policy == "auto" and other.config.gc_policy == "auto":
        return (
            f"{format_count(other.metrics.gc_collected)} objects left to the collector "
            f"vs {format_count(reference.metrics.gc_collected)}"
        )
    return (
        f"{format_count(_live_objects_end(other.metrics))} objects still alive at the end "
        f"vs {format_count(_live_objects_end(reference.metrics))}"
    )


def _variant_name(label: str, of_modes: bool) -> str:
    # "weak mode: ..." reads as a sentence; "b.py:step mode: ..." would not.
    return f"{label} mode" if of_modes else label


def _verdict(
    reference: Measurement, other: Measurement, ref_label: str, label: str, of_modes: bool
) -> ModeVerdict:
    direction, factor, growth = _growth_phrase(
        reference.metrics.peak_rss_growth_bytes, other.metrics.peak_rss_growth_bytes, ref_label
    )
    sentence = f"{_variant_name(label, of_modes)}: {growth}, {_objects_phrase(reference, other)}"
    return ModeVerdict(label, ref_label, direction, factor, sentence)


# --- JSON (the document's shape and its reader are the schema's) -----------------------


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    """The JSON document of a comparison (``kind: "comparison"``, ``schema.comparison``)."""
    record = ComparisonRecord(comparison.tool_version, comparison.labels, comparison.measurements)
    return comparison_document.to_dict(
        record,
        ratio="reference ÷ mode" if comparison.of_modes else "reference ÷ variant",
        ratios=comparison.ratios,
        after_setup=comparison.after_setup,
        verdict=[
            {
                "mode": v.label,  # the variant's label (a mode's, in a comparison of modes)
                "peak_growth": v.peak_growth_direction,
                "peak_growth_factor": v.peak_growth_factor,
                "sentence": v.sentence,
            }
            for v in comparison.verdicts
        ],
    )


def from_record(record: ComparisonRecord) -> Comparison:
    """The comparison of a saved document's runs: ratios and verdict computed again, not trusted."""
    return dataclasses.replace(compare(record.measurements, record.labels),
                               tool_version=record.tool_version)


def comparison_from_dict(data: Any, where: str = "comparison") -> Comparison:
    """Read a comparison document back (``schema.comparison``) and compare its runs again."""
    return from_record(comparison_document.from_dict(data, where))
