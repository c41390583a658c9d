"""Recurrent layers and their data (the book's steps 59-60): RNN, LSTM, SinCurve, SeqDataLoader."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import autograd_mem as am
import autograd_mem.functions as F
import autograd_mem.layers as L
from autograd_mem.dataloaders import SeqDataLoader
from autograd_mem.datasets import SinCurve
from autograd_mem.engine import REFERENCE_MODES, census
from autograd_mem.models import Model
from autograd_mem.optimizers import Adam

rng = np.random.default_rng(60)


def test_sincurve_is_a_noisy_sine_to_train_on_and_a_cosine_to_test_on() -> None:
    np.random.seed(0)
    train, test = SinCurve(train=True), SinCurve(train=False)
    assert len(train) == len(test) == 999
    x, t = train[0]
    assert x.shape == t.shape == (1,) and x.dtype == np.float64
    grid = np.linspace(0, 2 * np.pi, 1000)
    assert np.abs(train.data[:, 0] - np.sin(grid[:-1])).max() <= 0.05
    np.testing.assert_array_equal(test.label[:, 0], np.cos(grid[1:]))
    # each label is the next example's value
    np.testing.assert_array_equal(train.label[:-1], train.data[1:])


def test_seq_dataloader_walks_batch_size_stretches_in_step() -> None:
    class Counting(am.Dataset):
        def prepare(self) -> None:
            self.data = np.arange(10)
            self.label = np.arange(10) * 10

    loader = SeqDataLoader(Counting(), batch_size=2)
    batches = [x.tolist() for x, _ in loader]
    # two stretches of 5: 0..4 and 5..9, one step of each per batch
    assert batches == [[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]]
    assert [x.tolist() for x, _ in loader] == batches  # the next epoch starts over
    _, t = next(iter(loader))
    assert t.tolist() == [0, 50]


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_rnn_carries_its_hidden_state_and_backpropagates_through_time(mode: str) -> None:
    np.random.seed(1)
    rnn = L.RNN(4, in_size=1)
    xs = [rng.standard_normal((2, 1)) for _ in range(3)]
    with am.reference_mode(mode):
        h = None
        for x in xs:
            h = rnn(x)
        assert h.shape == (2, 4) and rnn.h is h
        F.sum(h).backward()
    # the gradient reached h2h through the earlier steps: compare with numpy by hand
    Wx, b, Wh = rnn.x2h.W.data, rnn.x2h.b.data, rnn.h2h.W.data
    h1 = np.tanh(xs[0] @ Wx + b)
    h2 = np.tanh(xs[1] @ Wx + b + h1 @ Wh)
    h3 = np.tanh(xs[2] @ Wx + b + h2 @ Wh)
    np.testing.assert_allclose(h.data, h3, rtol=1e-6)
    g3 = 1 - h3**2
    g2 = (g3 @ Wh.T) * (1 - h2**2)
    np.testing.assert_allclose(rnn.h2h.W.grad.data, h2.T @ g3 + h1.T @ g2, rtol=1e-5)
    rnn.reset_state()
    assert rnn.h is None


def test_rnn_with_an_input_size_other_than_its_hidden_size() -> None:
    rnn = L.RNN(5, in_size=2)
    rnn(np.ones((3, 2), dtype=np.float32))
    assert rnn(np.ones((3, 2), dtype=np.float32)).shape == (3, 5)
    assert rnn.h2h.W.shape == (5, 5)


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_lstm_matches_its_equations_and_passes_a_gradient_check(mode: str) -> None:
    np.random.seed(2)
    lstm = L.LSTM(3, in_size=2)
    xs = [rng.standard_normal((4, 2)) for _ in range(2)]
    with am.reference_mode(mode):
        for x in xs:
            h = lstm(x)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731

    def gate(name: str, x: np.ndarray, h_prev: np.ndarray | None) -> np.ndarray:
        layer = getattr(lstm, "x2" + name)
        z = x @ layer.W.data + layer.b.data
        return z if h_prev is None else z + h_prev @ getattr(lstm, "h2" + name).W.data

    h1 = c1 = None
    for x in xs:
        f, i, o = (sig(gate(n, x, h1)) for n in "fio")
        u = np.tanh(gate("u", x, h1))
        c1 = i * u if c1 is None else f * c1 + i * u
        h1 = o * np.tanh(c1)
    np.testing.assert_allclose(h.data, h1, rtol=1e-6)
    np.testing.assert_allclose(lstm.c.data, c1, rtol=1e-6)

    def two_steps(x0: am.Variable) -> am.Variable:
        lstm.reset_state()
        lstm(x0)
        return lstm(xs[1])

    with am.reference_mode(mode):
        assert am.utils.gradient_check(two_steps, xs[0].copy())


class SimpleRNN(Model):  # the book's step 59 model
    def __init__(self, hidden_size: int, out_size: int) -> None:
        super().__init__()
        self.rnn = L.RNN(hidden_size)
        self.fc = L.Linear(out_size)

    def reset_state(self) -> None:
        self.rnn.reset_state()

    def forward(self, x):
        return self.fc(self.rnn(x))


class BetterRNN(SimpleRNN):  # step 60: the same with an LSTM
    def __init__(self, hidden_size: int, out_size: int) -> None:
        Model.__init__(self)
        self.rnn = L.LSTM(hidden_size)
        self.fc = L.Linear(out_size)


def train(model: SimpleRNN, batches, steps: int, bptt_length: int, epochs: int) -> list[float]:
    """The book's truncated-BPTT loop: backward and unchain every bptt_length steps.

    ``batches`` gives (x, t) pairs of (batch, 1) arrays, ``steps`` of them an epoch.
    """
    optimizer = Adam(alpha=0.01).setup(model)
    losses = []
    for _ in range(epochs):
        model.reset_state()
        loss, count, total = 0, 0, 0.0
        for x, t in batches():
            loss += F.mean_squared_error(model(x), t)
            count += 1
            if count % bptt_length == 0 or count == steps:
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                optimizer.update()
                total += float(loss.data)
                loss = 0
        losses.append(total / count)
    return losses


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_step59_simple_rnn_learns_the_sine_with_truncated_bptt(mode: str) -> None:
    np.random.seed(59)
    data = SinCurve(train=True)
    one_by_one = lambda: ((x.reshape(1, 1), t.reshape(1, 1)) for x, t in data)  # noqa: E731
    with am.reference_mode(mode):
        losses = train(SimpleRNN(10, 1), one_by_one, len(data), bptt_length=30, epochs=3)
    assert losses[-1] < losses[0] / 4, losses


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_step60_lstm_learns_the_sine_on_minibatches(mode: str) -> None:
    np.random.seed(60)
    loader = SeqDataLoader(SinCurve(train=True), batch_size=30)
    with am.reference_mode(mode):
        losses = train(BetterRNN(10, 1), lambda: loader, loader.max_iter, 10, epochs=10)
    assert losses[-1] < losses[0] / 4, losses


def run_windows(mode: str, unchain: bool, steps: int = 40, window: int = 10) -> L.RNN:
    """The book's loop on an RNN, gc disabled by the caller: a loss summed over each window."""
    np.random.seed(3)
    rnn = L.RNN(3, in_size=1)
    with am.reference_mode(mode):
        loss = 0
        for step in range(1, steps + 1):
            loss += F.sum(rnn(np.ones((1, 1))))
            if step % window == 0:
                loss.backward()
                if unchain:
                    loss.unchain_backward()
                loss = 0
    return rnn


@pytest.fixture
def collector_off():
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


# Functions per RNN step in run_windows: x2h's linear, h2h's linear, their add, tanh (the
# step's hidden state), then the sum and the += of the loss. The first step has no h2h
# and no add, and its += adds to the integer 0 (still one node).
HIDDEN_PATH_OPS = 40 * 4 - 2
ALL_OPS = 40 * 6 - 2


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_without_unchain_the_hidden_state_holds_every_step(mode: str, collector_off) -> None:
    rnn = run_windows(mode, unchain=False)
    if mode == "weak":
        # h reaches back to step 1: the hidden path of all 40 steps is alive; the
        # dropped losses' sums and additions are gone
        assert census.live_functions() == HIDDEN_PATH_OPS
        rnn.reset_state()
        assert census.live_functions() == 0  # dropping h frees the history at once
    else:
        # strong: every op of every step, the dropped losses' too, until the collector runs
        assert census.live_functions() == ALL_OPS
        rnn.reset_state()
        assert census.live_functions() == ALL_OPS
        gc.collect()
        assert census.live_functions() == 0


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_unchain_backward_frees_the_cut_windows_in_both_modes(mode: str, collector_off) -> None:
    rnn = run_windows(mode, unchain=True)
    if mode == "weak":
        assert census.live_functions() == 0  # h itself was cut from its creator
    else:
        # unchain_backward sets creator = None upstream, which breaks each strong
        # Variable <-> Function cycle on the way; what a strong window leaves for the
        # collector is its loss's own node (unchain keeps the creator of the Variable
        # it is called on): one Function per window
        assert census.live_functions() == 40 // 10
        gc.collect()
        assert census.live_functions() == 0
    assert rnn.h.creator is None
