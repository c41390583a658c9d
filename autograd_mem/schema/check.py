"""The check document (``kind: "check"``): ``agmem check``'s verdict as versioned JSON, read back.

The rows, the limits and the causes are written here once, as frozen dataclasses:
the analysis builds them, the reporters render them, and ``from_dict`` reads a saved
document back strictly (unknown keys, another kind or schema, a row whose derived
``change`` or ``verdict`` disagrees with its figures: one ``ResultFormatError`` line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.codec import check_schema, from_plain, header, to_plain
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.rules import (
    BYTES,
    COUNT,
    Each,
    Flag,
    Integer,
    Number,
    OneOf,
    OrNone,
    String,
    ruled,
)
from autograd_mem.schema.run import Environment

KIND = "check"

EXACT = "exact"
TOLERANCE = "tolerance"
BUDGET = "budget"
INFO = "info"
CLASSES = (EXACT, TOLERANCE, BUDGET, INFO)
UNITS = ("bytes", "count", "seconds")
VERDICTS = ("regressed", "over budget", "improved", "ok", "info")

DEFAULT_TOLERANCE = 0.10
DEFAULT_RETAINED_TOLERANCE = 0.025
DEFAULT_MIN_DELTA_BYTES = 1024**2

_FIGURE = OrNone(Number(-float(2**63)))
_FRACTION = Number(0.0)


@dataclass(frozen=True)
class Limits:
    """How much a new measurement may differ before it counts as a regression.

    Wall time is reported but not gated unless ``max_slowdown`` is set: on a shared CI
    runner the same job's time varies by tens of percent, and a memory gate that fails
    on a slow neighbour would soon be ignored. The collector's counts of a program or
    user workload are gated only with ``gate_collector`` (see ``analysis.regression``).
    """

    tolerance: float = ruled(_FRACTION, DEFAULT_TOLERANCE)
    min_delta_bytes: int = ruled(BYTES, DEFAULT_MIN_DELTA_BYTES)
    # Retained memory's relative margin, as a share of the baseline's peak growth.
    retained_tolerance: float = ruled(_FRACTION, DEFAULT_RETAINED_TOLERANCE)
    gate_collector: bool = ruled(Flag(), False)
    max_slowdown: float | None = ruled(OrNone(Number(1.0)), None)
    # RSS, as the metric it limits (the pytest plugin's max_peak_growth is tracemalloc's).
    max_peak_rss_growth_bytes: int | None = ruled(OrNone(BYTES), None)
    max_live_objects: int | None = ruled(OrNone(COUNT), None)  # Variables + Functions, end
    max_collected: int | None = ruled(OrNone(COUNT), None)  # objects the collector freed

    @property
    def budgets(self) -> bool:
        return any(
            v is not None
            for v in (self.max_peak_rss_growth_bytes, self.max_live_objects, self.max_collected)
        )


@dataclass(frozen=True)
class MetricCheck:
    """One metric: baseline and new value, the largest value that passes, and the verdict."""

    metric: str = ruled(String())
    unit: str = ruled(OneOf(UNITS, "unit"))
    judged: str = ruled(OneOf(CLASSES, "class"))
    baseline: float | None = ruled(_FIGURE)
    now: float | None = ruled(_FIGURE)
    limit: float | None = ruled(_FIGURE)  # the largest passing value; None when not gated
    passed: bool | None = ruled(OrNone(Flag()))  # None for info rows
    note: str = ruled(String(), "")

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
class Cause:
    """One reason a memory metric grew, from the forensics: what, how many bytes, where.

    ``kind`` is ``cycle`` (a shape of garbage cycles, ``what`` its labelled path),
    ``type`` (live objects of a type that grew) or ``line`` (bytes allocated at a line).
    ``bytes`` is the difference against the baseline's own forensics (all of it when the
    baseline has none); ``line`` is ``file:line`` of the user's code, "" when unknown.
    """

    kind: str = ruled(OneOf(("cycle", "type", "line"), "cause kind"))
    what: str = ruled(String())
    bytes: int = ruled(Integer(-(2**63) + 1, kind="an integer"))
    line: str = ruled(String(), "")
    detail: str = ruled(String(), "")  # "new shape", "+2,000 objects"


@dataclass(frozen=True)
class BaselineFacts:
    """What a check says of its baseline: where it is and where it came from."""

    path: str = ruled(String())
    runs: int = ruled(Integer(1))
    created_at: str = ruled(String())
    tool_version: str = ruled(String())
    engine_revision: str = ruled(String())
    config: RunConfig | None = None
    environment: Environment | None = None

    def __post_init__(self) -> None:
        for name, cls in (("config", RunConfig), ("environment", Environment)):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, from_plain(cls, value, f"baseline.{name}"))


@dataclass(frozen=True)
class CheckDocument:
    """Everything a check decided, as the JSON carries it."""

    passed: bool = ruled(Flag())
    exit_code: int = ruled(Integer(0, 255))
    summary: str = ruled(String())
    regressed: tuple[str, ...] = ruled(Each(String()))
    config: RunConfig
    environment: Environment
    baseline: BaselineFacts | None = None
    # Provenance: every difference from the baseline, named.
    differences: tuple[str, ...] = ruled(Each(String()), ())
    # One line: the exact metrics shown but not gated, and why ("" when none).
    not_gated: str = ruled(String(), "")
    config_differences: tuple[str, ...] = ruled(Each(String()), ())
    limits: Limits = field(default_factory=Limits)
    rows: tuple[MetricCheck, ...] = ()
    causes: tuple[Cause, ...] = ()
    forensics: str = ruled(String(), "")  # what was done to explain a failure, in one line


def to_dict(document: CheckDocument, tool_version: str | None = None) -> dict[str, Any]:
    """The JSON of a check: the header, then each field; rows carry their change and verdict."""
    plain = to_plain(document)
    plain["rows"] = [_row_to_dict(row) for row in document.rows]
    head = header(KIND) if tool_version is None else header(KIND, tool_version)
    return {**head, **plain}


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


def from_dict(data: Any, where: str = "check") -> CheckDocument:
    """Read a check document back, refusing anything ``to_dict`` would not have written.

    The verdict is derived from the rows: a document whose ``passed``, ``exit_code``,
    ``regressed``, or a row's ``change`` or ``verdict``, says otherwise is refused.
    """
    tool_version = check_schema(data, KIND, where)
    body = {k: v for k, v in data.items() if k not in ("schema_version", "kind", "tool")}
    rows = _list(body, "rows", where)
    body["rows"] = tuple(_row_from_dict(row, f"{where}.rows[{i}]") for i, row in enumerate(rows))
    body["causes"] = tuple(
        from_plain(Cause, c, f"{where}.causes[{i}]")
        for i, c in enumerate(_list(body, "causes", where))
    )
    for key, cls in (("config", RunConfig), ("environment", Environment), ("limits", Limits)):
        body[key] = from_plain(cls, body.get(key), f"{where}.{key}")
    if body.get("baseline") is not None:
        body["baseline"] = from_plain(BaselineFacts, body["baseline"], f"{where}.baseline")
    document = from_plain(CheckDocument, body, where)
    failed = [row.metric for row in document.rows if row.passed is False]
    if (
        document.passed != (not failed)
        or list(document.regressed) != failed
        or document.exit_code != (0 if document.passed else 1)
    ):
        raise ResultFormatError(f"{where}: its verdict is not what its rows say (edited?)")
    if to_dict(document, tool_version) != dict(data):
        raise ResultFormatError(f"{where}: does not read back as written (edited?)")
    return document


def _list(body: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise ResultFormatError(f"{where}.{key} must be a list")
    return value


def _row_from_dict(data: Any, where: str) -> MetricCheck:
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: expected an object")
    verdict = data.get("verdict")
    if verdict not in VERDICTS or "class" not in data:
        raise ResultFormatError(f"{where}: needs a 'class' and a 'verdict' of {VERDICTS}")
    plain = {k: v for k, v in data.items() if k not in ("class", "change", "verdict")}
    passed = None if verdict == "info" else verdict in ("ok", "improved")
    row = from_plain(MetricCheck, {**plain, "judged": data["class"], "passed": passed}, where)
    if row.verdict != verdict or data.get("change") != row.change:
        raise ResultFormatError(f"{where}: its verdict or change is not what its figures say")
    return row
