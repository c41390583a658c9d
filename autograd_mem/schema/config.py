"""A run's input: what to measure and how (``RunConfig``), every field with its rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograd_mem.engine.modes import REFERENCE_MODES as REFERENCE_MODES
from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.rules import (
    POSITIVE,
    Each,
    Flag,
    Integer,
    Number,
    OneOf,
    OrNone,
    String,
    field_problem,
    ruled,
)

GC_POLICIES = ("auto", "off")
SAMPLERS = ("psutil", "memory_profiler")
TRAIN_OPTIMIZERS = ("sgd", "adam")

# numpy's legacy seeding (np.random.seed, which the child calls) takes 32-bit seeds: a
# larger one would fail only inside the measured child, mid-run.
MAX_RNG_SEED = 2**32 - 1
# The longest wait between two RSS samples: the sampler thread waits at most this long,
# so a longer interval would not be what was asked for.
MAX_SAMPLE_INTERVAL_SECONDS = 60.0


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
    sample_interval_seconds: float = ruled(
        Number(0.0, exclusive=True, maximum=MAX_SAMPLE_INTERVAL_SECONDS, unit=" s"), 0.01)
    tracemalloc: bool = ruled(Flag(), False)
    uss: bool = ruled(Flag(), False)
    explain: bool = ruled(Flag(), False)
    rng_seed: int = ruled(Integer(0, MAX_RNG_SEED), 0)
    # The training workloads' own settings (train, cnn, rnn); the others ignore them.
    optimizer: str = ruled(OneOf(TRAIN_OPTIMIZERS, "optimizer"), "sgd")
    batch_size: int = ruled(POSITIVE, 30)
    hidden: int = ruled(POSITIVE, 10)
    # The rnn workload's: steps between two truncations of backpropagation through time,
    # and whether the graph is cut there (unchain_backward) or left to the hidden state.
    bptt_length: int = ruled(POSITIVE, 30)
    unchain: bool = ruled(Flag(), True)
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
