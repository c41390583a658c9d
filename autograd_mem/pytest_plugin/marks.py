"""The ``agmem`` marker and the budgets: each budget's name, reader and judge, written once.

A budget is one figure of a test's call with a ceiling. Its name is the marker's
argument (``max_cycles``), and from that name come the command-line option
(``--agmem-max-cycles``) and the ini key (``agmem_max_cycles``) that set it for every
measured test; a marker's argument overrides them for its test. Each judge is pure, as
pytest-memray's marks are: figures in, ``None`` or an :class:`Exceeded` record out, so a
verdict can be read without running anything.

This module imports only the standard library and ``schema.units`` at load time: pytest
imports it in every session, measured or not, to register the marker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autograd_mem.schema.units import format_bytes, format_count, parse_size

if TYPE_CHECKING:
    from autograd_mem.schema.pytest_session import BodyFigures

MARKER = "agmem"
DEFAULT_MODE = "weak"  # the reference mode a marked test runs under unless it says


@dataclass(frozen=True)
class Exceeded:
    """A budget one test exceeded: the budget's name and one line, figure against limit."""

    budget: str
    line: str


def peak_growth(limit: int, figures: BodyFigures) -> Exceeded | None:
    """bytes or a size like "20 MiB": the tracemalloc peak above the start of the call."""
    if figures.peak_growth_bytes <= limit:
        return None
    return Exceeded(
        "max_peak_growth",
        f"peak memory growth (tracemalloc): {format_bytes(figures.peak_growth_bytes)} "
        f"> limit {format_bytes(limit)}",
    )


def live_objects(limit: int, figures: BodyFigures) -> Exceeded | None:
    """agmem engine Variables + Functions the call leaves alive (the engine's census only)."""
    if figures.live_objects <= limit:
        return None
    return Exceeded(
        "max_live_objects",
        f"live engine objects left by the body: {format_count(figures.live_objects)} "
        f"({format_count(figures.live_variables)} Variables + "
        f"{format_count(figures.live_functions)} Functions) > limit {format_count(limit)}",
    )


def collected(limit: int, figures: BodyFigures) -> Exceeded | None:
    """objects of any type the call leaves to the cyclic collector."""
    if figures.collected <= limit:
        return None
    return Exceeded(
        "max_collected",
        f"objects left to the cyclic collector: {format_count(figures.collected)} "
        f"> limit {format_count(limit)}",
    )


def cycles(limit: int, figures: BodyFigures) -> Exceeded | None:
    """garbage cycles the call left to the collector that the project's own code made (those
    only the standard library or a dependency made are listed apart, and counted with the
    marker's include_library=True)."""
    if figures.cycles is None:
        return _uncounted()
    from autograd_mem.pytest_plugin.origin import is_library_shape

    library = sum(shape.cycles for shape in figures.shapes if is_library_shape(shape))
    own = max(figures.cycles - library, 0)
    if own <= limit:
        return None
    apart = f" ({format_count(library)} more made by libraries, not counted)" if library else ""
    return Exceeded(
        "max_cycles",
        f"garbage cycles made by the test's own code: {format_count(own)} "
        f"> limit {format_count(limit)}{apart}",
    )


def cycles_with_library(limit: int, figures: BodyFigures) -> Exceeded | None:
    """reference cycles of any objects, whoever made them, among what the call left to the
    collector (max_cycles under include_library=True)."""
    if figures.cycles is None:
        return _uncounted()
    if figures.cycles <= limit:
        return None
    return Exceeded(
        "max_cycles",
        f"garbage cycles left to the cyclic collector: {format_count(figures.cycles)} "
        f"> limit {format_count(limit)}",
    )


def _uncounted() -> Exceeded:
    return Exceeded(
        "max_cycles",
        "garbage cycles could not be counted: the body set the collector's debug flags itself",
    )


def retained(limit: int, figures: BodyFigures) -> Exceeded | None:
    """bytes or a size like "2 MiB": memory the call still holds once it ended and its garbage
    was collected (tracemalloc; pytest-memray's limit_leaks)."""
    if figures.retained_bytes <= limit:
        return None
    where = f", most allocated at {figures.retained_at}" if figures.retained_at else ""
    return Exceeded(
        "max_retained",
        f"memory retained after the call (tracemalloc): {format_bytes(figures.retained_bytes)} "
        f"> limit {format_bytes(limit)}{where}",
    )


def _size(value: Any) -> int:
    return parse_size(value)


def _count(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a count of 0 or more, got {value!r}")
    return value


@dataclass(frozen=True)
class Budget:
    """One budget: its argument name, how a value is read, and its judge."""

    name: str
    read: Callable[[Any], int]  # raises ValueError naming the problem
    judge: Callable[[int, BodyFigures], Exceeded | None] = field(repr=False)
    show: Callable[[int], str] = field(repr=False, default=format_count)  # for people
    # The judge under the marker's include_library=True, where it differs.
    judge_with_library: Callable[[int, BodyFigures], Exceeded | None] | None = field(
        repr=False, default=None
    )

    @property
    def option(self) -> str:
        return "--agmem-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return f"{MARKER}_{self.name}"

    @property
    def help(self) -> str:
        """What it limits: the judge's docstring, which says it once."""
        return " ".join((self.judge.__doc__ or "").split())


BUDGETS = (
    Budget("max_peak_growth", _size, peak_growth, format_bytes),
    Budget("max_live_objects", _count, live_objects),
    Budget("max_collected", _count, collected),
    Budget("max_cycles", _count, cycles, judge_with_library=cycles_with_library),
    Budget("max_retained", _size, retained, format_bytes),
)
BUDGET_NAMES = tuple(budget.name for budget in BUDGETS)
_BY_NAME = {budget.name: budget for budget in BUDGETS}
# The marker's arguments that are not budgets: how its test runs.
RUN_ARGUMENTS = {
    "mode": f"the reference mode the call runs under (\"weak\", \"strong\", or None to leave "
    f"it as it is; default {DEFAULT_MODE!r})",
    "timeout": "seconds after which the call is interrupted and the test fails (a SIGALRM "
    "timer: main thread only)",
    "include_library": "True: max_cycles counts the cycles the standard library and "
    "dependencies made too (default False: only the project's own)",
}
ARGUMENT_NAMES = (*BUDGET_NAMES, *RUN_ARGUMENTS)


def show_budgets(budgets: Mapping[str, int]) -> str:
    """``max_peak_growth 50.0 MiB, max_cycles 0``: budgets as people read them."""
    return ", ".join(f"{name} {_BY_NAME[name].show(value)}" for name, value in budgets.items())


def read_budget(name: str, value: Any) -> int:
    """A budget's value read from the marker, the command line or the ini file."""
    return _BY_NAME[name].read(value)


def judge(
    budgets: Mapping[str, int], figures: BodyFigures, include_library: bool = False
) -> list[Exceeded]:
    """Every budget the figures exceed, in the budgets' order; [] when all hold.
    ``include_library``: the marker's, for the budgets whose judge it changes."""
    verdicts = []
    for name in BUDGET_NAMES:
        if budgets.get(name) is None:
            continue
        budget = _BY_NAME[name]
        judged = (budget.judge_with_library if include_library else None) or budget.judge
        verdicts.append(judged(budgets[name], figures))
    return [verdict for verdict in verdicts if verdict is not None]


@dataclass(frozen=True)
class MarkerSettings:
    """What one marker asks: the budgets it names (None: unlimited), its mode and timeout."""

    budgets: Mapping[str, int | None]
    mode: str | None = DEFAULT_MODE
    timeout_seconds: float | None = None
    include_library: bool = False


# An unmarked test measured by --agmem: the session's budgets, its reference mode left as is.
UNMARKED = MarkerSettings(budgets={}, mode=None)


def read_marker(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> MarkerSettings:
    """Parse the marker's arguments; a mistake raises ``ValueError`` with one clear line."""
    from autograd_mem.engine.modes import REFERENCE_MODES

    where = f"@pytest.mark.{MARKER}"
    if args:
        raise ValueError(f"{where} takes keyword arguments only, got {args!r}")
    unknown = set(kwargs) - set(ARGUMENT_NAMES)
    if unknown:
        raise ValueError(
            f"{where}: unknown argument(s) {', '.join(sorted(unknown))} "
            f"(expected {', '.join(ARGUMENT_NAMES)})"
        )
    mode = kwargs.get("mode", DEFAULT_MODE)
    if mode is not None and mode not in REFERENCE_MODES:
        raise ValueError(
            f"{where}: unknown reference mode {mode!r} for mode "
            f"(choose from {', '.join(REFERENCE_MODES)}), or None"
        )
    budgets: dict[str, int | None] = {}
    for name in BUDGET_NAMES:
        if name in kwargs:
            value = kwargs[name]
            try:
                budgets[name] = None if value is None else read_budget(name, value)
            except ValueError as exc:
                raise ValueError(f"{where}: {name}: {exc}") from None
    include_library = kwargs.get("include_library", False)
    if not isinstance(include_library, bool):
        raise ValueError(f"{where}: include_library must be True or False, got {include_library!r}")
    return MarkerSettings(budgets, mode, _seconds(kwargs.get("timeout")), include_library)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(
            f"@pytest.mark.{MARKER}: timeout must be a finite number of seconds above 0, "
            f"got {value!r}"
        )
    return float(value)


def budgets_for(session: Mapping[str, int], marker: MarkerSettings) -> dict[str, int]:
    """A test's budgets: the session's, each overridden by the marker where it names it."""
    merged: dict[str, int | None] = {**session, **marker.budgets}
    return {name: value for name, value in merged.items() if value is not None}


def marker_line() -> str:
    """The marker's line in ``pytest --markers``: its signature and what each argument does."""
    arguments = ", ".join(
        [*(f"{name}=None" for name in BUDGET_NAMES), f"mode={DEFAULT_MODE!r}", "timeout=None",
         "include_library=False"]
    )
    said = "; ".join(
        [*(f"{budget.name}: {budget.help}" for budget in BUDGETS),
         *(f"{name}: {text}" for name, text in RUN_ARGUMENTS.items())]
    )
    return (
        f"{MARKER}({arguments}): fail the test when its call exceeds a memory budget "
        f"(the --agmem-max-* options and agmem_max_* ini keys set them for every measured "
        f"test; an argument here overrides them). {said}."
    )
