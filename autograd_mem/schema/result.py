"""The schema: agmem's documents as frozen dataclasses, each field's rule, and their versioned JSON.

Every number agmem reports lives here first. The JSON is an API for machines,
so its keys are fixed names with units in them, and ``schema_version`` says
which shape a document has: a reader refuses a version it does not know
rather than guessing.

A field's constraint (a positive integer, one of some words, a finite number) is
written once, as the ``rule`` in its metadata. Every reader goes through it: the
command line's option types (``cli/options.py``), a ``RunConfig`` built in code,
and ``from_plain`` decoding a baseline or a child's result.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from autograd_mem._version import __version__
from autograd_mem.engine.modes import REFERENCE_MODES as REFERENCE_MODES
from autograd_mem.errors import ResultFormatError

SCHEMA_VERSION = 2

GC_POLICIES = ("auto", "off")
SAMPLERS = ("psutil", "memory_profiler")
TRAIN_OPTIMIZERS = ("sgd", "adam")
GC_LAYOUTS = ("generational", "incremental", "free-threaded")

# numpy's legacy seeding (np.random.seed, which the child calls) takes 32-bit seeds: a
# larger one would fail only inside the measured child, mid-run.
MAX_RNG_SEED = 2**32 - 1
# No memory or count agmem measures comes near 2**63; a figure past it in a document is
# hostile or corrupt, and letting it through would overflow a float later (10**400 bytes).
MAX_FIGURE = 2**63 - 1


# --- rules: each field's constraint, written once ------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Integer:
    """An integer from ``minimum`` to ``maximum`` (``True`` is not an integer here)."""

    minimum: int = 0
    maximum: int = MAX_FIGURE
    kind: str = ""  # how a message names what is expected; by default from the bounds

    @property
    def expected(self) -> str:
        if self.kind:
            return self.kind
        if self.minimum == 1:
            return "a positive integer"
        return f"an integer ≥ {self.minimum:,}" if self.minimum > -MAX_FIGURE else "an integer"

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        if not _is_int(value) or value < self.minimum:
            return f"{name} must be {self.expected}, got {shown}"
        if value > self.maximum:
            return f"{name} must be at most {self.maximum:,}, got {shown}"
        return None


@dataclass(frozen=True)
class Number:
    """A finite number of at least ``minimum`` (above it, when ``exclusive``)."""

    minimum: float = 0.0
    exclusive: bool = False

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        try:
            number = float(value) if isinstance(value, (int, float)) else math.nan
        except OverflowError:  # an integer of hundreds of digits
            number = math.nan
        below = number <= self.minimum if self.exclusive else number < self.minimum
        if isinstance(value, bool) or not math.isfinite(number) or below:
            bound = "above" if self.exclusive else "of at least"
            return f"{name} must be a finite number {bound} {self.minimum:g}, got {shown}"
        return None


@dataclass(frozen=True)
class OneOf:
    """One of a few fixed words."""

    choices: tuple[str, ...]
    what: str  # "mode", "collector policy": how a message names the field

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        if isinstance(value, str) and value in self.choices:
            return None
        return f"unknown {self.what} {shown} for {name} (choose from {', '.join(self.choices)})"


@dataclass(frozen=True)
class Flag:
    """``true`` or ``false``."""

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        return None if isinstance(value, bool) else f"{name} must be true or false, got {shown}"


@dataclass(frozen=True)
class String:
    """A string (the workload's own syntax is checked by ``workloads``, which knows it)."""

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        return None if isinstance(value, str) else f"{name} must be a string, got {shown}"


@dataclass(frozen=True)
class OrNone:
    """``None``, or a value the inner rule accepts."""

    rule: Rule

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        return None if value is None else self.rule.problem(name, value, shown)


@dataclass(frozen=True)
class Each:
    """A list (a tuple in Python) whose every item the inner rule accepts."""

    rule: Rule

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        if not isinstance(value, (tuple, list)):
            return f"{name} must be a list, got {shown}"
        for index, item in enumerate(value):
            problem = self.rule.problem(f"{name}[{index}]", item, repr(item))
            if problem:
                return problem
        return None


Rule = Integer | Number | OneOf | Flag | String | OrNone | Each

POSITIVE = Integer(1)
COUNT = Integer(0, kind="a count of 0 or more")
BYTES = Integer(0, kind="a size in bytes of 0 or more")
SIGNED_BYTES = Integer(-MAX_FIGURE)
SECONDS = Number(0.0)


def ruled(rule: Rule, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that carries its rule (``field(metadata=...)``, shortened)."""
    return field(default=default, metadata={"rule": rule})


def rule_of(cls: type, name: str) -> Rule:
    """The rule of one field: what the command line's option types are built from."""
    return {f.name: f for f in dataclasses.fields(cls)}[name].metadata["rule"]


def field_problem(cls: type, values: Mapping[str, Any]) -> str | None:
    """The first field of ``values`` its rule refuses, said in one line; None when all hold.

    A field without a rule whose default is a bool, int, float or str (a new field, not
    yet given one) is held to its default's type, so no such value goes unchecked.
    """
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        rule = f.metadata.get("rule") or _DEFAULT_RULES.get(type(f.default))
        value = values[f.name]
        problem = rule.problem(f.name, value, repr(value)) if rule is not None else None
        if problem:
            return problem
    return None


_DEFAULT_RULES: dict[type, Rule] = {
    bool: Flag(),
    int: Integer(-MAX_FIGURE, kind="an integer"),
    float: Number(-math.inf),
    str: String(),
}


@dataclass(frozen=True)
class Environment:
    """The interpreter a run happened in: what makes collector counts comparable."""

    python_version: str = ruled(String())
    python_implementation: str = ruled(String())
    numpy_version: str = ruled(String())
    platform: str = ruled(String())
    # Labels of the collector's generations in this interpreter, detected at run time:
    # ("0", "1", "2") generational; ("young", "old") for 3.14.0-3.14.4's incremental
    # collector; () on free-threaded builds, which have no generations.
    gc_generations: tuple[str, ...] = ruled(Each(String()))
    gc_layout: str = ruled(OneOf(GC_LAYOUTS, "collector layout"))
    gc_threshold: tuple[int, ...] = ruled(Each(COUNT))


@dataclass(frozen=True)
class RunConfig:
    """What to measure and how; the same config measured twice gives the same counts."""

    workload: str = ruled(String(), "seed")
    mode: str = ruled(OneOf(REFERENCE_MODES, "mode"), "weak")
    size: int = ruled(POSITIVE, 10_000)
    depth: int = ruled(POSITIVE, 3)
    iterations: int = ruled(POSITIVE, 1_000)
    backward: bool = ruled(Flag(), False)
    no_grad: bool = ruled(Flag(), False)
    gc_policy: str = ruled(OneOf(GC_POLICIES, "collector policy"), "auto")
    repeat: int = ruled(POSITIVE, 1)
    sampler: str = ruled(OneOf(SAMPLERS, "sampler"), "psutil")
    sample_interval_seconds: float = ruled(Number(0.0, exclusive=True), 0.01)
    tracemalloc: bool = ruled(Flag(), False)
    uss: bool = ruled(Flag(), False)
    explain: bool = ruled(Flag(), False)
    rng_seed: int = ruled(Integer(0, MAX_RNG_SEED), 0)
    # The training workloads' own settings (train, cnn); the others ignore them.
    optimizer: str = ruled(OneOf(TRAIN_OPTIMIZERS, "optimizer"), "sgd")
    batch_size: int = ruled(POSITIVE, 30)
    hidden: int = ruled(POSITIVE, 10)
    # A measured child running longer is ended, with everything it started (exit 3).
    timeout_seconds: float | None = ruled(OrNone(Number(0.0, exclusive=True)), None)
    # A whole program instead of a workload: the words after ``python`` (``program.ProgramSpec.
    # words``: ``["train.py", "--fix"]``, ``["-m", "pkg.mod"]``), run once as ``__main__``;
    # the workload's own settings (workload, size, iterations...) are then not used.
    program: tuple[str, ...] | None = ruled(OrNone(Each(String())), None)
    # The program reads agmem's stdin (``--stdin``); otherwise its stdin is /dev/null.
    stdin: bool = ruled(Flag(), False)

    def __post_init__(self) -> None:
        # A RunConfig is valid once built, whoever builds it: the command line, a
        # baseline, the child reading its config, or a caller of the Python API.
        if isinstance(self.program, list):  # from JSON: frozen, so hashable
            object.__setattr__(self, "program", tuple(self.program))
        problem = field_problem(RunConfig, self.__dict__)
        if problem is None and self.backward and self.no_grad:
            problem = "backward needs a recorded graph: it cannot be combined with no_grad"
        if problem is None and self.program is not None and not self.program:
            problem = "program must name a script or -m module, got an empty list"
        if problem:
            raise ResultFormatError(problem)

    @property
    def label(self) -> str:
        """``"weak"`` or ``"strong/off"``: the name a comparison shows for this run."""
        return self.mode if self.gc_policy == "auto" else f"{self.mode}/{self.gc_policy}"


@dataclass(frozen=True)
class Metrics:
    """One run's figures (or, in a repeated measurement, the median of each)."""

    baseline_rss_bytes: int = ruled(BYTES)
    peak_rss_bytes: int = ruled(BYTES)
    peak_rss_growth_bytes: int = ruled(SIGNED_BYTES)
    end_rss_bytes: int = ruled(BYTES)
    floor_bytes: int | None = ruled(OrNone(BYTES))
    live_variables_end: int = ruled(COUNT)
    live_functions_end: int = ruled(COUNT)
    max_live_variables: int = ruled(COUNT)
    max_live_functions: int = ruled(COUNT)
    # One count per generation, as Environment.gc_generations.
    gc_collections: tuple[int, ...] = ruled(Each(COUNT))
    gc_collected_per_generation: tuple[int, ...] = ruled(Each(COUNT))
    gc_uncollectable_per_generation: tuple[int, ...] = ruled(Each(COUNT))
    gc_collected: int = ruled(COUNT)
    gc_uncollectable: int = ruled(COUNT)
    gc_pause_seconds: float = ruled(SECONDS)
    gc_max_pause_seconds: float = ruled(SECONDS)
    wall_seconds: float = ruled(SECONDS)
    seconds_per_iteration: float = ruled(SECONDS)
    uss_end_bytes: int | None = ruled(OrNone(BYTES), None)
    tracemalloc_current_bytes: int | None = ruled(OrNone(BYTES), None)
    tracemalloc_peak_bytes: int | None = ruled(OrNone(BYTES), None)
    # A program's worker processes, from the parent's samples of the process tree (None
    # for a workload): the highest summed RSS of the descendants, and of the whole tree.
    children_peak_rss_bytes: int | None = ruled(OrNone(BYTES), None)
    tree_peak_rss_bytes: int | None = ruled(OrNone(BYTES), None)

    # One count per generation: the fields whose length is the interpreter's generations.
    PER_GENERATION: ClassVar[tuple[str, ...]] = (
        "gc_collections", "gc_collected_per_generation", "gc_uncollectable_per_generation"
    )


@dataclass(frozen=True)
class Timeline:
    """The parent's RSS samples, aligned with the iteration the child was in; at most 4,096 points.

    ``seconds`` counts from the first iteration's start; ``iteration`` is the index
    of the iteration in progress at that sample (-1 before the first began). A run
    sampled more often than ``series.MAX_POINTS`` times is kept in as many buckets of
    consecutive samples: a point's ``seconds`` and ``iteration`` are its first
    sample's, ``rss_bytes`` its highest and ``rss_bytes_min`` its lowest, so the
    peaks and troughs a chart can draw survive (exact peaks are in the metrics).
    """

    seconds: tuple[float, ...] = ()
    rss_bytes: tuple[int, ...] = ()
    iteration: tuple[int, ...] = ()
    rss_bytes_min: tuple[int, ...] = ()
    # A program's descendants' summed RSS at each point (the bucket's highest); empty for
    # a workload. ``rss_bytes`` stays the measured process's own.
    children_rss_bytes: tuple[int, ...] = ()


@dataclass(frozen=True)
class GcEvent:
    """One collection seen by ``gc.callbacks`` while the workload ran."""

    generation: int
    collected: int
    uncollectable: int
    pause_seconds: float
    iteration: int
    seconds: float  # start, from the first iteration's start


@dataclass(frozen=True)
class IterationRecord:
    """The child's per-iteration counters, read at each iteration's end; at most 4,096 points.

    A run of more iterations than ``series.MAX_POINTS`` is kept in as many buckets of
    consecutive iterations (one per iteration otherwise): ``iteration`` is a bucket's
    first iteration, ``end_seconds`` the end of its last, ``live_variables`` and
    ``live_functions`` the most alive at an iteration's end within it, and the
    ``_min`` columns the fewest. The census's exact high-water marks are in the metrics.
    """

    end_seconds: tuple[float, ...] = ()
    live_variables: tuple[int, ...] = ()
    live_functions: tuple[int, ...] = ()
    iteration: tuple[int, ...] = ()
    live_variables_min: tuple[int, ...] = ()
    live_functions_min: tuple[int, ...] = ()


@dataclass(frozen=True)
class PathStep:
    """One hop of an example cycle: an object's type and the reference it leaves by.

    ``edge`` reads on from the type: ``.me`` (an attribute), ``['y']`` (a dict key),
    ``[0]`` (an index), ``.__closure__['f']`` (a closure variable), ``.f_locals['e']``
    (a frame's local); ``?`` when nothing names the reference.
    """

    type: str
    edge: str


@dataclass(frozen=True)
class SourceLine:
    """Where an object was allocated: the most recent frame of the user's code."""

    file: str
    line: int
    function: str


@dataclass(frozen=True)
class CycleShape:
    """All the garbage cycles of one shape (same types, same labelled references).

    ``path`` is one example cycle; it returns to its first step's type. ``objects``
    counts the garbage objects these cycles kept, themselves included, and
    ``bytes_held`` what freeing them freed (every buffer once); both are totals
    over the window. A shape whose ``cycles`` is 0 is garbage no cycle reached.
    """

    types: tuple[str, ...]
    path: tuple[PathStep, ...]
    cycles: int
    objects: int
    bytes_held: int
    allocated_at: SourceLine | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        # Read back from JSON, the nested parts arrive as plain mappings.
        path = tuple(_nested(PathStep, step, "path") for step in self.path)
        object.__setattr__(self, "types", tuple(self.types))
        object.__setattr__(self, "path", path)
        if self.allocated_at is not None:
            object.__setattr__(
                self, "allocated_at", _nested(SourceLine, self.allocated_at, "allocated_at")
            )


@dataclass(frozen=True)
class TypeGrowth:
    """Live objects of one type at the start and at the end of the window."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class ExplainReport:
    """What the collector found, from a rerun with ``gc.DEBUG_SAVEALL``, and what grew."""

    collections: int  # the collections that found garbage
    garbage_objects: int
    garbage_by_type: Mapping[str, int]
    array_bytes_held: int  # numpy arrays' own buffers among what that garbage held
    example_cycle: tuple[str, ...]  # type names along one reference cycle, first repeated last
    shapes: tuple[CycleShape, ...] = ()  # by bytes_held, largest first
    bytes_held: int = 0  # everything the garbage held, all shapes together
    growth: tuple[TypeGrowth, ...] = ()  # types whose live count grew most, largest first

    def __post_init__(self) -> None:
        shapes = tuple(_nested(CycleShape, s, "shapes") for s in self.shapes)
        growth = tuple(_nested(TypeGrowth, g, "growth") for g in self.growth)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "growth", growth)


def _nested(cls: type, value: Any, where: str) -> Any:
    """A nested dataclass, rebuilt (strictly, by ``from_plain``) when it arrives as a mapping."""
    return from_plain(cls, value, where) if isinstance(value, Mapping) else value


@dataclass(frozen=True)
class RunResult:
    """Everything one fresh child interpreter measured."""

    metrics: Metrics
    timeline: Timeline = field(default_factory=Timeline)
    gc_events: tuple[GcEvent, ...] = ()
    per_iteration: IterationRecord = field(default_factory=IterationRecord)
    # Where peak_rss_bytes came from: "VmHWM" (reset after the baseline), "VmHWM-unreset",
    # "ru_maxrss" or "samples".
    peak_rss_source: str = "VmHWM"
    explain: ExplainReport | None = None
    # The status a program exited with, as ``python`` would have (None for a workload).
    exit_status: int | None = ruled(OrNone(Integer(-MAX_FIGURE, kind="an integer")), None)


@dataclass(frozen=True)
class Measurement:
    """One configuration measured ``config.repeat`` times, each in a fresh interpreter.

    ``metrics`` holds the median of each metric over the runs and ``metrics_min`` /
    ``metrics_max`` the spread; ``timeline``, ``gc_events`` and ``per_iteration`` are
    those of the representative run (the one whose peak growth is the median).
    """

    config: RunConfig
    environment: Environment
    runs: tuple[RunResult, ...]
    tool_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    # Computed once per measurement, on first use: a frozen dataclass's fields never
    # change, and the reporters read these many times.
    @cached_property
    def representative(self) -> RunResult:
        by_growth = sorted(self.runs, key=lambda run: run.metrics.peak_rss_growth_bytes)
        return by_growth[(len(by_growth) - 1) // 2]

    @cached_property
    def metrics(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], statistics.median_low)

    @cached_property
    def metrics_min(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], min)

    @cached_property
    def metrics_max(self) -> Metrics:
        return aggregate_metrics([run.metrics for run in self.runs], max)

    @property
    def timeline(self) -> Timeline:
        return self.representative.timeline

    @property
    def gc_events(self) -> tuple[GcEvent, ...]:
        return self.representative.gc_events

    @property
    def per_iteration(self) -> IterationRecord:
        return self.representative.per_iteration

    @property
    def explain(self) -> ExplainReport | None:
        return self.representative.explain

    @property
    def exit_status(self) -> int | None:
        """A program's exit status: the first run's that was not 0, else 0; None for a workload."""
        statuses = [run.exit_status for run in self.runs if run.exit_status is not None]
        if not statuses:
            return None
        return next((status for status in statuses if status != 0), 0)


def aggregate_metrics(runs: Sequence[Metrics], reduce: Any) -> Metrics:
    """Reduce each metric over runs (element-wise for per-generation tuples).

    ``median_low`` rather than ``median`` so that every figure is one a run really
    measured: a median of two counts would otherwise be a count nobody saw.
    """
    if not runs:
        raise ValueError("no runs to aggregate")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Metrics):
        column = [getattr(m, f.name) for m in runs]
        if any(v is None for v in column):
            values[f.name] = None
        elif isinstance(column[0], tuple):
            values[f.name] = tuple(reduce(list(parts)) for parts in zip(*column, strict=True))
        else:
            values[f.name] = reduce(column)
    return Metrics(**values)


# --- JSON ---------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """Dataclasses and tuples to dicts and lists, recursively: the JSON side of a result.

    Public because the baseline and check documents are built from the same pieces.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def from_plain(cls: type, data: Any, where: str) -> Any:
    """Rebuild a dataclass from plain data, refusing missing or unknown keys and broken rules.

    A reader of agmem's JSON (the runner reading its child, ``agmem check`` reading a
    baseline) must fail on a document it does not understand, never guess.
    """
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: expected an object, found {type(data).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {sorted(unknown)}")
    missing = [
        name
        for name, f in names.items()
        if name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ResultFormatError(f"{where}: missing key {missing[0]!r}")
    problem = field_problem(cls, data)
    if problem:
        raise ResultFormatError(f"{where}.{problem}")
    kwargs = {name: tuple(v) if isinstance(v, list) else v for name, v in data.items()}
    try:
        return cls(**kwargs)
    except ResultFormatError as exc:  # a rule across fields (RunConfig.__post_init__)
        raise ResultFormatError(f"{where}: {exc.message}") from None
    except TypeError as exc:
        raise ResultFormatError(f"{where}: {exc}") from None


def run_to_dict(run: RunResult) -> dict[str, Any]:
    return to_plain(run)


def run_from_dict(data: Mapping[str, Any], where: str = "run") -> RunResult:
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: expected an object")
    explain = data.get("explain")
    return from_plain(
        RunResult,
        {
            **data,
            "metrics": from_plain(Metrics, data.get("metrics"), f"{where}.metrics"),
            "timeline": from_plain(Timeline, data.get("timeline", {}), f"{where}.timeline"),
            "gc_events": tuple(
                from_plain(GcEvent, e, f"{where}.gc_events[{i}]")
                for i, e in enumerate(data.get("gc_events", []))
            ),
            "per_iteration": from_plain(
                IterationRecord, data.get("per_iteration", {}), f"{where}.per_iteration"
            ),
            "explain": None
            if explain is None
            else from_plain(ExplainReport, explain, f"{where}.explain"),
        },
        where,
    )


# The representative run's series live once, at the top of a run document.
_REPRESENTATIVE_KEYS = ("timeline", "gc_events", "per_iteration", "explain")


def measurement_to_dict(m: Measurement) -> dict[str, Any]:
    """The JSON document of one measurement (``kind: "run"``).

    The top level carries the median metrics, their spread and the representative
    run's timeline, collections, per-iteration counters and explain report, so a reader
    of a single run needs nothing else. ``runs`` keeps each repeat in full, except that
    the representative's entry says ``"representative": true`` instead of repeating
    what the top level already holds.
    """
    representative = m.representative
    runs = []
    for run in m.runs:
        entry = run_to_dict(run)
        if run is representative:
            for key in _REPRESENTATIVE_KEYS:
                del entry[key]
            entry["representative"] = True
        runs.append(entry)
    return {
        **header("run", m.tool_version),
        "environment": to_plain(m.environment),
        "config": to_plain(m.config),
        "metrics": to_plain(m.metrics),
        "metrics_min": to_plain(m.metrics_min),
        "metrics_max": to_plain(m.metrics_max),
        "peak_rss_source": representative.peak_rss_source,
        **{key: to_plain(getattr(representative, key)) for key in _REPRESENTATIVE_KEYS},
        "runs": runs,
    }


def header(kind: str, tool_version: str = __version__) -> dict[str, Any]:
    """The first keys of every agmem document: its schema version, its kind, who wrote it."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "tool": {"name": "agmem", "version": tool_version},
    }


def check_schema(data: Any, kind: str, where: str = "document") -> str:
    """Refuse a document of another kind or schema; return the agmem version that wrote it.

    ``schema_version`` must be the integer itself: ``true`` equals 1 in Python, and a
    reader that accepted it would accept any document that happens to say so.
    """
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: not a JSON object")
    version = data.get("schema_version")
    if _is_int(version) and version > SCHEMA_VERSION:
        raise ResultFormatError(
            f"{where}: written by a newer agmem (schema_version {version}; this agmem "
            f"{__version__} reads schema_version {SCHEMA_VERSION}) — upgrade agmem or "
            "write the document again"
        )
    if not _is_int(version) or version != SCHEMA_VERSION:
        raise ResultFormatError(
            f"{where}: schema_version {version!r} is not supported "
            f"(this agmem {__version__} reads schema_version {SCHEMA_VERSION})"
        )
    found = data.get("kind")
    if found != kind:
        hint = " (save one with `agmem baseline save FILE`)" if kind == "baseline" else ""
        raise ResultFormatError(
            f"{where}: a {found!r} document, not a {kind}{hint} (expected a {kind!r} document)"
        )
    tool = data.get("tool")
    version_text = tool.get("version") if isinstance(tool, Mapping) else None
    return version_text if isinstance(version_text, str) else "unknown"


def measurement_from_dict(data: Any, where: str = "run") -> Measurement:
    """Read a run document back, as ``measurement_to_dict`` wrote it, and nothing else.

    The representative run takes its series from the top level. The runs are the
    measurement; the top level's medians and spread are derived from them, so a
    document whose top level says otherwise (edited by hand, or spliced from two files)
    is refused rather than shown with figures it does not contain.
    """
    tool_version = check_schema(data, "run", where)
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ResultFormatError(f"{where}: 'runs' must be a non-empty list")
    read = []
    for i, entry in enumerate(runs):
        if isinstance(entry, Mapping) and entry.get("representative") is True:
            entry = {k: v for k, v in entry.items() if k != "representative"}
            entry.update({key: data.get(key) for key in _REPRESENTATIVE_KEYS if key in data})
        read.append(run_from_dict(entry, f"{where}.runs[{i}]"))
    measurement = Measurement(
        config=from_plain(RunConfig, data.get("config"), f"{where}.config"),
        environment=from_plain(Environment, data.get("environment"), f"{where}.environment"),
        runs=tuple(read),
        tool_version=tool_version,
    )
    for i, run in enumerate(measurement.runs):
        check_per_generation(run.metrics, measurement.environment, f"{where}.runs[{i}].metrics")
    _refuse_what_the_runs_do_not_say(data, measurement, where)
    return measurement


def _refuse_what_the_runs_do_not_say(data: Mapping[str, Any], m: Measurement, where: str) -> None:
    expected = measurement_to_dict(m)
    unknown = sorted(set(data) - set(expected))
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {unknown}")
    for key in expected:
        if key not in ("runs", "tool") and data.get(key) != expected[key]:
            raise ResultFormatError(
                f"{where}.{key} is not what its runs measured (was the document edited?)"
            )


def check_per_generation(metrics: Metrics, environment: Environment, where: str) -> None:
    """Refuse counts that are not one per generation of the interpreter that measured them.

    A report labels them with the generations' names: a count too many or too few would
    be shown under the wrong generation.
    """
    generations = len(environment.gc_generations)
    for name in Metrics.PER_GENERATION:
        counts = getattr(metrics, name)
        if len(counts) != generations:
            raise ResultFormatError(
                f"{where}.{name} must have one count per generation ({generations}: "
                f"{', '.join(environment.gc_generations) or 'none'}), got {list(counts)!r}"
            )


def dumps(document: Mapping[str, Any]) -> str:
    """JSON text for people and machines alike: indented, keys in a stable order."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
