"""``train``: the book's classifier (steps 48-50), an MLP learning the Spiral data set."""

from __future__ import annotations

from autograd_mem.schema.config import RunConfig
from autograd_mem.targets.workloads import FLOAT32_BYTES, INT64_BYTES, Step, Workload
from autograd_mem.targets.workloads._training import training_floor, training_step

# The Spiral data set's shape (a test checks it against the data), and step 48's rate.
SPIRAL_POINTS, SPIRAL_CLASSES, SPIRAL_FEATURES, SPIRAL_LEARNING_RATE = 300, 3, 2, 1.0


def _train_step(config: RunConfig) -> Step:
    """The book's classifier (step 48-50): an MLP of one hidden layer on the Spiral data.

    ``hidden`` is the hidden layer's width and ``batch_size`` the minibatch; ``size``
    and ``depth`` are not used. The weights are sized before the first iteration, so
    that they belong to the baseline, as the data does.
    """
    import numpy as np

    from autograd_mem.engine import no_grad
    from autograd_mem.engine.dataloaders import DataLoader
    from autograd_mem.engine.datasets import Spiral
    from autograd_mem.engine.models import MLP

    rng = np.random.default_rng(config.rng_seed)
    data = Spiral(train=True)
    loader = DataLoader(data, config.batch_size, rng=rng)
    np.random.seed(config.rng_seed)  # the layers draw their weights from numpy's generator
    model = MLP((config.hidden, SPIRAL_CLASSES))
    with no_grad():
        model(data.data[:1])
    return training_step(config, model, loader, model, SPIRAL_LEARNING_RATE)


def _train_floor(config: RunConfig) -> int:
    """``train``: a minibatch of ``n`` Spiral points through one hidden layer of ``h``.

    A graph holds the batch (``n x 2``), the hidden layer's pre-activation and
    activation (``n x h`` each), the scores (``n x 3``), all float32, and the labels
    (``n`` int64). At the sigmoid's backward, the sigmoid reads one ``n x h`` gradient
    and makes another, and the output layer's gradients (``h x 3 + 3``) are made.
    Under ``no_grad`` the batch, its labels and the hidden layer's two arrays are alive
    together, at the sigmoid. A batch is at most the 300 points.
    """
    n, h = min(config.batch_size, SPIRAL_POINTS), config.hidden
    batch = n * SPIRAL_FEATURES * FLOAT32_BYTES
    hidden_layer = n * h * FLOAT32_BYTES
    if config.no_grad:
        return batch + n * INT64_BYTES + 2 * hidden_layer
    graph = batch + 2 * hidden_layer + n * SPIRAL_CLASSES * FLOAT32_BYTES + n * INT64_BYTES
    output_layer = h * SPIRAL_CLASSES + SPIRAL_CLASSES
    in_flight = 2 * hidden_layer + output_layer * FLOAT32_BYTES
    parameters = SPIRAL_FEATURES * h + h + output_layer
    return training_floor(config, graph, batch, in_flight, parameters)


WORKLOAD = Workload(make_step=_train_step, floor_bytes=_train_floor, listed=3)
