"""The comparison document (``kind: "comparison"``): variants measured side by side, read back.

A comparison holds what was measured (each variant's whole run document, under its
label); its ratios and verdict are derived from those runs. The writer keeps the derived
part so a person or a script reads it straight from the file, but the reader takes only
the measured part: ``analysis.compare`` computes the rest again, so a document whose
verdict was edited cannot show figures its runs do not hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.codec import check_schema, header
from autograd_mem.schema.run import Measurement, measurement_from_dict, measurement_to_dict

KIND = "comparison"

# Every key a comparison document has; the first three are the header's.
KEYS = frozenset({
    "schema_version", "kind", "tool", "reference", "labels", "ratio", "ratios", "after_setup",
    "verdict", "measurements",
})


@dataclass(frozen=True)
class ComparisonRecord:
    """What a comparison document holds that is measured, not derived: its runs, by label."""

    tool_version: str
    labels: tuple[str, ...]  # one per measurement, unique; the first is the reference
    measurements: tuple[Measurement, ...]


def to_dict(
    record: ComparisonRecord, *, ratio: str, ratios: Mapping[str, Mapping[str, float | None]],
    after_setup: str | None, verdict: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The JSON document: the measured runs (each its own ``kind: "run"`` document, so a
    reader of one run reads every part of a comparison) and the derived figures beside."""
    return {
        **header(KIND, record.tool_version),
        "reference": record.labels[0],
        "labels": list(record.labels),
        "ratio": ratio,
        "ratios": {label: dict(values) for label, values in ratios.items()},
        "after_setup": after_setup,
        "verdict": [dict(entry) for entry in verdict],
        "measurements": [measurement_to_dict(m) for m in record.measurements],
    }


def from_dict(data: Any, where: str = "comparison") -> ComparisonRecord:
    """Read a comparison document's measured part; the derived part is left to the analysis.

    A document without ``labels`` (written before variants had labels of their own)
    names its measurements by their modes, as every comparison then did.
    """
    tool_version = check_schema(data, KIND, where)
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {unknown}")
    documents = data.get("measurements")
    if not isinstance(documents, list) or len(documents) < 2:
        raise ResultFormatError(f"{where}.measurements must list at least two runs")
    measurements = tuple(
        measurement_from_dict(d, f"{where}.measurements[{i}]") for i, d in enumerate(documents)
    )
    labels = data.get("labels")
    if labels is None:
        labels = [m.config.label for m in measurements]
    if (
        not isinstance(labels, list)
        or len(labels) != len(measurements)
        or not all(isinstance(label, str) and label for label in labels)
        or len(set(labels)) != len(labels)
    ):
        raise ResultFormatError(
            f"{where}.labels must name each of the {len(measurements)} measurements "
            f"once, got {labels!r:.200}"
        )
    if data.get("reference", labels[0]) != labels[0]:
        raise ResultFormatError(
            f"{where}.reference must be the first label, {labels[0]!r}, got "
            f"{data.get('reference')!r:.80}"
        )
    return ComparisonRecord(tool_version, tuple(labels), measurements)
