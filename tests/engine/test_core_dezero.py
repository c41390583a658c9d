"""DeZero's semantics where the engine once differed, in both reference modes.

Cases written from DeZero's public test suite (``tests/test_max.py``) and the book's
steps 32-34 (a ``backward`` of Variables), 44 (``Parameter``), 52 (``to_gpu``) and 54
(``Config.train``); the code is our own.
"""

from __future__ import annotations

import copy
import gc
import sys
import types
from collections.abc import Iterator

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import REFERENCE_MODES, GPUUnavailableError, Parameter, census, test_mode

rng = np.random.default_rng(7)


@pytest.fixture(params=REFERENCE_MODES)
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    with am.reference_mode(request.param):
        yield request.param


# ---------------------------------------------------------------- a user's backward


class Double(am.Function):
    """The book's way of writing a Function: backward reads ``gy.data``, a Variable's."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * 2

    def backward(self, gy: am.Variable) -> am.Variable:
        assert isinstance(gy, am.Variable)
        return am.Variable(gy.data * 2)


class Cube(am.Function):
    """Step 34's style: a backward of Variable ops, differentiable again."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x**3

    def backward(self, gy: am.Variable) -> am.Variable:
        (x,) = self.inputs
        return 3 * x**2 * gy


def test_user_backward_receives_variables_and_may_read_their_data(mode: str) -> None:
    # given a Function whose backward uses gy.data, as the book's do
    x = am.Variable(np.array([1.0, 2.0]))
    # when it is differentiated on the fast path
    Double()(F.square(x)).backward()
    # then it got a Variable, and the chain rule went through it
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])


def test_user_backward_receiving_variables_builds_a_graph_only_with_create_graph(
    mode: str,
) -> None:
    # given y = x^3 through a user's backward of Variable ops
    x = am.Variable(np.array(2.0))
    # when differentiated without create_graph, the gradient has no graph
    Cube()(x).backward()
    assert x.grad.data == 12.0 and x.grad.creator is None
    # and with it, the gradient can be differentiated again: d/dx 3x^2 = 6x = 12
    x.cleargrad()
    Cube()(x).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.data == 12.0


def test_user_backward_may_return_a_plain_array(mode: str) -> None:
    class Halve(am.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x / 2

        def backward(self, gy: am.Variable) -> np.ndarray:
            return gy.data / 2

    x = am.Variable(np.array([4.0]))
    Halve()(x).backward()
    assert isinstance(x.grad, am.Variable)
    np.testing.assert_array_equal(x.grad.data, [0.5])


# ---------------------------------------------------------------- Config.train


def test_train_is_on_by_default_and_test_mode_turns_it_off_for_the_block() -> None:
    assert am.Config.train is True
    with test_mode():
        assert am.Config.train is False
        with pytest.raises(RuntimeError), am.using_config("train", True):
            assert am.Config.train is True
            raise RuntimeError
        assert am.Config.train is False
    assert am.Config.train is True


def test_test_mode_still_records_the_graph() -> None:
    # train and enable_backprop are independent switches, as in DeZero
    with test_mode():
        y = F.square(am.Variable(np.ones(2)))
    assert y.creator is not None


# ---------------------------------------------------------------- Parameter


def test_parameter_is_a_variable_in_every_op_and_gets_a_gradient(mode: str) -> None:
    # given a Parameter and a plain Variable
    w = Parameter(np.array([2.0, 3.0]))
    x = am.Variable(np.array([5.0, 7.0]))
    # when they meet in an op and are differentiated
    y = F.sum(w * x)
    y.backward()
    # then the Parameter behaves as a Variable, keeps its type, and gets its gradient
    assert isinstance(w, am.Variable) and type(w) is Parameter
    assert type(y) is am.Variable
    np.testing.assert_array_equal(w.grad.data, [5.0, 7.0])
    assert am.as_variable(w) is w


def test_parameters_are_counted_by_the_census_and_survive_a_deep_copy() -> None:
    gc.collect()
    before = census.live_variables()
    w = Parameter(np.ones(3), name="w")
    assert census.live_variables() == before + 1
    copied = copy.deepcopy(w)
    assert type(copied) is Parameter and copied.name == "w"
    assert census.live_variables() == before + 2
    del w, copied
    assert census.live_variables() == before


# ---------------------------------------------------------------- devices


def test_to_cpu_keeps_numpy_data_and_the_variable_usable() -> None:
    data = np.arange(3.0)
    x = am.Variable(data)
    x.to_cpu()
    assert x.data is data
    F.sum(x * x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 4.0])
    am.Variable(None).to_cpu()  # no data: nothing to move, and no error


def test_to_gpu_without_cupy_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # given an interpreter where cupy cannot be imported
    monkeypatch.setitem(sys.modules, "cupy", None)
    x = am.Variable(np.ones(2))
    # when to_gpu is called, then a documented error names the missing library
    with pytest.raises(GPUUnavailableError, match="cupy is not installed") as caught:
        x.to_gpu()
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, RuntimeError)
    # and the data stayed where it was
    assert type(x.data) is np.ndarray


def test_to_gpu_with_cupy_installed_still_refuses_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    with pytest.raises(GPUUnavailableError, match="numpy arrays only"):
        am.Variable(np.ones(2)).to_gpu()


# ---------------------------------------------------------------- max, min, dot


@pytest.mark.parametrize(
    ("axis", "keepdims"), [(None, False), (1, False), ((0, 1), False), ((0, 1), True), (-1, True)]
)
def test_max_and_min_match_numpy(axis: object, keepdims: bool, mode: str) -> None:
    data = rng.random((4, 5, 6))
    x = am.Variable(data)
    for method, reference in ((x.max, np.max), (x.min, np.min)):
        y = method(axis=axis, keepdims=keepdims)
        expected = reference(data, axis=axis, keepdims=keepdims)
        assert y.shape == expected.shape
        np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(
        F.max(x, axis=axis, keepdims=keepdims).data, np.max(data, axis, keepdims=keepdims)
    )


def test_max_sends_the_gradient_to_every_position_holding_the_maximum(mode: str) -> None:
    # given a row with a tie for its maximum, as DeZero's Max: ties all get the gradient
    x = am.Variable(np.array([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]]))
    # when the maxima of each row are weighted and summed
    y = F.sum(x.max(axis=1) * am.Variable(np.array([10.0, 100.0])))
    y.backward()
    # then each row's maxima get that row's weight, the rest nothing
    np.testing.assert_array_equal(x.grad.data, [[0.0, 10.0, 10.0], [100.0, 0.0, 0.0]])


def test_min_sends_the_gradient_to_the_minimum_and_supports_double_backprop(mode: str) -> None:
    # given y = min(x^2) over a vector whose smallest square is at index 1
    x = am.Variable(np.array([3.0, -1.0, 2.0]))
    F.min(x * x).backward(create_graph=True)
    # then dy/dx = 2x at the minimum only, and d2y/dx2 = 2 there
    np.testing.assert_array_equal(x.grad.data, [0.0, -2.0, 0.0])
    gx = x.grad
    x.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 0.0])


def test_dot_is_matmul(mode: str) -> None:
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    x, w = am.Variable(a), am.Variable(b)
    y = x.dot(w)
    np.testing.assert_allclose(y.data, a @ b)
    np.testing.assert_allclose(x.matmul(w).data, a @ b)
    F.sum(y).backward()
    np.testing.assert_allclose(x.grad.data, np.ones((2, 4)) @ b.T)
    np.testing.assert_allclose(w.grad.data, a.T @ np.ones((2, 4)))
