"""The book's training loops (steps 48-50) in both modes, and what each mode keeps alive.

Step 48 trains an MLP on the Spiral data with SGD, taking minibatches by hand; steps
49-50 do the same through ``Spiral`` and ``DataLoader`` and score a test set under
``no_grad``. Both must train to the book's figures in either mode, and give the very
same numbers in both: the modes change only how long graphs live.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator

import numpy as np
import pytest

import autograd_mem as am
import autograd_mem.functions as F
from autograd_mem.dataloaders import DataLoader
from autograd_mem.datasets import Dataset, Spiral, get_spiral
from autograd_mem.engine import REFERENCE_MODES, census
from autograd_mem.models import MLP
from autograd_mem.optimizers import SGD

# The book's hyperparameters (step 48).
MAX_EPOCH, BATCH_SIZE, HIDDEN_SIZE, LR = 300, 30, 10, 1.0


@pytest.fixture
def collector_off() -> Iterator[None]:
    """No automatic collection: what a mode keeps is then exactly what it leaves behind.

    Tests collect once more themselves before they start: pytest makes garbage of its
    own between a fixture and its test.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def step48(mode: str) -> tuple[list[float], MLP]:
    """The book's step 48, seeded: the average loss of each epoch, and the model."""
    np.random.seed(0)
    x, t = get_spiral(train=True)
    with am.reference_mode(mode):
        model = MLP((HIDDEN_SIZE, 3))
        optimizer = SGD(LR).setup(model)
        data_size = len(x)
        max_iter = math.ceil(data_size / BATCH_SIZE)
        losses = []
        for _ in range(MAX_EPOCH):
            index = np.random.permutation(data_size)
            sum_loss = 0.0
            for i in range(max_iter):
                batch = index[i * BATCH_SIZE : (i + 1) * BATCH_SIZE]
                y = model(x[batch])
                loss = F.softmax_cross_entropy(y, t[batch])
                model.cleargrads()
                loss.backward()
                optimizer.update()
                sum_loss += float(loss.data) * len(batch)
            losses.append(sum_loss / data_size)
    return losses, model


@pytest.fixture(scope="module")
def trained() -> dict[str, tuple[list[float], MLP]]:
    return {mode: step48(mode) for mode in REFERENCE_MODES}


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_step48_spiral_training_reaches_the_books_loss_and_accuracy(trained, mode: str) -> None:
    losses, model = trained[mode]
    # the book's curve: about 1.1 at the start, about 0.1 after 300 epochs
    assert 1.0 < losses[0] < 1.2
    assert losses[-1] < 0.15
    assert losses[-1] < losses[100] < losses[0]
    x, t = get_spiral(train=True)
    with am.no_grad():
        accuracy = float(F.accuracy(model(x), t).data)
    assert accuracy >= 0.9


def test_step48_gives_the_same_numbers_in_both_modes(trained) -> None:
    (strong_losses, strong_model), (weak_losses, weak_model) = (
        trained["strong"], trained["weak"]
    )
    assert strong_losses == weak_losses
    for s, w in zip(strong_model.params(), weak_model.params(), strict=True):
        np.testing.assert_array_equal(s.data, w.data)


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_step50_dataloader_loop_trains_and_scores_a_test_set(mode: str) -> None:
    # given the book's step 50: Spiral train and test sets through DataLoaders
    np.random.seed(0)
    train_set, test_set = Spiral(train=True), Spiral(train=False)
    train_loader = DataLoader(train_set, BATCH_SIZE)
    test_loader = DataLoader(test_set, BATCH_SIZE, shuffle=False)
    with am.reference_mode(mode):
        model = MLP((HIDDEN_SIZE, 3))
        optimizer = SGD(LR).setup(model)
        for _ in range(200):
            sum_loss = sum_acc = 0.0
            for x, t in train_loader:
                y = model(x)
                loss = F.softmax_cross_entropy(y, t)
                acc = F.accuracy(y, t)
                model.cleargrads()
                loss.backward()
                optimizer.update()
                sum_loss += float(loss.data) * len(t)
                sum_acc += float(acc.data) * len(t)
        test_acc = 0.0
        with am.no_grad():
            for x, t in test_loader:
                test_acc += float(F.accuracy(model(x), t).data) * len(t)
    # then training and test accuracy reach the book's range
    assert sum_loss / len(train_set) < 0.3
    assert sum_acc / len(train_set) >= 0.85
    assert test_acc / len(test_set) >= 0.85


def train_steps(steps: int) -> None:
    """A training loop whose last loss stays bound, like a loop variable."""
    np.random.seed(1)
    x, t = get_spiral()
    model = MLP((HIDDEN_SIZE, 3))
    optimizer = SGD(LR).setup(model)
    loss = None
    for i in range(steps):
        batch = slice(i * BATCH_SIZE % 300, i * BATCH_SIZE % 300 + BATCH_SIZE)
        loss = F.softmax_cross_entropy(model(x[batch]), t[batch])
        model.cleargrads()
        loss.backward()
        optimizer.update()
    return loss


@pytest.mark.usefixtures("collector_off")
def test_a_strong_training_loop_keeps_every_graph_until_the_collector_runs() -> None:
    # given a strong training loop run with the collector off
    gc.collect()
    before = census.live_variables()
    with am.reference_mode("strong"):
        loss = train_steps(20)
        kept = census.live_variables() - before
        del loss
        # then each step's graph outlives it, and only a collection frees them
        assert census.live_variables() - before == kept
        assert kept >= 20 * 5  # at least the 5 Variables of one forward, per step
        assert gc.collect() > 0
    assert census.live_variables() - before < kept / 10


@pytest.mark.usefixtures("collector_off")
def test_a_weak_training_loop_frees_each_graph_when_the_next_replaces_it() -> None:
    gc.collect()
    before = census.live_variables()
    with am.reference_mode("weak"):
        loss = train_steps(20)
        # only the last step's graph (and the parameters' gradients) is alive
        alive = census.live_variables() - before
        assert alive < 30
        del loss
        assert gc.collect() == 0  # no cycle was ever made


# ---------------------------------------------------------------- data


def test_spiral_is_the_books_data_set() -> None:
    x, t = get_spiral(train=True)
    assert x.shape == (300, 2) and x.dtype == np.float32
    assert t.shape == (300,) and np.bincount(t).tolist() == [100, 100, 100]
    assert np.abs(x).max() <= 1.0
    # the same points every time, and other points for the test set
    np.testing.assert_array_equal(get_spiral(train=True)[0], x)
    assert not np.array_equal(get_spiral(train=False)[0], x)
    # the radius grows along each arm: 0 to 0.99, in steps of 0.01
    radii = np.sort(np.hypot(x[t == 0, 0], x[t == 0, 1]))
    np.testing.assert_allclose(radii, np.arange(100) / 100, atol=1e-6)


def test_spiral_data_set_indexes_examples_through_its_transforms() -> None:
    data = Spiral(transform=lambda x: x * 2, target_transform=lambda t: t + 10)
    x, t = data[3]
    np.testing.assert_array_equal(x, get_spiral()[0][3] * 2)
    assert t == get_spiral()[1][3] + 10
    assert len(data) == 300
    with pytest.raises(TypeError, match="one integer"):
        data[[0, 1]]


def test_a_dataset_without_labels_gives_none() -> None:
    class Points(Dataset):
        def prepare(self) -> None:
            self.data = np.arange(5)

    assert Points()[2] == (2, None)


def test_dataloader_yields_every_example_once_per_epoch_in_batches() -> None:
    loader = DataLoader(Spiral(), batch_size=128, rng=np.random.default_rng(0))
    assert loader.max_iter == 3
    batches = list(loader)
    assert [len(t) for _, t in batches] == [128, 128, 44]
    seen = np.concatenate([x for x, _ in batches])
    assert sorted(map(tuple, seen)) == sorted(map(tuple, Spiral().data))
    # the loader resets after an epoch, and reshuffles
    second = list(loader)
    assert len(second) == 3
    assert not np.array_equal(second[0][0], batches[0][0])


def test_dataloader_without_shuffle_keeps_the_order_and_refuses_a_gpu() -> None:
    x, _ = next(DataLoader(Spiral(), 4, shuffle=False))
    np.testing.assert_array_equal(x, Spiral().data[:4])
    with pytest.raises(ValueError, match="CPU"):
        DataLoader(Spiral(), 4, gpu=True)
