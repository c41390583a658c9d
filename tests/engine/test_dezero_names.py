"""Every DeZero 0.0.13 CPU name imports from agmem's module of the same path.

The lists are DeZero 0.0.13's public names (``dezero/*.py``, names without a leading
underscore), less the data sets that need a download (MNIST, CIFAR10, CIFAR100,
ImageNet, Shakespear): a DeZero user swaps ``dezero`` for ``autograd_mem`` in the
imports and finds each of these.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem.engine import REFERENCE_MODES

DEZERO_NAMES = {
    "core": """Config using_config no_grad test_mode Variable Parameter as_variable as_array
        Function Add add Mul mul Neg neg Sub sub rsub Div div rdiv Pow pow setup_variable""",
    "core_simple": """Config using_config no_grad Variable as_variable as_array Function Add add
        Mul mul Neg neg Sub sub rsub Div div rdiv Pow pow setup_variable""",
    "functions": """Sin sin Cos cos Tanh tanh Exp exp Log log Reshape reshape Transpose transpose
        GetItem GetItemGrad get_item expand_dims flatten Sum sum SumTo sum_to BroadcastTo
        broadcast_to average MatMul matmul Linear linear linear_simple sigmoid_simple Sigmoid
        sigmoid ReLU relu softmax_simple Softmax softmax LogSoftmax log_softmax LeakyReLU
        leaky_relu mean_squared_error_simple MeanSquaredError mean_squared_error
        softmax_cross_entropy_simple SoftmaxCrossEntropy softmax_cross_entropy
        sigmoid_cross_entropy binary_cross_entropy accuracy dropout BatchNorm batch_nrom embed_id
        Max Min max min Clip clip conv2d deconv2d conv2d_simple im2col col2im pooling_simple
        pooling average_pooling add sub rsub mul div neg pow""",
    "functions_conv": """conv2d_simple pooling_simple Conv2d conv2d Deconv2d deconv2d Conv2DGradW
        Pooling Pooling2DGrad Pooling2DWithIndexes pooling AveragePooling average_pooling Im2col
        im2col Col2im col2im im2col_array col2im_array""",
    "layers": "Layer Linear Conv2d Deconv2d RNN LSTM EmbedID BatchNorm",
    "models": """Model Sequential MLP VGG16 ResNet ResNet152 ResNet101 ResNet50 BuildingBlock
        BottleneckA BottleneckB SqueezeNet""",
    "optimizers": """Optimizer WeightDecay ClipGrad FreezeParam SGD MomentumSGD AdaGrad AdaDelta
        Adam""",
    "datasets": "Dataset Spiral get_spiral SinCurve load_cache_npz save_cache_npz",
    "dataloaders": "pil_available DataLoader SeqDataLoader",
    "utils": """get_dot_graph plot_dot_graph sum_to reshape_sum_backward logsumexp
        max_backward_shape gradient_check numerical_grad array_equal array_allclose show_progress
        cache_dir get_file get_deconv_outsize get_conv_outsize pair""",
    "transforms": """Compose Convert Resize CenterCrop ToArray ToPIL RandomHorizontalFlip Normalize
        Flatten AsType ToFloat ToInt""",
    "cuda": "gpu_enable get_array_module as_numpy as_cupy",
}
TOP_LEVEL = """Variable Parameter Function using_config no_grad test_mode as_array as_variable
    setup_variable Config Layer Model Dataset DataLoader SeqDataLoader datasets dataloaders
    optimizers functions functions_conv layers utils cuda transforms"""


@pytest.mark.parametrize("module", sorted(DEZERO_NAMES))
def test_every_dezero_name_is_in_the_module_of_the_same_path(module: str) -> None:
    imported = importlib.import_module(f"autograd_mem.{module}")
    missing = [name for name in DEZERO_NAMES[module].split() if not hasattr(imported, name)]
    assert missing == []


def test_dezeros_top_level_names_are_on_the_package() -> None:
    assert [name for name in TOP_LEVEL.split() if not hasattr(am, name)] == []


def test_the_dezero_modules_share_one_engine() -> None:
    import autograd_mem.core as core
    import autograd_mem.core_simple as core_simple
    import autograd_mem.functions as F
    import autograd_mem.functions_conv as Fc
    import autograd_mem.utils as utils

    assert core.Variable is core_simple.Variable is am.Variable
    assert F.conv2d is Fc.conv2d and F.add is core.add
    assert utils.pair is Fc.pair
    assert F.batch_nrom is F.batch_nrm


def test_importing_the_package_still_imports_no_numpy() -> None:
    code = "import sys, autograd_mem; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------- core: rsub, rdiv, setup_variable


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_rsub_and_rdiv_swap_their_operands_and_differentiate(mode: str) -> None:
    import autograd_mem.core as core

    with am.reference_mode(mode):
        x = am.Variable(np.array([2.0, 4.0]))
        y = core.rsub(x, 10.0) + core.rdiv(x, 8.0)  # (10 - x) + 8 / x
        y.backward()
    np.testing.assert_array_equal(y.data, [12.0, 8.0])
    np.testing.assert_allclose(x.grad.data, -1 - 8 / np.array([2.0, 4.0]) ** 2)


def test_setup_variable_can_be_called_again_and_operators_still_work() -> None:
    am.setup_variable()
    x = am.Variable(np.array(3.0))
    assert (2.0 - x).data == -1.0 and (6.0 / x).data == 2.0 and (x**2).data == 9.0


def test_as_array_takes_dezeros_array_module_argument() -> None:
    a = am.as_array(1.5, np)
    assert type(a) is np.ndarray and a.shape == () and a == 1.5


# ---------------------------------------------------------------- cuda


def test_cuda_is_numpy_and_refuses_cupy_clearly() -> None:
    import autograd_mem.cuda as cuda

    x = am.Variable(np.ones(2))
    assert cuda.gpu_enable is False and cuda.get_array_module(x) is np
    assert cuda.as_numpy(x) is x.data and cuda.as_numpy(3).shape == ()
    with pytest.raises(am.engine.GPUUnavailableError, match="numpy arrays only"):
        cuda.as_cupy(x)
