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

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from autograd_mem._version import __version__
from autograd_mem.errors import BaselineError, OutputError, ResultFormatError, UsageError
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


@dataclass(frozen=True)
class JsonFile:
    """A kind of JSON file agmem reads: how messages name it, how large it may be, its error.

    Baselines and saved results (``agmem report``) are read by the same careful reader;
    only these differ.
    """

    what: str  # "baseline": how a message names the file
    max_bytes: int
    error: type[UsageError]
    size_note: str  # why the cap: "a baseline is a few kilobytes"
    create_hint: str = ""  # what to run when the file is missing; "{name}" is its path


BASELINE_FILE = JsonFile(
    "baseline", MAX_BASELINE_BYTES, BaselineError, "a baseline is a few kilobytes",
    "create it with `agmem baseline save {name}`",
)


def load(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline file; every way it can be wrong is one ``BaselineError`` line (exit 2)."""
    name = os.fspath(path)
    data = read_json(name, BASELINE_FILE)
    try:
        return from_dict(data, where=f"baseline {name}")
    except ResultFormatError as exc:
        raise BaselineError(exc.message) from None


def read_json(path: str | os.PathLike[str], kind: JsonFile) -> Any:
    """A file's JSON, read at most ``kind.max_bytes``; every way it can be wrong is one line.

    Raises ``kind.error`` (a UsageError: exit 2) for a missing, unreadable, oversized,
    empty, non-UTF-8, truncated, corrupt or hostile (too deep, too long a number) file.
    """
    name = os.fspath(path)
    raw = _read_capped(name, kind)
    if not raw.strip():
        raise kind.error(f"{kind.what} {name} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise kind.error(f"{kind.what} {name} is corrupt: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise kind.error(_json_problem(f"{kind.what} {name}", text, exc)) from None
    except RecursionError:
        raise kind.error(f"{kind.what} {name} is corrupt: nested too deeply") from None
    except ValueError:  # an integer of more digits than int() converts (4,300 by default)
        raise kind.error(
            f"{kind.what} {name} is corrupt: an integer too long to read"
        ) from None


def _read_capped(name: str, kind: JsonFile) -> bytes:
    """The file's bytes, if it is a regular file of at most ``kind.max_bytes``.

    Opened without blocking and checked after opening (not before: the path could be
    swapped in between), so a FIFO cannot hang ``agmem check`` and a device cannot feed
    it forever.
    """
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        hint = f" ({kind.create_hint.format(name=name)})" if kind.create_hint else ""
        raise kind.error(f"{kind.what} file not found: {name}{hint}") from None
    except OSError as exc:
        raise kind.error(f"cannot read {kind.what} {name}: {_reason(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise kind.error(f"cannot read {kind.what} {name}: {what}")
        raw = _read_at_most(fd, kind.max_bytes + 1)
    except OSError as exc:
        raise kind.error(f"cannot read {kind.what} {name}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if len(raw) > kind.max_bytes:
        raise kind.error(
            f"{kind.what} {name} is too large to be a {kind.what} (over "
            f"{kind.max_bytes // 1024**2} MiB; {kind.size_note})"
        )
    return raw


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _json_problem(named: str, text: str, exc: json.JSONDecodeError) -> str:
    """Tell a file cut short (a save interrupted by an older tool, a partial copy) from garbage."""
    rest = text[exc.pos :].rstrip()
    # JSON strings cannot hold a raw newline: one left open with nothing after it on
    # its line ran into the end of the file.
    cut_in_a_string = exc.msg.startswith("Unterminated string") and "\n" not in rest
    cut_in_a_word = bool(rest) and any(word.startswith(rest) for word in ("null", "true", "false"))
    if exc.pos >= len(text.rstrip()) or cut_in_a_string or cut_in_a_word:
        return f"{named} is truncated: the JSON ends early (line {exc.lineno})"
    return f"{named} is corrupt: not valid JSON ({exc.msg} at line {exc.lineno})"


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
