"""The ``pytest --agmem-json`` document: each measured test's figures, versioned, with one reader.

The plugin's workers hand their records to the controller in this form too (pytest-xdist
sends plain data between processes), so the same strict reader that checks a file checks
what a worker sent: a record either reads back whole or is refused with one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autograd_mem.engine.modes import REFERENCE_MODES
from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.codec import check_schema, from_plain, header, to_plain
from autograd_mem.schema.explain import CycleShape
from autograd_mem.schema.rules import (
    COUNT,
    MAX_FIGURE,
    Each,
    Flag,
    Integer,
    OneOf,
    OrNone,
    String,
    ruled,
)

KIND = "pytest"
_CHANGE = Integer(-MAX_FIGURE, kind="an integer")

# What agmem collects around each test. "young": the generations a test's own objects can
# be in (the whole heap only when the test itself ran an older generation's collection),
# so garbage that an older generation held before the test is not charged to it, nor read.
# "full": a full collection before and after every test, as ``--agmem-full`` asks.
DETAILS = ("young", "full")


@dataclass(frozen=True)
class BodyFigures:
    """What one test's call did to memory, as the plugin's probe measured it."""

    peak_growth_bytes: int = ruled(COUNT)  # tracemalloc's peak above the start
    # Engine Variables the body left alive (after minus before: below 0 when it freed some
    # that were alive before it).
    live_variables: int = ruled(_CHANGE)
    live_functions: int = ruled(_CHANGE)
    collected: int = ruled(COUNT)  # freed by the cyclic collector during and just after it
    collections: int = ruled(COUNT)
    # Garbage cycles among what the collector freed; None when they could not be counted
    # (the body set the collector's debug flags itself, so its garbage is its own).
    cycles: int | None = ruled(OrNone(COUNT), 0)
    # False when the body left more garbage than the probe reads: ``cycles`` is then a
    # lower bound, and ``shapes`` are those of the garbage read.
    cycles_complete: bool = True
    shapes: tuple[CycleShape, ...] = ()  # the cycles' shapes, largest first
    body_raised: bool = False
    # False when the body removed agmem's collector callback (cleared ``gc.callbacks``):
    # ``collected``, ``collections`` and ``cycles`` then miss what came after.
    collector_watched: bool = True
    # True when, under the "young" detail, the body's own collections moved its objects to
    # the oldest generation, so a full collection ran during or after it: that may also
    # have freed garbage older than the body, which ``collected``, ``cycles`` and
    # ``shapes`` then include.
    older_garbage_possible: bool = False
    # Bytes the call still holds once it ended and its garbage was collected (tracemalloc,
    # as pytest-memray's limit_leaks), and the line that allocated most of them ("" when
    # not looked for: only under a max_retained budget, which takes a snapshot).
    retained_bytes: int = ruled(_CHANGE, 0)
    retained_at: str = ruled(String(), "")

    def __post_init__(self) -> None:
        shapes = tuple(
            from_plain(CycleShape, s, "shapes") if isinstance(s, Mapping) else s
            for s in self.shapes
        )
        object.__setattr__(self, "shapes", shapes)

    @property
    def live_objects(self) -> int:
        """Engine Variables + Functions the body left alive."""
        return self.live_variables + self.live_functions

    @property
    def largest_shape(self) -> CycleShape | None:
        return self.shapes[0] if self.shapes else None


@dataclass(frozen=True)
class MeasuredTest:
    """One test's figures, with what it was measured under and which budgets it exceeded."""

    nodeid: str = ruled(String())
    marked: bool = ruled(Flag())  # carries @pytest.mark.agmem
    # The reference mode it ran under; None: left as it was.
    mode: str | None = ruled(OrNone(OneOf(REFERENCE_MODES, "mode")))
    figures: BodyFigures
    exceeded: tuple[str, ...] = ruled(Each(String()), ())  # the budgets it exceeded

    def __post_init__(self) -> None:
        if isinstance(self.figures, Mapping):
            object.__setattr__(self, "figures", from_plain(BodyFigures, self.figures, "figures"))
        object.__setattr__(self, "exceeded", tuple(self.exceeded))


@dataclass(frozen=True)
class PytestSession:
    """Every measured test of one session, in the order they ran (collection order)."""

    detail: str = ruled(OneOf(DETAILS, "detail"))
    tests: tuple[MeasuredTest, ...] = ()

    def __post_init__(self) -> None:
        tests = tuple(
            from_plain(MeasuredTest, t, f"tests[{i}]") if isinstance(t, Mapping) else t
            for i, t in enumerate(self.tests)
        )
        object.__setattr__(self, "tests", tests)


# Shapes kept per test in the document, largest first: enough to act on, bounded in size.
SHAPES_PER_TEST = 5


def to_dict(session: PytestSession) -> dict[str, Any]:
    """The JSON document (``kind: "pytest"``)."""
    plain = to_plain(session)
    for test in plain["tests"]:
        test["figures"]["shapes"] = test["figures"]["shapes"][:SHAPES_PER_TEST]
    return {**header(KIND), **plain}


def from_dict(data: Any, where: str = "pytest document") -> PytestSession:
    """Read a document back, refusing another kind, another schema, or any key it does not know."""
    check_schema(data, KIND, where)
    body = {k: v for k, v in data.items() if k not in ("schema_version", "kind", "tool")}
    try:
        return from_plain(PytestSession, body, where)
    except ResultFormatError:
        raise
    except (TypeError, ValueError) as exc:  # a nested value of the wrong type
        raise ResultFormatError(f"{where}: {exc}") from None
