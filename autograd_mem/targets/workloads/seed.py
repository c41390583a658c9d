"""``seed``: the notebook's loop, ``y = square(square(square(Variable(randn(size)))))``."""

from __future__ import annotations

from typing import Any

from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.units import format_count
from autograd_mem.targets.workloads import FLOAT64_BYTES, Step, Workload


def _seed_step(config: RunConfig) -> Step:
    """The notebook's loop body: ``x = Variable(randn(size)); y = square(...square(x))``.

    In the notebook ``x`` and ``y`` are loop variables, so the previous iteration's graph
    stays alive (through ``y``) while the next one is built; ``held`` keeps that exactly:
    ``x`` is rebound first, ``y`` last, as the notebook's assignments do.
    """
    import numpy as np

    from autograd_mem.engine import Variable
    from autograd_mem.engine.ops import square

    rng = np.random.default_rng(config.rng_seed)
    size, depth, backward = config.size, config.depth, config.backward
    held: list[Any] = [None, None]

    def seed_step(iteration: int) -> None:
        x = Variable(rng.standard_normal(size))
        held[0] = x
        y = x
        for _ in range(depth):
            y = square(y)
        if backward:
            y.backward()
        held[1] = y

    return seed_step


def _seed_floor(config: RunConfig) -> int:
    """``seed``: ``size`` float64 per array, ``depth + 1`` arrays per graph (the input and
    one output per square).

    The previous iteration's graph is alive, through ``y``, while the next is built, so
    the floor is two graphs: ``2 * (depth + 1)`` arrays. With ``backward`` the previous
    graph also keeps its leaf's gradient (the engine frees intermediate gradients as it
    goes), and the iteration in backward holds, on top of its graph, the seed gradient
    ``ones_like(y)``, the gradient it reads and the one it makes (two when ``depth`` is
    1, the seed being the one read): ``(depth + 2) + (depth + 1) + min(depth + 1, 3)``.
    With ``no_grad`` no graph is recorded: the previous ``y``, the new ``x`` and at most
    two squares in flight, ``2 + min(depth, 2)``.
    """
    graph = config.depth + 1
    if config.no_grad:
        arrays = 2 + min(config.depth, 2)
    elif config.backward:
        arrays = (graph + 1) + graph + min(graph, 3)
    else:
        arrays = 2 * graph
    return arrays * config.size * FLOAT64_BYTES


WORKLOAD = Workload(
    make_step=_seed_step,
    floor_bytes=_seed_floor,
    listed=1,
    parameters=lambda c: [f"size {format_count(c.size)}", f"depth {c.depth}"],
)
