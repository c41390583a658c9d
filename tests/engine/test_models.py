"""Models: Sequential, and VGG16, ResNet and SqueezeNet built without pretrained weights.

The full networks are too large to run in a unit test (VGG16 alone has 138 million
weights), so each is checked for its structure, and run with its wide layers swapped
for narrow ones or on its blocks at small sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mem as am
import autograd_mem.functions as F
import autograd_mem.layers as L
from autograd_mem.engine import REFERENCE_MODES
from autograd_mem.models import (
    VGG16,
    BottleneckA,
    BottleneckB,
    BuildingBlock,
    ResNet,
    ResNet50,
    ResNet101,
    ResNet152,
    Sequential,
    SqueezeNet,
)

rng = np.random.default_rng(16)


def images(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_sequential_applies_its_layers_in_order_and_owns_their_parameters(mode: str) -> None:
    np.random.seed(0)
    model = Sequential(L.Linear(5), F.relu, L.Linear(2))
    x = images(3, 4)
    with am.reference_mode(mode):
        y = model(x)
        F.sum(y).backward()
    l0, l2 = model.layers[0], model.layers[2]
    expected = np.maximum(x @ l0.W.data + l0.b.data, 0) @ l2.W.data + l2.b.data
    np.testing.assert_allclose(y.data, expected, rtol=1e-5)
    assert [p.shape for p in model.params()] == [(4, 5), (5,), (5, 2), (2,)]
    assert all(p.grad is not None for p in model.params())


def test_vgg16_has_dezeros_layers_and_runs_with_narrow_linears() -> None:
    model = VGG16()
    convs = [name for name in vars(model) if name.startswith("conv")]
    assert len(convs) == 13 and convs[0] == "conv1_1" and convs[-1] == "conv5_3"
    assert [model.conv1_1.out_channels, model.conv3_3.out_channels, model.conv5_3.out_channels] == [
        64,
        256,
        512,
    ]
    assert (model.fc6.out_size, model.fc7.out_size, model.fc8.out_size) == (4096, 4096, 1000)
    # the network's path, with its three linears narrowed so a unit test can run it
    model.fc6, model.fc7, model.fc8 = L.Linear(8), L.Linear(8), L.Linear(3)
    with am.test_mode():
        y = model(images(1, 3, 32, 32))
    assert y.shape == (1, 3) and y.dtype == np.float32
    assert model.fc6.W.shape == (512, 8)  # five 2x2 poolings take 32x32 to 1x1


def test_vgg16_preprocess_makes_a_bgr_mean_subtracted_chw_array() -> None:
    Image = pytest.importorskip("PIL.Image")
    image = Image.fromarray(np.full((10, 20, 3), (200, 100, 50), dtype=np.uint8))
    x = VGG16.preprocess(image, size=(8, 6))
    assert x.shape == (3, 6, 8)
    np.testing.assert_allclose(x[:, 0, 0], [50 - 103.939, 100 - 116.779, 200 - 123.68], rtol=1e-5)


@pytest.mark.parametrize(
    ("model", "blocks"),
    [(ResNet50, (3, 4, 6, 3)), (ResNet101, (3, 4, 23, 3)), (ResNet152, (3, 8, 36, 3))],
)
def test_resnet_depths_have_the_papers_blocks(model: type, blocks: tuple) -> None:
    net = model()
    stages = [net.res2, net.res3, net.res4, net.res5]
    assert tuple(len(stage._forward) for stage in stages) == blocks
    # 3 convolutions per bottleneck, the first and the last layer: the name's depth
    assert 3 * sum(blocks) + 2 == int(model.__name__[len("ResNet") :])


def test_resnet_refuses_an_unknown_depth() -> None:
    with pytest.raises(ValueError, match="50, 101, or 152, but 34 was given"):
        ResNet(34)


@pytest.mark.parametrize("model", [VGG16, ResNet50, SqueezeNet])
def test_pretrained_weights_are_refused_with_a_way_forward(model: type) -> None:
    with pytest.raises(ValueError, match=r"without pretrained weights.*load_weights"):
        model(pretrained=True)


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_resnet_blocks_keep_or_halve_the_resolution_and_backpropagate(mode: str) -> None:
    np.random.seed(1)
    x = images(2, 4, 8, 8)
    with am.reference_mode(mode):
        a = BottleneckA(4, 2, 6, stride=2)(x)
        b = BottleneckB(4, 2)(x)
        stage = BuildingBlock(3, 4, 2, 6, stride=2)
        y = stage(x)
        F.sum(y).backward()
    assert a.shape == (2, 6, 4, 4) and b.shape == x.shape and y.shape == (2, 6, 4, 4)
    # A: 4 convolutions (no bias) and 4 batch norms of 4 Parameters; each B: 3 and 3
    assert len(list(stage.params())) == (4 + 4 * 4) + 2 * (3 + 3 * 4)
    assert all(p.grad is not None for p in stage.params() if p.name in ("W", "gamma", "beta"))


def test_bottleneck_b_adds_its_input_back() -> None:
    np.random.seed(2)
    block = BottleneckB(3, 2)
    x = np.abs(images(1, 3, 4, 4))
    with am.test_mode():
        y = block(x)
        h = F.relu(block.bn1(block.conv1(x)))
        branch = block.bn3(block.conv3(F.relu(block.bn2(block.conv2(h)))))
    np.testing.assert_allclose(y.data, np.maximum(branch.data + x, 0), rtol=1e-5)


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_squeezenet_classifies_a_small_batch_and_backpropagates(mode: str) -> None:
    np.random.seed(3)
    model = SqueezeNet(n_classes=5)
    with am.reference_mode(mode):
        y = model(images(2, 3, 64, 64))
        F.softmax_cross_entropy(y, np.array([1, 4])).backward()
    assert y.shape == (2, 5)
    assert len(model.fires) == 8 and model.fire9.expand3x3.out_channels == 256
    assert model.conv1.W.grad.shape == (64, 3, 3, 3)


def test_fire_module_joins_its_two_expansions_along_the_channels() -> None:
    np.random.seed(4)
    fire = SqueezeNet(n_classes=2).fire2
    x = am.Variable(images(1, 64, 5, 5))
    y = fire(x)
    s = F.relu(fire.squeeze(x))
    e1, e3 = F.relu(fire.expand1x1(s)), F.relu(fire.expand3x3(s))
    np.testing.assert_array_equal(y.data, np.concatenate([e1.data, e3.data], axis=1))
    # the join's gradient is split back between the two: the same as each branch's own
    w = rng.standard_normal(y.shape).astype(np.float32)
    F.sum(y * w).backward()
    joined = x.grad.data
    x.cleargrad()
    (F.sum(e1 * w[:, :64]) + F.sum(e3 * w[:, 64:])).backward()
    np.testing.assert_allclose(joined, x.grad.data, rtol=1e-5, atol=1e-6)
