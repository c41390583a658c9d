"""Checks before any child starts: the target can be found, the run can fit in memory."""

from __future__ import annotations

from autograd_mem.errors import UsageError
from autograd_mem.probes import rss
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.units import format_bytes
from autograd_mem.targets.target import target_of


def validate(config: RunConfig) -> None:
    """Refuse, before any run starts, a target that cannot be found (WorkloadError, exit 2).

    A program is checked without running any of it, a workload without importing it.
    The other fields were checked when the config was built: a RunConfig checks itself
    (the sampling interval's bound too, so a baseline that names another is refused as
    it is read).
    """
    target_of(config).check()


def refuse_what_cannot_fit(config: RunConfig) -> None:
    """Refuse, before any child starts, a run whose floor and bookkeeping exceed free memory.

    The floor is what a built-in workload must hold at its peak; the bookkeeping is
    what agmem keeps per iteration, which alone makes ``--iterations 10**12``
    impossible whatever the workload. Better one clear line now than an OOM kill later.
    A program has neither: nothing can be known of it before it runs.
    """
    target = target_of(config)
    floor = target.floor_bytes() or 0
    bookkeeping = target.bookkeeping_bytes()
    available = rss.available_memory_bytes()
    if floor + bookkeeping <= available:
        return
    parts = []
    if floor:
        parts.append(f"{format_bytes(floor)} of arrays at its peak (its floor)")
    parts.append(f"{format_bytes(bookkeeping)} of per-iteration records")
    raise UsageError(
        f"the run needs at least {' and '.join(parts)}, but only {format_bytes(available)} "
        "of memory is available; use a smaller size or fewer iterations, or force it (--force)"
    )
