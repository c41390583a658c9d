"""Layers and models: parameters registered and sized as DeZero's, outputs as their functions'."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mem as am
import autograd_mem.functions as F
import autograd_mem.layers as L
from autograd_mem.engine import REFERENCE_MODES
from autograd_mem.engine.core import Parameter
from autograd_mem.models import MLP, Model

rng = np.random.default_rng(5)


def test_dezero_style_imports_resolve_through_the_package() -> None:
    # a DeZero user's ``import dezero`` then ``dezero.layers.Linear``, with agmem swapped in
    assert am.layers.Linear is L.Linear
    assert am.models.MLP is MLP
    assert am.optimizers.SGD.__name__ == "SGD"
    assert am.datasets.Spiral.__name__ == "Spiral"
    assert am.DataLoader is am.dataloaders.DataLoader
    assert am.Model is Model and am.Layer is L.Layer
    assert L.Parameter is Parameter


def test_linear_sizes_its_weights_at_the_first_call() -> None:
    # given a Linear layer without an input size
    np.random.seed(0)
    layer = L.Linear(3)
    assert layer.W.data is None
    # when it first sees a batch of 4-feature rows
    x = rng.standard_normal((5, 4)).astype(np.float32)
    y = layer(x)
    # then W is (4, 3) float32, scaled by sqrt(1 / in_size), and y is x @ W + b
    assert layer.W.shape == (4, 3) and layer.W.dtype == np.float32
    assert 0.2 < layer.W.data.std() < 1.0
    np.testing.assert_allclose(y.data, x @ layer.W.data + layer.b.data, rtol=1e-6)
    assert y.dtype == np.float32


def test_linear_with_in_size_and_nobias() -> None:
    layer = L.Linear(2, nobias=True, in_size=3, dtype=np.float64)
    assert layer.W.shape == (3, 2) and layer.W.dtype == np.float64
    assert layer.b is None
    assert [p.name for p in layer.params()] == ["W"]


def test_params_walk_sub_layers_in_the_order_they_were_set() -> None:
    # given a model with a sub-layer set between two of its own parameters
    class Net(Model):
        def __init__(self) -> None:
            super().__init__()
            self.scale = Parameter(np.ones(1), name="scale")
            self.fc = L.Linear(2, in_size=2)
            self.shift = Parameter(np.zeros(1), name="shift")
            self.not_a_param = np.zeros(3)

    net = Net()
    # then params() yields all of them, depth first, and nothing else
    assert [p.name for p in net.params()] == ["scale", "W", "b", "shift"]
    # and an attribute rebound to a non-Parameter is no longer one
    net.shift = None
    assert [p.name for p in net.params()] == ["scale", "W", "b"]
    del net.scale
    assert [p.name for p in net.params()] == ["W", "b"]


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_cleargrads_forgets_every_gradient(mode: str) -> None:
    with am.reference_mode(mode):
        model = MLP((4, 2))
        F.sum(model(rng.standard_normal((3, 5)))).backward()
        assert all(p.grad is not None for p in model.params())
        model.cleargrads()
        assert all(p.grad is None for p in model.params())


def test_mlp_is_its_linear_layers_with_the_activation_between() -> None:
    np.random.seed(1)
    model = MLP((5, 4, 2), activation=F.relu)
    x = rng.standard_normal((3, 6))
    y = model(x)
    l0, l1, l2 = model.l0, model.l1, model.l2
    h = np.maximum(x @ l0.W.data + l0.b.data, 0)
    h = np.maximum(h @ l1.W.data + l1.b.data, 0)
    np.testing.assert_allclose(y.data, h @ l2.W.data + l2.b.data, rtol=1e-5)
    assert [p.shape for p in model.params()] == [(6, 5), (5,), (5, 4), (4,), (4, 2), (2,)]


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_mlp_gradients_are_those_of_its_functions(mode: str) -> None:
    # given an MLP, and the same computation written with functions on plain Variables
    np.random.seed(2)
    model = MLP((4, 3))
    x, t = rng.standard_normal((6, 2)), np.array([0, 1, 2, 0, 1, 2])

    def loss(w0, b0, w1, b1):
        return F.softmax_cross_entropy(F.linear(F.sigmoid(F.linear(x, w0, b0)), w1, b1), t)

    with am.reference_mode(mode):
        F.softmax_cross_entropy(model(x), t).backward()
        copies = [am.Variable(p.data.copy()) for p in model.params()]
        loss(*copies).backward()
        # then the model's gradients are the functions' (whose gradient is right)
        for p, copy in zip(model.params(), copies, strict=True):
            np.testing.assert_array_equal(p.grad.data, copy.grad.data)
        assert am.gradient_check(loss, *[p.data for p in model.params()])


def test_conv2d_and_deconv2d_layers_size_their_filters_and_apply_them() -> None:
    np.random.seed(3)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    conv = L.Conv2d(4, kernel_size=3, stride=1, pad=1)
    y = conv(x)
    assert conv.W.shape == (4, 3, 3, 3) and y.shape == (2, 4, 6, 6)
    np.testing.assert_array_equal(y.data, F.conv2d(x, conv.W.data, conv.b.data, 1, 1).data)
    deconv = L.Deconv2d(2, kernel_size=4, stride=2, pad=1, nobias=True)
    z = deconv(y)
    assert deconv.W.shape == (4, 2, 4, 4) and z.shape == (2, 2, 12, 12)
    np.testing.assert_array_equal(z.data, F.deconv2d(y.data, deconv.W.data, None, 2, 1).data)


def test_batch_norm_layer_learns_scale_and_shift_and_tracks_running_stats() -> None:
    # given a BatchNorm layer on a batch of 3-channel images with mean 5
    x = rng.standard_normal((8, 3, 4, 4)) + 5.0
    layer = L.BatchNorm()
    y = layer(x)
    # then each channel comes out centred and scaled, with gamma 1 and beta 0
    assert layer.gamma.shape == (3,) and layer.beta.shape == (3,)
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(y.data.std(axis=(0, 2, 3)), 1, atol=1e-3)
    # and the running mean moved a tenth of the way towards 5
    np.testing.assert_allclose(layer.avg_mean.data, 0.1 * x.mean(axis=(0, 2, 3)))
    # and only gamma and beta receive gradients: the running stats are left to the layer
    F.sum(y * y).backward()
    with_grad = [p.name for p in layer.params() if p.grad is not None]
    assert with_grad == ["gamma", "beta"]


def test_embed_id_layer_looks_up_its_rows_and_gets_their_gradients() -> None:
    layer = L.EmbedID(5, 3)
    y = layer(np.array([1, 1, 4]))
    np.testing.assert_array_equal(y.data, layer.W.data[[1, 1, 4]])
    F.sum(y).backward()
    np.testing.assert_array_equal(layer.W.grad.data[:, 0], [0, 2, 0, 0, 1])


def test_weights_saved_and_loaded_give_the_same_model(tmp_path) -> None:
    # given a trained-looking model saved to a file
    np.random.seed(4)
    model = MLP((3, 2))
    x = rng.standard_normal((2, 4))
    expected = model(x).data
    path = tmp_path / "mlp.npz"
    model.save_weights(path)
    # when a fresh model of the same shape loads it
    np.random.seed(5)
    other = MLP((3, 2))
    other(x)  # sizes (and randomizes) its weights
    other.load_weights(path)
    # then it computes the same function, and the save left no temporary file behind
    np.testing.assert_array_equal(other(x).data, expected)
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.npz"]
