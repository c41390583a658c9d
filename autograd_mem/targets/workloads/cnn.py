"""``cnn``: a small convolutional net's training step on synthetic images, through im2col."""

from __future__ import annotations

from typing import Any

from autograd_mem.schema.config import RunConfig
from autograd_mem.targets.workloads import FLOAT32_BYTES, INT64_BYTES, Step, Workload
from autograd_mem.targets.workloads._training import training_floor, training_step

# Synthetic 1-channel square images of CNN_CLASSES classes, a 3x3 convolution (padding
# 1) to ``hidden`` channels, ReLU, 2x2 max pooling, and a linear classifier.
CNN_IMAGE_SIZE, CNN_CLASSES, CNN_SAMPLES = 8, 4, 300
CNN_KERNEL, CNN_POOL, CNN_LEARNING_RATE = 3, 2, 0.1


def _cnn_step(config: RunConfig) -> Step:
    """A small CNN's training step on synthetic images, its convolution through im2col.

    Each image is noise with a bright row whose position is its class, so the net has
    something to learn. The convolution is ``conv2d_simple``: the im2col matrix is a
    node of the graph, held as long as the graph is (in strong mode, until the
    collector runs), as it is for a DeZero user who writes it. ``hidden`` is the
    number of filters and ``batch_size`` the minibatch; ``size`` and ``depth`` are
    not used.
    """
    import numpy as np

    from autograd_mem.engine.core import Parameter
    from autograd_mem.engine.dataloaders import DataLoader
    from autograd_mem.engine.datasets import Dataset
    from autograd_mem.engine.functions_conv import conv2d_simple, pooling
    from autograd_mem.engine.functions_nn import flatten
    from autograd_mem.engine.layers import Linear
    from autograd_mem.engine.models import Model
    from autograd_mem.engine.ops import relu

    rng = np.random.default_rng(config.rng_seed)
    images = Dataset()
    images.data, images.label = _synthetic_images(rng, CNN_SAMPLES)
    loader = DataLoader(images, config.batch_size, rng=rng)
    fan_in = CNN_KERNEL * CNN_KERNEL
    net = Model()
    net.conv_W = Parameter(
        (rng.standard_normal((config.hidden, 1, CNN_KERNEL, CNN_KERNEL)) / np.sqrt(fan_in))
        .astype(np.float32)
    )
    net.conv_b = Parameter(np.zeros(config.hidden, dtype=np.float32))
    pooled = CNN_IMAGE_SIZE // CNN_POOL
    np.random.seed(config.rng_seed)  # Linear draws its weights from numpy's generator
    net.fc = Linear(CNN_CLASSES, in_size=config.hidden * pooled * pooled)

    def forward(x: Any) -> Any:
        h = relu(conv2d_simple(x, net.conv_W, net.conv_b, 1, CNN_KERNEL // 2))
        return net.fc(flatten(pooling(h, CNN_POOL, CNN_POOL)))

    return training_step(config, net, loader, forward, CNN_LEARNING_RATE)


def _synthetic_images(rng: Any, count: int) -> tuple[Any, Any]:
    """``count`` noisy (1, S, S) float32 images, and their class: the row that is bright."""
    import numpy as np

    labels = rng.integers(0, CNN_CLASSES, count)
    images = rng.standard_normal((count, 1, CNN_IMAGE_SIZE, CNN_IMAGE_SIZE), dtype=np.float32)
    first_row = (CNN_IMAGE_SIZE - CNN_CLASSES) // 2
    images[np.arange(count), 0, first_row + labels, :] += 2.0
    return images, labels


def _cnn_floor(config: RunConfig) -> int:
    """``cnn``: ``n`` images of ``S x S`` pixels, a 3x3 convolution to ``f`` filters.

    A graph holds, in float32: the batch (``n S^2``), its im2col matrix (``9 n S^2``,
    one row of 3x3 patch per pixel), the convolution's output and its ReLU (``f n S^2``
    each), the pooled maps (``f n S^2 / 4``) and the scores (``classes x n``); in
    int64, the pooling's argmax per pooled pixel and the labels. At the ReLU's
    backward, it reads one ``f n S^2`` gradient and makes another, and the classifier's
    gradients are made. Under ``no_grad`` the batch is alive with, first, its im2col
    matrix and the convolution's output, then that output and its ReLU.
    """
    n = min(config.batch_size, CNN_SAMPLES)
    f, k = config.hidden, CNN_KERNEL
    pixels = n * CNN_IMAGE_SIZE * CNN_IMAGE_SIZE
    pooled = (CNN_IMAGE_SIZE // CNN_POOL) ** 2
    batch = pixels * FLOAT32_BYTES
    if config.no_grad:
        return batch + max(k * k + f, 2 * f) * pixels * FLOAT32_BYTES
    floats = pixels * (1 + k * k + 2 * f) + n * f * pooled + n * CNN_CLASSES
    graph = floats * FLOAT32_BYTES + (n * f * pooled + n) * INT64_BYTES
    classifier = f * pooled * CNN_CLASSES + CNN_CLASSES
    in_flight = (2 * f * pixels + classifier) * FLOAT32_BYTES
    parameters = f * k * k + f + classifier
    return training_floor(config, graph, batch, in_flight, parameters)


WORKLOAD = Workload(make_step=_cnn_step, floor_bytes=_cnn_floor, listed=4)
