"""The measured child's result document: how the child ended, and what it measured.

The child writes it (atomically) to its scratch folder; the runner reads it with
:func:`child_result_from_plain`, which refuses anything it does not understand. How the
child ended is said once, by :class:`ChildStatus`: its word in the document and the
exit code the child ends with, which tells the runner the same even if the file is lost.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.codec import check_schema, from_plain, header, to_plain
from autograd_mem.schema.explain import ExplainReport
from autograd_mem.schema.run import Environment, RunResult, run_from_dict, run_to_dict

KIND = "child-result"


class ChildStatus(enum.Enum):
    """How a measured child ended: (its word in the document, the child's exit code)."""

    OK = ("ok", 0)
    WORKLOAD_NOT_FOUND = ("workload-not-found", 4)
    WORKLOAD_RAISED = ("workload-raised", 5)
    # agmem itself failed in the child (a bug): one line for the user, not its traceback.
    INTERNAL_ERROR = ("internal-error", 6)

    @property
    def word(self) -> str:
        return self.value[0]

    @property
    def exit_code(self) -> int:
        return self.value[1]

    @classmethod
    def of_word(cls, word: object) -> ChildStatus | None:
        return next((status for status in cls if status.word == word), None)

    @classmethod
    def of_exit_code(cls, code: int) -> ChildStatus | None:
        return next((status for status in cls if status.exit_code == code), None)


@dataclass(frozen=True)
class ChildResult:
    """One child's result: ``status`` and, by status, what goes with it.

    ``ok`` from a measured pass: ``environment``, ``run`` (without a timeline: the parent
    adds it from its samples) and ``workload_start_monotonic``, the clock origin; from
    an explain pass: ``explain``. A program's ``exit_status`` in both. Otherwise a
    ``message`` and, for a workload that raised, the tail of its ``traceback``.
    """

    status: ChildStatus
    message: str = ""
    traceback: str = ""
    environment: Environment | None = None
    run: RunResult | None = None
    workload_start_monotonic: float | None = None
    explain: ExplainReport | None = None
    exit_status: int | None = None


def child_result_to_plain(result: ChildResult) -> dict[str, Any]:
    """The document the child writes."""
    document: dict[str, Any] = {**header(KIND), "status": result.status.word}
    for name in ("message", "traceback", "workload_start_monotonic", "exit_status"):
        value = getattr(result, name)
        if value not in (None, ""):
            document[name] = value
    if result.environment is not None:
        document["environment"] = to_plain(result.environment)
    if result.run is not None:
        document["run"] = run_to_dict(result.run)
    if result.explain is not None:
        document["explain"] = to_plain(result.explain)
    return document


_KEYS = {"schema_version", "kind", "tool", "status", "message", "traceback", "environment",
         "run", "workload_start_monotonic", "explain", "exit_status"}


def child_result_from_plain(data: Any, where: str = "child result") -> ChildResult:
    """Read a child's document strictly: its kind and version, known keys, valid parts."""
    check_schema(data, KIND, where)
    assert isinstance(data, Mapping)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {unknown}")
    status = ChildStatus.of_word(data.get("status"))
    if status is None:
        raise ResultFormatError(f"{where}: unknown status {data.get('status')!r}")
    result = ChildResult(
        status=status,
        message=_text(data, "message", where),
        traceback=_text(data, "traceback", where),
        environment=_optional(data, "environment", where,
                              lambda v, w: from_plain(Environment, v, w)),
        run=_optional(data, "run", where, run_from_dict),
        workload_start_monotonic=_optional(data, "workload_start_monotonic", where, _number),
        explain=_optional(data, "explain", where, lambda v, w: from_plain(ExplainReport, v, w)),
        exit_status=_optional(data, "exit_status", where, _integer),
    )
    if status is ChildStatus.OK and result.run is None and result.explain is None:
        raise ResultFormatError(f"{where}: an ok result without a run or an explain report")
    if result.run is not None and (result.environment is None
                                   or result.workload_start_monotonic is None):
        raise ResultFormatError(f"{where}: a run without its environment or clock origin")
    return result


def _text(data: Mapping[str, Any], name: str, where: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ResultFormatError(f"{where}.{name} must be a string")
    return value


def _optional(data: Mapping[str, Any], name: str, where: str, read: Any) -> Any:
    value = data.get(name)
    return None if value is None else read(value, f"{where}.{name}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ResultFormatError(f"{where} must be a finite number")
    return float(value)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResultFormatError(f"{where} must be an integer")
    return value
