"""One target type: what a measured run runs, a workload or a whole program, behind one interface.

No stage asks which kind it has: it asks the target. A workload (built-in or
``module:function``) is called once per iteration after a warm-up; a program runs once
as ``__main__``. What differs between them is said here, once: as data (:class:`Traits`,
one table per kind), and as the few answers each kind computes its own way (its name,
its command as typed, its floor, the parameters it reads). Reporters read the same
answers from a document's config through ``analysis.target_view``.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from autograd_mem.schema.config import RunConfig
from autograd_mem.targets import workload_spec
from autograd_mem.targets.program import (
    ProgramSpec,
    check_program,
    parse_program_args,
    runs_nothing_warning,
)


@dataclass(frozen=True)
class Traits:
    """What every stage needs to know of a kind of target, as data.

    - ``measured_pass``: the child's module that measures it (``workload_pass`` or
      ``program_pass``, in ``autograd_mem.measure``), each with ``measure`` and ``explain``;
    - ``runs_once``: it runs once as a whole (a program) rather than as a step called per
      iteration. It then has no warm-up, no iterations (a progress bar shows time, a
      chart's axis is seconds, there is no time per iteration), no floor (a floor is what
      one iteration must hold), and its timeline includes its own setup;
    - ``pumps_output``: its stdout and stderr are pumped to the user as they come (a
      program's) rather than only logged (a workload's, whose output is agmem's business);
    - ``reports_children``: its processes' RSS is reported beside its own (a program's
      workers; every descendant is sampled and ended whatever the target);
    - ``ends_on_its_own``: a process that ended without a result (``os._exit``, a signal)
      is the target's own end, measured and passed on (a program's), rather than a
      failed run (a workload's).
    """

    measured_pass: str
    runs_once: bool
    pumps_output: bool
    reports_children: bool
    ends_on_its_own: bool


@dataclass(frozen=True)
class Target(ABC):
    """What the runner, the child, the CLI and (through analysis) the reports need of a target."""

    config: RunConfig
    traits: ClassVar[Traits]

    @property
    @abstractmethod
    def name(self) -> str:
        """A short label: the workload's name, or the program's script or ``-m module``."""

    @property
    @abstractmethod
    def title(self) -> str:
        """What the user typed to name it: ``seed``, ``pkg.mod:step``, ``train.py --fix``."""

    @property
    @abstractmethod
    def label(self) -> str:
        """A run's name on a progress bar: a workload's mode (``strong/off``), a program's name."""

    @property
    @abstractmethod
    def short_label(self) -> str:
        """A run's name in a chart: a workload's mode, a program's script without its folder."""

    @property
    @abstractmethod
    def keeps_stdin(self) -> bool:
        """Whether the child reads agmem's own stdin rather than /dev/null."""

    @property
    @abstractmethod
    def is_user_code(self) -> bool:
        """Code agmem did not write (a program, a user's workload): judged on its memory,
        not on the collector's exact counts."""

    @abstractmethod
    def check(self) -> None:
        """Refuse, before any child starts, a target that cannot be found (WorkloadError)."""

    @abstractmethod
    def floor_bytes(self) -> int | None:
        """Bytes the target must hold at its peak, where that can be known before it runs."""

    @abstractmethod
    def bookkeeping_bytes(self) -> int:
        """What agmem itself keeps for this target, beyond its bounded records."""

    @abstractmethod
    def parameters(self) -> list[str]:
        """The figures of the config it reads, as a report names them (``size 10,000``)."""

    def warning(self) -> str | None:
        """Why its measurement may mean nothing, seen before it runs (None: no reason)."""
        return None


@dataclass(frozen=True)
class WorkloadTarget(Target):
    """A built-in or user workload: a step called once per iteration."""

    traits: ClassVar[Traits] = Traits("workload_pass", runs_once=False, pumps_output=False,
                                      reports_children=False, ends_on_its_own=False)

    @property
    def name(self) -> str:
        return self.config.workload

    title = name

    @property
    def label(self) -> str:
        return self.config.label

    short_label = label

    @property
    def keeps_stdin(self) -> bool:
        return False

    @property
    def is_user_code(self) -> bool:
        return not workload_spec.parse_spec(self.config.workload).is_builtin

    def check(self) -> None:
        workload_spec.check_workload(self.config.workload)

    def floor_bytes(self) -> int | None:
        return workload_spec.floor_bytes(self.config)

    def bookkeeping_bytes(self) -> int:
        return self.config.iterations * workload_spec.BOOKKEEPING_BYTES_PER_ITERATION

    def parameters(self) -> list[str]:
        return workload_spec.parameters_read(self.config)


@dataclass(frozen=True)
class ProgramTarget(Target):
    """A whole program (a script or ``-m`` module with its arguments), run once, unchanged."""

    traits: ClassVar[Traits] = Traits("program_pass", runs_once=True, pumps_output=True,
                                      reports_children=True, ends_on_its_own=True)

    @property
    def spec(self) -> ProgramSpec:
        """The program as ``python`` takes it: script or module, and its arguments."""
        return parse_program_args(self.words)

    @property
    def words(self) -> tuple[str, ...]:
        """The words after ``python``, as the config keeps them."""
        assert self.config.program is not None  # target_of made this a ProgramTarget
        return self.config.program

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return shlex.join(self.words)

    label = name

    @property
    def short_label(self) -> str:
        return self.name.rpartition("/")[2]

    @property
    def keeps_stdin(self) -> bool:
        return self.config.stdin

    @property
    def is_user_code(self) -> bool:
        return True

    def check(self) -> None:
        check_program(self.spec)

    def floor_bytes(self) -> int | None:
        return None  # nothing can be known of a program before it runs

    def bookkeeping_bytes(self) -> int:
        return 0  # a program has no per-iteration records

    def parameters(self) -> list[str]:
        return []  # its own arguments are its title

    def warning(self) -> str | None:
        return runs_nothing_warning(self.spec)


def target_of(config: RunConfig) -> Target:
    """The target ``config`` names: its ``program`` if it has one, else its workload.

    The one place that asks which kind a configuration holds.
    """
    if config.program is not None:
        return ProgramTarget(config)
    return WorkloadTarget(config)
