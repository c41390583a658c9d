"""Variable, Function, Config and the reference modes, driven through the public API."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import REFERENCE_MODES


@pytest.fixture(autouse=True)
def restore_reference_mode() -> Iterator[None]:
    mode = am.get_reference_mode()
    yield
    am.set_reference_mode(mode)


# ---------------------------------------------------------------- Variable


@pytest.mark.parametrize("data", [1.0, [1, 2], "x", np.float64(1.0)])
def test_variable_rejects_what_is_not_an_array_naming_the_type(data: object) -> None:
    with pytest.raises(TypeError, match=type(data).__name__):
        am.Variable(data)  # type: ignore[arg-type]


def test_variable_reports_its_array_and_reads_well() -> None:
    v = am.Variable(np.arange(6.0).reshape(2, 3), name="w")
    assert (v.shape, v.ndim, v.size, v.dtype, len(v)) == ((2, 3), 2, 6, np.float64, 2)
    assert v.T.shape == (3, 2)
    assert repr(v) == "variable([[0. 1. 2.]\n          [3. 4. 5.]], name='w')"
    assert repr(am.Variable(None)) == "variable(None)"


def test_numpy_scalar_results_become_0d_arrays() -> None:
    y = F.sum(am.Variable(np.ones(3))) * np.float64(2)
    assert type(y.data) is np.ndarray and y.shape == ()


@pytest.mark.parametrize("other", [2.0, 2, np.float64(2.0), np.array(2.0), np.array([2.0, 2.0])])
def test_operators_accept_scalars_and_arrays_on_either_side(other: object) -> None:
    x = am.Variable(np.array([3.0, 4.0]))
    results = {
        "add": (x + other, other + x, [5, 6], [5, 6]),
        "sub": (x - other, other - x, [1, 2], [-1, -2]),
        "mul": (x * other, other * x, [6, 8], [6, 8]),
        "div": (x / other, other / x, [1.5, 2], [2 / 3, 0.5]),
    }
    for left, right, expected_left, expected_right in results.values():
        assert isinstance(left, am.Variable) and isinstance(right, am.Variable)
        np.testing.assert_allclose(left.data, expected_left)
        np.testing.assert_allclose(right.data, expected_right)
    np.testing.assert_allclose((x**2).data, [9, 16])
    np.testing.assert_allclose((2.0**x).data, [8, 16])
    np.testing.assert_allclose((-x).data, [-3, -4])


def test_python_scalars_keep_the_variables_dtype() -> None:
    x = am.Variable(np.ones(2, dtype=np.float32))
    assert (x * 2.0).dtype == np.float32
    assert (1 - x).dtype == np.float32


def test_shape_methods_accept_tuples_or_arguments() -> None:
    x = am.Variable(np.zeros((2, 3, 4)))
    assert x.reshape(6, 4).shape == x.reshape((6, 4)).shape == (6, 4)
    assert x.transpose(2, 0, 1).shape == x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.transpose().shape == (4, 3, 2)
    assert x.sum(axis=1, keepdims=True).shape == (2, 1, 4)


# ---------------------------------------------------------------- Config


def test_using_config_restores_the_old_value_even_on_error() -> None:
    assert am.Config.enable_backprop is True
    with pytest.raises(RuntimeError), am.using_config("enable_backprop", False):
        assert am.Config.enable_backprop is False
        raise RuntimeError
    assert am.Config.enable_backprop is True


def test_no_grad_records_no_graph() -> None:
    x = am.Variable(np.ones(2))
    with am.no_grad():
        y = F.square(x)
    assert y.creator is None and y.generation == 0


# ---------------------------------------------------------------- reference modes


def test_modes_are_named_as_the_cli_and_results_name_them() -> None:
    from autograd_mem.schema import config

    assert REFERENCE_MODES == ("strong", "weak") == config.REFERENCE_MODES


def test_default_mode_is_weak() -> None:
    assert am.get_reference_mode() == "weak"


@pytest.mark.parametrize("bad", ["Strong", "", "none", None])
def test_unknown_mode_is_refused_naming_it_and_the_valid_ones(bad: object) -> None:
    pattern = r"unknown reference mode .*; valid modes: 'strong', 'weak'"
    with pytest.raises(ValueError, match=pattern) as caught, am.reference_mode(bad):  # type: ignore[arg-type]
        pass
    assert repr(bad) in str(caught.value)
    with pytest.raises(ValueError):
        am.set_reference_mode(bad)  # type: ignore[arg-type]
    assert am.get_reference_mode() == "weak"


def test_reference_mode_block_restores_the_previous_mode_even_on_error() -> None:
    am.set_reference_mode("strong")
    with pytest.raises(KeyError), am.reference_mode("weak"):
        assert am.get_reference_mode() == "weak"
        raise KeyError
    assert am.get_reference_mode() == "strong"


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_function_keeps_the_mode_it_was_called_in(mode: str) -> None:
    x = am.Variable(np.ones(2))
    with am.reference_mode(mode):
        y = F.exp(x)
    other = "weak" if mode == "strong" else "strong"
    with am.reference_mode(other):
        z = F.exp(y)
    assert (y.creator.reference_mode, z.creator.reference_mode) == (mode, other)
    assert y.creator.outputs[0]() is y


def test_strong_function_holds_its_outputs_themselves() -> None:
    # given/when: a strong-mode op, and one of several outputs
    x = am.Variable(np.ones(2))
    with am.reference_mode("strong"):
        y = F.square(x)
        pair = SplitInTwo()(x)
    # then: the cycle is Variable -> Function -> outputs tuple -> Variable, nothing between
    assert y.creator.outputs == (y,)
    assert y in gc.get_referents(y.creator.outputs)
    assert all(ref is v for ref, v in zip(pair[0].creator.outputs, pair, strict=True))
    # and a Variable called returns itself, the protocol of weakref.ref
    assert y() is y


class SplitInTwo(am.Function):
    """A two-output Function for the tests: the input, and its double."""

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x, 2 * x

    def vjp(self, ops: object, xs: object, ys: object, gys: tuple) -> object:
        return gys[0] + 2 * gys[1]


def test_strong_and_weak_backward_agree_on_a_graph_with_fan_out_and_fan_in() -> None:
    # given: a chain that splits, is rejoined, and continues: z = exp(sin(x)**2 * cos(sin(x)))
    results = {}
    for mode in REFERENCE_MODES:
        x = am.Variable(np.array([0.3, -1.2, 2.0]))
        with am.reference_mode(mode):
            s = F.sin(x)
            z = F.exp(F.square(s) * F.cos(s))
        # when
        z.backward()
        results[mode] = x.grad.data
    # then: both equal the gradient written out by hand
    a = np.array([0.3, -1.2, 2.0])
    s, c = np.sin(a), np.cos(a)
    inner = s**2 * np.cos(s)
    expected = np.exp(inner) * (2 * s * np.cos(s) - s**2 * np.sin(s)) * c
    np.testing.assert_allclose(results["strong"], expected)
    np.testing.assert_allclose(results["weak"], expected)


def test_mixed_graph_backpropagates_like_a_single_mode_graph() -> None:
    # given: y = sin(x)**2 * exp(x), built across mode changes, and the same in one mode
    def build(modes: tuple[str, str, str]) -> np.ndarray:
        x = am.Variable(np.linspace(-1, 1, 5))
        with am.reference_mode(modes[0]):
            a = F.sin(x)
        with am.reference_mode(modes[1]):
            b = F.square(a)
        with am.reference_mode(modes[2]):
            y = b * F.exp(x)
        y.backward()
        return x.grad.data

    mixed = build(("strong", "weak", "strong"))
    single = build(("weak", "weak", "weak"))
    x = np.linspace(-1, 1, 5)
    expected = (2 * np.sin(x) * np.cos(x) + np.sin(x) ** 2) * np.exp(x)
    np.testing.assert_allclose(mixed, expected)
    np.testing.assert_allclose(single, expected)


class Split(am.Function):
    """Two outputs: the first and second halves of a vector. Records the gradients it gets."""

    received: list[object]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        half = len(x) // 2
        return x[:half], x[half:]

    def vjp(self, ops: object, xs: tuple, ys: list, gys: list) -> object:
        # On arrays in both paths: enough here, though it cuts a create_graph graph.
        Split.received = list(gys)
        half = len(xs[0]) // 2
        first, second = (
            np.zeros(half) if g is None else g.data if isinstance(g, am.Variable) else g
            for g in gys
        )
        return np.concatenate([first, second])


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_output_nobody_used_gets_a_gradient_of_none(mode: str, create_graph: bool) -> None:
    # given: a two-output function whose second output is dropped before backward
    gc.disable()
    try:
        x = am.Variable(np.arange(4.0))
        with am.reference_mode(mode):
            first, second = Split()(x)
            second_ref = weakref.ref(second)
            del second
            y = F.square(first)
        assert (second_ref() is None) == (mode == "weak")
        # when
        y.backward(create_graph=create_graph)
    finally:
        gc.enable()
    # then: the unused output's gradient is None (DeZero's), whether it is dead or just
    # unused, and the used one's is its gradient
    first_gradient, second_gradient = Split.received
    assert second_gradient is None
    assert isinstance(first_gradient, am.Variable if create_graph else np.ndarray)
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 0.0, 0.0])


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_dezero_backward_of_several_outputs_gets_none_for_an_unused_one(mode: str) -> None:
    # given: DeZero's way, a backward that handles a missing output gradient itself
    class SplitAndScale(am.Function):
        def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return x * 2.0, x * 3.0

        def backward(self, ga: am.Variable | None, gb: am.Variable | None) -> am.Variable:
            assert gb is None
            return ga * 2.0

    with am.reference_mode(mode):
        x = am.Variable(np.array(1.0))
        a, _unused = SplitAndScale()(x)
        # when
        a.backward()
    # then
    assert float(x.grad.data) == 2.0


# ---------------------------------------------------------------- backward


def test_gradients_accumulate_over_fan_out_without_aliasing() -> None:
    # given: x used twice by one add, so both inputs get the same gradient array
    x = am.Variable(np.array([3.0]))
    y = x + x
    # when
    y.backward()
    # then
    np.testing.assert_array_equal(x.grad.data, [2.0])
    # and: two leaves given one upstream array do not share storage that later changes
    a, b = am.Variable(np.array([1.0])), am.Variable(np.array([1.0]))
    (a + b).backward()
    a.grad.data += 10
    np.testing.assert_array_equal(b.grad.data, [1.0])


def test_diamond_runs_each_function_once_in_generation_order() -> None:
    calls: list[str] = []

    class Traced(am.Function):
        def __init__(self, label: str) -> None:
            self.label = label

        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * 1.0

        def backward(self, gy: am.Variable) -> am.Variable:
            calls.append(self.label)
            return gy

    x = am.Variable(np.array([2.0]))
    a = Traced("a")(x)
    left, right = Traced("left")(a), Traced("right")(a)
    y = Traced("top")(left + right)
    y.backward()
    assert calls[0] == "top" and sorted(calls[1:3]) == ["left", "right"] and calls[3] == "a"
    np.testing.assert_array_equal(x.grad.data, [2.0])


def test_backward_twice_accumulates_until_cleargrad() -> None:
    x = am.Variable(np.array(3.0))
    F.square(x).backward()
    F.square(x).backward()
    assert x.grad.data == 12.0
    x.cleargrad()
    F.square(x).backward()
    assert x.grad.data == 6.0


def test_intermediate_gradients_are_freed_unless_retained() -> None:
    x = am.Variable(np.array(2.0))
    a = F.square(x)
    y = F.square(a)
    y.backward()
    assert (y.grad, a.grad) == (None, None)
    x.cleargrad()
    y.backward(retain_grad=True)
    assert (y.grad.data, a.grad.data, x.grad.data) == (1.0, 8.0, 32.0)


def test_seed_gradient_given_by_the_user_is_used() -> None:
    x = am.Variable(np.array([1.0, 2.0]))
    y = F.square(x)
    y.grad = am.Variable(np.array([10.0, 100.0]))
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [20.0, 400.0])


def test_leaf_backward_gives_ones() -> None:
    x = am.Variable(np.zeros((2, 2)))
    x.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 2)))


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_second_derivative_of_x_to_the_fourth_at_2_is_48(mode: str) -> None:
    with am.reference_mode(mode):
        x = am.Variable(np.array(2.0))
        y = x**4
        y.backward(create_graph=True)
        gx = x.grad
        assert gx.data == 32.0
        x.cleargrad()
        gx.backward()
    assert x.grad.data == 48.0


def test_without_create_graph_the_gradient_has_no_graph() -> None:
    x = am.Variable(np.array(2.0))
    F.sin(x).backward()
    assert x.grad.creator is None


def test_unchain_stops_backward_there() -> None:
    x = am.Variable(np.array(2.0))
    a = F.square(x)
    y = F.square(a)
    a.unchain()
    y.backward()
    assert x.grad is None


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_unchain_backward_cuts_the_upstream_graph_but_keeps_its_own_creator(mode: str) -> None:
    # given: y = a * exp(a), a = x^2
    with am.reference_mode(mode):
        x = am.Variable(np.array(2.0))
        a = F.square(x)
        b = F.exp(a)
        y = a * b
        creator = y.creator
        # when
        y.unchain_backward()
        # then: y keeps its creator (DeZero's truncated backprop), everything behind it is cut
        assert (y.creator, a.creator, b.creator) == (creator, None, None)
        # and backward runs y's creator, then stops: a's gradient is d(a*b)/da with b fixed
        y.backward()
    assert x.grad is None
    assert float(a.grad.data) == pytest.approx(np.exp(4.0))
    assert float(b.grad.data) == 4.0


def test_unchain_backward_of_a_leaf_does_nothing() -> None:
    x = am.Variable(np.array(2.0))
    x.unchain_backward()
    assert x.creator is None


def test_dezero_style_function_with_its_own_backward() -> None:
    class Cube(am.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x**3

        def backward(self, gy: am.Variable) -> am.Variable:
            (x,) = self.inputs
            return 3 * x**2 * gy

    x = am.Variable(np.array(2.0))
    y = Cube()(x)
    y.backward(create_graph=True)
    assert x.grad.data == 12.0
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.data == 12.0  # d/dx 3x^2 = 6x


def test_function_returning_the_wrong_number_of_gradients_is_reported() -> None:
    class Broken(am.Function):
        def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return a + b

        def backward(self, gy: am.Variable) -> am.Variable:
            return gy

    y = Broken()(am.Variable(np.ones(1)), am.Variable(np.ones(1)))
    with pytest.raises(ValueError, match="Broken returned 1 gradients for 2 inputs"):
        y.backward()
    assert am.Config.enable_backprop is True


def test_overriding_backward_in_a_subclass_of_a_builtin_op_is_honoured() -> None:
    from autograd_mem.engine.ops import Square

    class ClippedSquare(Square):
        def backward(self, gy: am.Variable) -> am.Variable:
            return gy * 0.0

    x = am.Variable(np.array(3.0))
    ClippedSquare()(x).backward()
    assert x.grad.data == 0.0


def test_forward_returning_a_one_tuple_gives_one_variable() -> None:
    class Twice(am.Function):
        def forward(self, x: np.ndarray) -> tuple[np.ndarray]:
            return (2 * x,)

        def backward(self, gy: am.Variable) -> am.Variable:
            return 2 * gy

    x = am.Variable(np.array(1.5))
    y = Twice()(x)
    assert isinstance(y, am.Variable)
    y.backward()
    assert x.grad.data == 2.0


def test_function_whose_outputs_both_get_gradients_runs_once() -> None:
    runs: list[int] = []

    class CountedSplit(Split):
        def vjp(self, ops: object, xs: object, ys: object, gys: list) -> object:
            runs.append(1)
            return super().vjp(ops, xs, ys, gys)

    # given: y = first * second, both outputs of one Function
    x = am.Variable(np.array([1.0, 2.0, 3.0, 4.0]))
    first, second = CountedSplit()(x)
    y = first * second
    # when
    y.backward()
    # then: d(x0*x2 + ...)/dx, with the split's gradient computed once from both parts
    assert runs == [1]
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0, 1.0, 2.0])


def test_backward_of_a_variable_without_data_says_why() -> None:
    # given a Variable that holds no data
    v = am.Variable(None)
    # when backward is asked of it, then a ValueError names the problem
    with pytest.raises(ValueError, match="holds None"):
        v.backward()


def _pickled(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.parametrize("duplicate", [copy.deepcopy, _pickled], ids=["deepcopy", "pickle"])
@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_a_copied_graph_backpropagates_like_the_original(mode: str, duplicate: Any) -> None:
    # given a graph built in either mode, kept by its output
    with am.reference_mode(mode):
        x = am.Variable(np.array([1.0, 3.0]))
        y = F.square(F.square(x)) + x
    # when it is deep-copied or pickled, and the copy differentiated
    copied = duplicate(y)
    copied.backward()
    # then the copy's leaf has d/dx (x^4 + x) = 4x^3 + 1, the original's is untouched,
    # and the copy's Functions keep the original's mode
    leaf = copied.creator.inputs[1]
    np.testing.assert_allclose(leaf.grad.data, [5.0, 109.0])
    assert x.grad is None
    assert copied.creator.reference_mode == mode


def test_a_copied_function_whose_output_was_dropped_still_backpropagates() -> None:
    # given, in weak mode, a two-output Function whose second output is gone
    class Split(am.Function):
        def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return x * 2.0, x * 3.0

        def backward(self, ga: am.Variable, gb: am.Variable | None) -> am.Variable:
            return ga * 2.0 if gb is None else ga * 2.0 + gb * 3.0

    with am.reference_mode("weak"):
        x = am.Variable(np.array(1.0))
        kept, dropped = Split()(x)
        del dropped
    # when the kept output is copied and differentiated
    copied = copy.deepcopy(kept)
    copied.backward()
    # then the dropped output passes no gradient, as in the original graph
    assert float(copied.creator.inputs[0].grad.data) == 2.0


def test_a_copied_user_function_keeps_its_own_attributes() -> None:
    # given a DeZero-style Function with its own state, in a one-name __slots__ string
    class Scale(am.Function):
        __slots__ = "factor"

        def __init__(self, factor: float) -> None:
            self.factor = factor

        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * self.factor

        def backward(self, gy: am.Variable) -> am.Variable:
            return gy * self.factor

    with am.reference_mode("weak"):
        y = Scale(3.0)(am.Variable(np.array(2.0)))
    # when the graph is copied and differentiated
    copied = copy.deepcopy(y)
    copied.backward()
    # then the copy's Function has its factor, and the gradient uses it
    assert copied.creator.factor == 3.0
    assert float(copied.creator.inputs[0].grad.data) == 3.0
