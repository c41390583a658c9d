"""The built-in workloads: a registry of this package's modules, each declaring one workload.

A workload's module is named after it (``seed.py`` is ``--workload seed``) and declares,
as ``WORKLOAD``, its step, what it reads of the config, and its floor. Adding a
built-in is adding a module here: the registry finds it, and the CLI's help, the
parent's check, the child's step and the reports all read the registry. Modules whose
name starts with ``_`` hold what several workloads share and are not workloads.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from autograd_mem.schema.config import RunConfig

# A step is what the child calls once per iteration, with the iteration's index.
Step = Callable[[int], object]

# What the floors count in: DeZero's layers (train, cnn) compute in float32; labels and
# max pooling's argmax indexes are int64; the rest is numpy's default float64.
FLOAT64_BYTES = 8
FLOAT32_BYTES = 4
INT64_BYTES = 8


def _reads_nothing(config: RunConfig) -> list[str]:
    return []


@dataclass(frozen=True)
class Workload:
    """What a built-in's module declares: its step, its floor, the parameters it reads.

    ``make_step(config)`` builds fresh state (seeded data, parameters) and returns the
    step; ``floor_bytes(config)`` is the array data one iteration must hold at its peak,
    a lower bound known before the run; ``parameters(config)`` says, in a report's
    words, the figures of the config it reads (``["size 10,000", "depth 3"]``), so
    reporters show them without knowing any workload. ``listed`` orders the built-ins
    in help and messages: the notebook's loop first, then models of growing size.
    """

    make_step: Callable[[RunConfig], Step]
    floor_bytes: Callable[[RunConfig], int]
    listed: int
    parameters: Callable[[RunConfig], list[str]] = _reads_nothing


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Workload]:
    """Every built-in by name, in the order they are listed; read once, from this package.

    A module of the package that declares no ``WORKLOAD`` is a mistake in agmem itself,
    so it fails loudly rather than being skipped.
    """
    found: dict[str, Workload] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        workload = getattr(module, "WORKLOAD", None)
        if not isinstance(workload, Workload):
            raise TypeError(f"{module.__name__} declares no WORKLOAD = Workload(...)")
        found[module_info.name] = workload
    return dict(sorted(found.items(), key=lambda item: (item[1].listed, item[0])))


def names() -> tuple[str, ...]:
    """``("seed", "mlp", ...)``: the built-ins' names, in the order they are listed."""
    return tuple(registry())
