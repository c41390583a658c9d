"""Models: Layers that are whole networks (DeZero's ``dezero.models``).

``VGG16``, ``ResNet`` and ``SqueezeNet`` are built without pretrained weights: those
are downloaded, and agmem downloads nothing by itself. ``pretrained=True`` says so;
weights saved by ``save_weights`` load with ``load_weights``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_mem.engine.core import Function, Variable
from autograd_mem.engine.dot_graph import plot_dot_graph
from autograd_mem.engine.functions_conv import average_pooling, pooling
from autograd_mem.engine.functions_nn import dropout
from autograd_mem.engine.layers import BatchNorm, Conv2d, Layer, Linear
from autograd_mem.engine.ops import relu, reshape, sigmoid


class Model(Layer):
    """The Layer a user subclasses for a whole network: it is what an optimizer is set up on."""

    def plot(self, *inputs: Any, to_file: str = "model.png") -> Any:
        """Run ``inputs`` through the model and draw the graph of its output (graphviz)."""
        return plot_dot_graph(self.forward(*inputs), verbose=True, to_file=to_file)


def _refuse_pretrained(name: str) -> None:
    raise ValueError(
        f"{name}(pretrained=True): agmem builds models without pretrained weights, which "
        "DeZero downloads; build it untrained, or load your own file with load_weights(path)"
    )


class Sequential(Model):
    """The given layers (or functions) applied one after another."""

    def __init__(self, *layers: Callable[[Any], Any]) -> None:
        super().__init__()
        self.layers = list(layers)
        for i, layer in enumerate(layers):
            setattr(self, f"l{i}", layer)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x


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


# ---------------------------------------------------------------- VGG16

# Output channels of VGG16's convolutions, block by block; each block ends in a 2x2 pooling.
_VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class VGG16(Model):
    """VGG-16 (Simonyan and Zisserman): 13 3x3 convolutions in five blocks, three linears.

    The layers are named as DeZero's and chainer's (``conv1_1`` ... ``fc8``), so their
    weights can be copied across by name.
    """

    def __init__(self, pretrained: bool = False) -> None:
        super().__init__()
        if pretrained:
            _refuse_pretrained("VGG16")
        for block, channels in enumerate(_VGG16_BLOCKS, start=1):
            for i, out_channels in enumerate(channels, start=1):
                setattr(self, f"conv{block}_{i}", Conv2d(out_channels, 3, stride=1, pad=1))
        self.fc6 = Linear(4096)
        self.fc7 = Linear(4096)
        self.fc8 = Linear(1000)

    def forward(self, x: Any) -> Any:
        for block, channels in enumerate(_VGG16_BLOCKS, start=1):
            for i in range(1, len(channels) + 1):
                x = relu(getattr(self, f"conv{block}_{i}")(x))
            x = pooling(x, 2, 2)
        x = reshape(x, (x.shape[0], -1))
        x = dropout(relu(self.fc6(x)))
        x = dropout(relu(self.fc7(x)))
        return self.fc8(x)

    @staticmethod
    def preprocess(image: Any, size: Any = (224, 224), dtype: Any = np.float32) -> np.ndarray:
        """A Pillow image as VGG16's input: RGB, resized, BGR, mean-subtracted, (C, H, W)."""
        image = image.convert("RGB")
        if size:
            image = image.resize(size)
        array = np.asarray(image, dtype=dtype)[:, :, ::-1]
        array = array - np.array([103.939, 116.779, 123.68], dtype=dtype)
        return array.transpose((2, 0, 1))


# ---------------------------------------------------------------- ResNet

_RESNET_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


class ResNet(Model):
    """ResNet-50/101/152 (He et al.) of bottleneck blocks, as DeZero's and chainer's."""

    def __init__(self, n_layers: int = 152, pretrained: bool = False) -> None:
        super().__init__()
        if n_layers not in _RESNET_BLOCKS:
            raise ValueError(
                f"The n_layers argument should be either 50, 101, or 152, but {n_layers} was given."
            )
        if pretrained:
            _refuse_pretrained(f"ResNet{n_layers}")
        blocks = _RESNET_BLOCKS[n_layers]
        self.conv1 = Conv2d(64, 7, 2, 3)
        self.bn1 = BatchNorm()
        self.res2 = BuildingBlock(blocks[0], 64, 64, 256, 1)
        self.res3 = BuildingBlock(blocks[1], 256, 128, 512, 2)
        self.res4 = BuildingBlock(blocks[2], 512, 256, 1024, 2)
        self.res5 = BuildingBlock(blocks[3], 1024, 512, 2048, 2)
        self.fc6 = Linear(1000)

    def forward(self, x: Any) -> Any:
        x = relu(self.bn1(self.conv1(x)))
        x = pooling(x, kernel_size=3, stride=2)
        x = self.res5(self.res4(self.res3(self.res2(x))))
        return self.fc6(_global_average_pooling_2d(x))


class ResNet152(ResNet):
    def __init__(self, pretrained: bool = False) -> None:
        super().__init__(152, pretrained)


class ResNet101(ResNet):
    def __init__(self, pretrained: bool = False) -> None:
        super().__init__(101, pretrained)


class ResNet50(ResNet):
    def __init__(self, pretrained: bool = False) -> None:
        super().__init__(50, pretrained)


def _global_average_pooling_2d(x: Any) -> Any:
    n, c, h, w = x.shape
    return reshape(average_pooling(x, (h, w), stride=1), (n, c))


class BuildingBlock(Layer):
    """One stage of a ResNet: a ``BottleneckA`` (which may stride) then ``BottleneckB``s."""

    def __init__(
        self,
        n_layers: int,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int,
        downsample_fb: bool = False,
    ) -> None:
        super().__init__()
        self.a = BottleneckA(in_channels, mid_channels, out_channels, stride, downsample_fb)
        self._forward = ["a"]
        for i in range(1, n_layers):
            setattr(self, f"b{i}", BottleneckB(out_channels, mid_channels))
            self._forward.append(f"b{i}")

    def forward(self, x: Any) -> Any:
        for name in self._forward:
            x = getattr(self, name)(x)
        return x


class BottleneckA(Layer):
    """A bottleneck that changes the resolution, with a projected shortcut.

    ``downsample_fb``: stride on the 3x3 convolution (Facebook's ResNet) rather than
    on the first 1x1 (the original MSRA ResNet).
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int = 2,
        downsample_fb: bool = False,
    ) -> None:
        super().__init__()
        stride_1x1, stride_3x3 = (1, stride) if downsample_fb else (stride, 1)
        self.conv1 = Conv2d(mid_channels, 1, stride_1x1, 0, nobias=True)
        self.bn1 = BatchNorm()
        self.conv2 = Conv2d(mid_channels, 3, stride_3x3, 1, nobias=True)
        self.bn2 = BatchNorm()
        self.conv3 = Conv2d(out_channels, 1, 1, 0, nobias=True)
        self.bn3 = BatchNorm()
        self.conv4 = Conv2d(out_channels, 1, stride, 0, nobias=True)
        self.bn4 = BatchNorm()

    def forward(self, x: Any) -> Any:
        h1 = relu(self.bn1(self.conv1(x)))
        h1 = relu(self.bn2(self.conv2(h1)))
        h1 = self.bn3(self.conv3(h1))
        return relu(h1 + self.bn4(self.conv4(x)))


class BottleneckB(Layer):
    """A bottleneck that keeps the resolution, with an identity shortcut."""

    def __init__(self, in_channels: int, mid_channels: int) -> None:
        super().__init__()
        self.conv1 = Conv2d(mid_channels, 1, 1, 0, nobias=True)
        self.bn1 = BatchNorm()
        self.conv2 = Conv2d(mid_channels, 3, 1, 1, nobias=True)
        self.bn2 = BatchNorm()
        self.conv3 = Conv2d(in_channels, 1, 1, 0, nobias=True)
        self.bn3 = BatchNorm()

    def forward(self, x: Any) -> Any:
        h = relu(self.bn1(self.conv1(x)))
        h = relu(self.bn2(self.conv2(h)))
        return relu(self.bn3(self.conv3(h)) + x)


# ---------------------------------------------------------------- SqueezeNet


class _ChannelConcat(Function):
    """Two image batches joined along the channels (a Fire module's two expansions)."""

    __slots__ = ()

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate((a, b), axis=1)

    def vjp(self, ops: Any, xs: Any, ys: Any, gys: Any) -> Any:
        split, gy = xs[0].shape[1], gys[0]
        return gy[:, :split], gy[:, split:]


class Fire(Layer):
    """SqueezeNet's module: a 1x1 squeeze, then 1x1 and 3x3 expansions side by side."""

    def __init__(self, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = Conv2d(squeeze, 1)
        self.expand1x1 = Conv2d(expand1x1, 1)
        self.expand3x3 = Conv2d(expand3x3, 3, pad=1)

    def forward(self, x: Any) -> Variable:
        s = relu(self.squeeze(x))
        return _ChannelConcat()(relu(self.expand1x1(s)), relu(self.expand3x3(s)))


# (squeeze, expand) per Fire module of SqueezeNet 1.1; a 3x3 pooling after the 2nd and 4th.
_SQUEEZENET_FIRES = (
    (16, 64),
    (16, 64),
    (32, 128),
    (32, 128),
    (48, 192),
    (48, 192),
    (64, 256),
    (64, 256),
)


class SqueezeNet(Model):
    """SqueezeNet 1.1 (Iandola et al.): AlexNet's accuracy with 50x fewer parameters.

    DeZero 0.0.13 declares this class with an empty body; this one is the network
    its name promises, with floor-mode poolings (DeZero has no ceil mode).
    """

    def __init__(self, pretrained: bool = False, n_classes: int = 1000) -> None:
        super().__init__()
        if pretrained:
            _refuse_pretrained("SqueezeNet")
        self.conv1 = Conv2d(64, 3, stride=2)
        self.fires: list[Fire] = []
        for i, (squeeze, expand) in enumerate(_SQUEEZENET_FIRES, start=2):
            fire = Fire(squeeze, expand, expand)
            setattr(self, f"fire{i}", fire)
            self.fires.append(fire)
        self.conv10 = Conv2d(n_classes, 1)

    def forward(self, x: Any) -> Any:
        x = pooling(relu(self.conv1(x)), 3, 2)
        for i, fire in enumerate(self.fires):
            x = fire(x)
            if i in (1, 3):
                x = pooling(x, 3, 2)
        x = relu(self.conv10(dropout(x)))
        return _global_average_pooling_2d(x)


__all__ = [
    "MLP",
    "VGG16",
    "BottleneckA",
    "BottleneckB",
    "BuildingBlock",
    "Fire",
    "Model",
    "ResNet",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "Sequential",
    "SqueezeNet",
]
