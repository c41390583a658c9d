"""What a report says of the target a document measured, read through the one target type.

Reporters render documents and import nothing upstream of analysis; what they say of a
run's target (its name, its command as typed, the parameters it reads, whether it ran
once on the clock or iteration by iteration) is a pure function of the document's
config, computed here by the target itself, so no reporter asks which kind it has.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from autograd_mem.schema.config import RunConfig
from autograd_mem.targets.target import target_of


@dataclass(frozen=True)
class TargetView:
    """A run's target as the reports name it (see ``targets.target.Target`` for each word).

    ``runs_once``: a whole program, run once: a chart's axis is seconds, there is no floor,
    no time per iteration, and its timeline holds its setup. ``reports_children``: its
    worker processes' RSS has rows of its own.
    """

    title: str
    short_label: str
    parameters: tuple[str, ...]
    runs_once: bool
    reports_children: bool


@functools.lru_cache(maxsize=64)
def target_view(config: RunConfig) -> TargetView:
    """The view of ``config``'s target (cached: a report asks for it per row and per strip)."""
    target = target_of(config)
    return TargetView(
        title=target.title,
        short_label=target.short_label,
        parameters=tuple(target.parameters()),
        runs_once=target.traits.runs_once,
        reports_children=target.traits.reports_children,
    )
