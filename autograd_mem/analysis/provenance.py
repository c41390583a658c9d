"""Where a baseline and a new run came from, and which differences make exact figures meaningless.

Pure: both sides are documents. Every difference is named, so that a check never
compares across a change nobody was told about; only those that change what the
exact counts *mean* (another Python minor version, another engine revision, another
collector layout) stop them from being gated. A patch release, a numpy upgrade, a
new agmem version with the same engine are named and still gated: the bytes are
portable, and the counts did not change meaning.
"""

from __future__ import annotations

from autograd_mem.schema.baseline import Baseline
from autograd_mem.schema.run import Environment, Measurement

UNKNOWN = "unknown"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _interpreter(env: Environment) -> str:
    return f"{env.python_implementation} {env.python_version}"


def _changed(what: str, before: object, after: object) -> list[str]:
    return [] if before == after else [f"{what} {before} → {after}"]


def differences(baseline: Baseline, now: Measurement, engine_revision: str) -> tuple[str, ...]:
    """Every difference between the baseline's provenance and this run's, in plain words."""
    b, n = baseline.environment, now.environment
    found = [
        *_changed("agmem", baseline.tool_version, now.tool_version),
        *_changed("engine revision", baseline.engine_revision, engine_revision or UNKNOWN),
        *_changed("Python", _interpreter(b), _interpreter(n)),
        *_changed("numpy", b.numpy_version, n.numpy_version),
        *_changed("platform", b.platform, n.platform),
        *_changed("collector layout", b.gc_layout, n.gc_layout),
        *_changed("collector generations", ",".join(b.gc_generations),
                  ",".join(n.gc_generations)),
        *_changed("collector thresholds", _tuple(b.gc_threshold), _tuple(n.gc_threshold)),
    ]
    return tuple(found)


def exactness_blocker(baseline: Baseline, now: Measurement, engine_revision: str) -> str:
    """Why exact figures cannot be compared, in a few words; "" when they can.

    An unknown revision on either side (a baseline from before revisions were kept) is
    not a difference to act on: it is named by ``differences`` and the counts still gated.
    """
    b, n = baseline.environment, now.environment
    reasons = []
    if (b.python_implementation, _minor(b.python_version)) != (
        n.python_implementation, _minor(n.python_version)
    ):
        reasons.append(f"Python {_minor(b.python_version)} → {_minor(n.python_version)}")
    known = UNKNOWN not in (baseline.engine_revision, engine_revision or UNKNOWN)
    if known and baseline.engine_revision != engine_revision:
        reasons.append(f"engine revision {baseline.engine_revision} → {engine_revision}")
    if (b.gc_layout, b.gc_generations, b.gc_threshold) != (
        n.gc_layout, n.gc_generations, n.gc_threshold
    ):
        reasons.append("another collector layout")
    return "; ".join(reasons)


def _tuple(values: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"
