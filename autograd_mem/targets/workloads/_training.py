"""What the training workloads (train, cnn) share: an optimizer's step over minibatches,
and the floor of such a step."""

from __future__ import annotations

from typing import Any

from autograd_mem.schema.config import RunConfig
from autograd_mem.targets.workloads import FLOAT32_BYTES, Step

# The optimizers offered, and the arrays of state each keeps per parameter.
OPTIMIZER_STATE_ARRAYS = {"sgd": 0, "adam": 2}
# Ten times Adam's default step: at the default, Spiral's loss barely moves in 100 steps.
ADAM_STEP_SIZE = 0.01


def _optimizer(config: RunConfig, sgd_learning_rate: float) -> Any:
    """The optimizer ``--optimizer`` names: SGD at the workload's rate, or Adam."""
    from autograd_mem.engine.optimizers import SGD, Adam

    if config.optimizer == "sgd":
        return SGD(sgd_learning_rate)
    return Adam(alpha=ADAM_STEP_SIZE)


def training_step(config: RunConfig, model: Any, loader: Any, forward: Any, rate: float) -> Step:
    """One minibatch of a DeZero training loop, as the book writes it (steps 49-50).

    ``forward(x)`` maps a batch to class scores. The last loss stays bound until the
    next one replaces it, as a loop variable does, so the previous step's graph is
    alive while the next is built. Under ``no_grad`` only the forward pass runs.
    """
    from autograd_mem.engine.functions_nn import softmax_cross_entropy

    optimizer = _optimizer(config, rate).setup(model)
    train = not config.no_grad
    held: list[Any] = [None]
    batches = iter(loader)

    def training_step(iteration: int) -> None:
        nonlocal batches
        try:
            x, t = next(batches)
        except StopIteration:  # an epoch is over: the loader has reshuffled
            batches = iter(loader)
            x, t = next(batches)
        loss = softmax_cross_entropy(forward(x), t)
        if train:
            model.cleargrads()
            loss.backward()
            optimizer.update()
        held[0] = loss

    training_step.model = model  # type: ignore[attr-defined]  # for inspection
    training_step.held = held  # type: ignore[attr-defined]
    return training_step


def training_floor(
    config: RunConfig, graph: int, batch: int, in_flight: int, parameters: int
) -> int:
    """The floor of a training step, from its parts in bytes (see the two callers).

    Counted while backward runs through the largest activation: the previous step's
    graph is alive (its loss is still bound) with the gradient its backward gave the
    batch, a leaf; so is the new graph, with the gradients ``in_flight`` at that
    moment (the one the activation reads, the one it makes, and the parameter
    gradients of the layers after it); and a stateful optimizer's state, one array per
    parameter per moment. The parameters and the data are made with the step, before
    the baseline, so they are not counted.
    """
    state = OPTIMIZER_STATE_ARRAYS[config.optimizer] * parameters * FLOAT32_BYTES
    return 2 * graph + batch + in_flight + state
