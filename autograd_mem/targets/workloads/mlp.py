"""``mlp``: an SGD step of a two-layer perceptron on DeZero's sine regression data."""

from __future__ import annotations

from typing import Any

from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.units import format_count
from autograd_mem.targets.workloads import FLOAT64_BYTES, Step, Workload

# The hidden width; ``size`` is the number of training samples (see _mlp_step).
MLP_HIDDEN = 10
MLP_LEARNING_RATE = 0.2


def _mlp_step(config: RunConfig) -> Step:
    """One SGD step of a two-layer perceptron on synthetic data (DeZero's sine regression).

    ``size`` is the number of training samples (the batch: every step sees them all) and
    the hidden width is fixed at ``MLP_HIDDEN``, so ``size`` scales the activations the
    graph holds, which is what the memory depends on. ``depth`` is not used. The previous
    step's ``loss`` stays bound while the next graph is built, as in a training loop.
    It always calls ``backward`` (``backward`` in the config changes nothing) unless
    ``no_grad`` asks for the forward pass alone.
    """
    import numpy as np

    from autograd_mem.engine import Variable
    from autograd_mem.engine.ops import linear, mean_squared_error, sigmoid

    rng = np.random.default_rng(config.rng_seed)
    x = rng.random((config.size, 1))
    t = np.sin(2 * np.pi * x) + rng.random((config.size, 1))
    w1 = Variable(0.01 * rng.standard_normal((1, MLP_HIDDEN)))
    b1 = Variable(np.zeros(MLP_HIDDEN))
    w2 = Variable(0.01 * rng.standard_normal((MLP_HIDDEN, 1)))
    b2 = Variable(np.zeros(1))
    parameters = (w1, b1, w2, b2)
    train = not config.no_grad  # an SGD step always needs its gradients
    held: list[Any] = [None]

    def mlp_step(iteration: int) -> None:
        hidden = sigmoid(linear(x, w1, b1))
        loss = mean_squared_error(linear(hidden, w2, b2), t)
        if train:
            for p in parameters:
                p.cleargrad()
            loss.backward()
            for p in parameters:
                p.data -= MLP_LEARNING_RATE * _array(p.grad)
        held[0] = loss

    mlp_step.parameters = parameters  # type: ignore[attr-defined]  # for inspection
    return mlp_step


def _array(grad: Any) -> Any:
    """A gradient as an array, whether the engine stores arrays or Variables in ``grad``."""
    return getattr(grad, "data", grad)


def _mlp_floor(config: RunConfig) -> int:
    """``mlp``: only what the iterations allocate.

    The data and the parameters are made with the step, before the baseline, so they
    are in the baseline and not in the growth this floor is compared with. A graph holds
    the first linear layer's and the sigmoid's ``size x hidden`` outputs and the
    prediction's ``size``; backward gives the graph's two leaves, the data wrapped as
    Variables, a gradient of ``size`` each. At the sigmoid's backward, the busiest
    moment, the previous step's graph (kept by its ``loss``) is alive with its leaves'
    gradients, ``2 * s * h + 3 * s``; so is the current graph with the targets' gradient
    waiting in backward's table and the second layer's parameter gradients,
    ``2 * s * h + 2 * s + h + 1``; and the sigmoid reads its output's gradient and makes
    its input's, ``2 * s * h``. With ``no_grad`` there is no graph and no update: the
    sigmoid's input and output, ``2 * s * h``, are alive together.
    """
    hidden_layer = config.size * MLP_HIDDEN
    if config.no_grad:
        return 2 * hidden_layer * FLOAT64_BYTES
    previous_graph = 2 * hidden_layer + 3 * config.size
    current_graph = 2 * hidden_layer + 2 * config.size + MLP_HIDDEN + 1
    sigmoid_backward = 2 * hidden_layer
    return (previous_graph + current_graph + sigmoid_backward) * FLOAT64_BYTES


WORKLOAD = Workload(
    make_step=_mlp_step,
    floor_bytes=_mlp_floor,
    listed=2,
    parameters=lambda c: [f"{format_count(c.size)} samples"],
)
