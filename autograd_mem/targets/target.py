"""One target type: what a measured run runs, a workload or a whole program, behind one interface.

The measurement stage never asks which kind it has: it asks the target. A workload
(built-in or ``module:function``) is called once per iteration after a warm-up; a
program runs once as ``__main__``. What differs between them for the runner and the
child is said here, once, as the target's attributes:

- ``measured_pass``: the child's module that measures it (``workload_pass`` or
  ``program_pass``, in ``autograd_mem.measure``), each with ``measure(config, progress)``
  and ``explain(config, progress)``;
- ``counts_iterations``: whether the child counts iterations for a progress bar;
- ``pumps_output``: whether its stdout and stderr are pumped to the user as they come
  (a program's) or only logged (a workload's, whose output is agmem's business);
- ``keeps_stdin``: whether it reads agmem's stdin (a program with ``--stdin``);
- ``reports_children``: whether its processes' RSS is reported beside its own (a
  program's workers; every descendant is sampled and ended whatever the target);
- ``ends_on_its_own``: whether a process that ended without a result (``os._exit``, a
  signal) is the target's own end, measured and passed on (a program's), rather than a
  failed run (a workload's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from autograd_mem.schema.config import RunConfig
from autograd_mem.targets import workload_spec
from autograd_mem.targets.program import check_program, parse_program_args


class Target(Protocol):
    """What the runner and the child need of any target."""

    config: RunConfig
    measured_pass: str
    counts_iterations: bool
    pumps_output: bool
    reports_children: bool
    ends_on_its_own: bool

    @property
    def name(self) -> str:
        """A short label: the workload's name, or the program's script or module."""

    @property
    def keeps_stdin(self) -> bool:
        """Whether the child reads agmem's own stdin rather than /dev/null."""

    def check(self) -> None:
        """Refuse, before any child starts, a target that cannot be found (WorkloadError)."""

    def floor_bytes(self) -> int | None:
        """Bytes the target must hold at its peak, where that can be known before it runs."""

    def bookkeeping_bytes(self) -> int:
        """What agmem itself keeps for this target, beyond its bounded records."""


@dataclass(frozen=True)
class WorkloadTarget:
    """A built-in or user workload: a step called once per iteration."""

    config: RunConfig
    measured_pass: str = "workload_pass"
    counts_iterations: bool = True
    pumps_output: bool = False
    reports_children: bool = False
    ends_on_its_own: bool = False

    @property
    def name(self) -> str:
        return self.config.workload

    @property
    def keeps_stdin(self) -> bool:
        return False

    def check(self) -> None:
        workload_spec.check_workload(self.config.workload)

    def floor_bytes(self) -> int | None:
        return workload_spec.floor_bytes(self.config)

    def bookkeeping_bytes(self) -> int:
        return self.config.iterations * workload_spec.BOOKKEEPING_BYTES_PER_ITERATION


@dataclass(frozen=True)
class ProgramTarget:
    """A whole program (a script or ``-m`` module with its arguments), run once, unchanged."""

    config: RunConfig
    measured_pass: str = "program_pass"
    counts_iterations: bool = False
    pumps_output: bool = True
    reports_children: bool = True
    ends_on_its_own: bool = True

    @property
    def name(self) -> str:
        assert self.config.program is not None
        return parse_program_args(self.config.program).name

    @property
    def keeps_stdin(self) -> bool:
        return self.config.stdin

    def check(self) -> None:
        assert self.config.program is not None
        check_program(parse_program_args(self.config.program))

    def floor_bytes(self) -> int | None:
        return None  # nothing can be known of a program before it runs

    def bookkeeping_bytes(self) -> int:
        return 0  # a program has no per-iteration records


def target_of(config: RunConfig) -> Target:
    """The target ``config`` names: its ``program`` if it has one, else its workload.

    The one place that asks which kind a configuration holds.
    """
    if config.program is not None:
        return ProgramTarget(config)
    return WorkloadTarget(config)
