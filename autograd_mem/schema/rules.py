"""The rule language: each field's constraint written once, read by every reader of a value.

A field's constraint (a positive integer, one of some words, a finite number) is
written once, as the ``rule`` in its metadata. Every reader goes through it: the
command line's option types (``cli/options.py``), a ``RunConfig`` built in code,
and ``codec.from_plain`` decoding a baseline or a child's result.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# No memory or count agmem measures comes near 2**63; a figure past it in a document is
# hostile or corrupt, and letting it through would overflow a float later (10**400 bytes).
MAX_FIGURE = 2**63 - 1


def is_int(value: Any) -> bool:
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
        if not is_int(value) or value < self.minimum:
            return f"{name} must be {self.expected}, got {shown}"
        if value > self.maximum:
            return f"{name} must be at most {self.maximum:,}, got {shown}"
        return None


@dataclass(frozen=True)
class Number:
    """A finite number of at least ``minimum`` (above it, when ``exclusive``), at most
    ``maximum``."""

    minimum: float = 0.0
    exclusive: bool = False
    maximum: float = math.inf
    unit: str = ""  # how a bound is written: " s"

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        try:
            number = float(value) if isinstance(value, (int, float)) else math.nan
        except OverflowError:  # an integer of hundreds of digits
            number = math.nan
        below = number <= self.minimum if self.exclusive else number < self.minimum
        if isinstance(value, bool) or not math.isfinite(number) or below:
            bound = "above" if self.exclusive else "of at least"
            return f"{name} must be a finite number {bound} {self.minimum:g}, got {shown}"
        if number > self.maximum:
            return f"{name} must be at most {self.maximum:g}{self.unit}, got {shown}"
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
        if self._all_plainly_within(value):
            return None
        for index, item in enumerate(value):
            problem = self.rule.problem(f"{name}[{index}]", item, repr(item))
            if problem:
                return problem
        return None

    def _all_plainly_within(self, value: tuple[Any, ...] | list[Any]) -> bool:
        """True when a series of numbers all hold at C speed (a long run's 4,096-point columns:
        item by item, their check was most of reading a large document back). False means
        only "look item by item", which finds and names the first problem."""
        if not value:
            return True
        rule = self.rule
        if isinstance(rule, Integer):
            return (all(type(v) is int for v in value)
                    and rule.minimum <= min(value) and max(value) <= rule.maximum)
        if isinstance(rule, Number) and not rule.exclusive:
            try:
                return (all(type(v) is float or type(v) is int for v in value)
                        and all(map(math.isfinite, value)) and min(value) >= rule.minimum
                        and max(value) <= rule.maximum)
            except OverflowError:  # an integer of hundreds of digits: named item by item
                return False
        return False


@dataclass(frozen=True)
class Nested:
    """A nested record, read by its own dataclass: an object (or that dataclass already)."""

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        if isinstance(value, Mapping) or dataclasses.is_dataclass(value):
            return None
        return f"{name} must be an object, got {shown}"


@dataclass(frozen=True)
class Table:
    """An object whose keys are names and whose every value the inner rule accepts."""

    rule: Rule

    def problem(self, name: str, value: Any, shown: str) -> str | None:
        if not isinstance(value, Mapping):
            return f"{name} must be an object, got {shown}"
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{name} must have names for keys, got {key!r}"
            problem = self.rule.problem(f"{name}[{key!r}]", item, repr(item))
            if problem:
                return problem
        return None


Rule = Integer | Number | OneOf | Flag | String | OrNone | Each | Nested | Table

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
