"""Models: Layers that are whole networks (DeZero's ``dezero.models``).

Pretrained models (VGG16, ResNet) are left out: their weights are downloaded, and
agmem downloads nothing at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autograd_mem.engine.layers import Layer, Linear
from autograd_mem.engine.ops import sigmoid


class Model(Layer):
    """The Layer a user subclasses for a whole network: it is what an optimizer is set up on."""


class MLP(Model):
    """Fully connected layers of the given output sizes, ``activation`` between them."""

    def __init__(
        self, fc_output_sizes: Sequence[int], activation: Callable[[Any], Any] = sigmoid
    ) -> None:
        super().__init__()
        self.activation = activation
        self.layers: list[Linear] = []
        for i, out_size in enumerate(fc_output_sizes):
            layer = Linear(out_size)
            setattr(self, f"l{i}", layer)
            self.layers.append(layer)

    def forward(self, x: Any) -> Any:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


__all__ = ["MLP", "Model"]
