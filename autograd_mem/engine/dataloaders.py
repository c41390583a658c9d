"""``DataLoader``: minibatches of a Dataset, an epoch per pass (DeZero's ``dataloaders``)."""

from __future__ import annotations

import math
from importlib.util import find_spec

import numpy as np

from autograd_mem.engine.datasets import Dataset


class DataLoader:
    """Iterates over ``dataset`` in minibatches of ``batch_size``: ``(x, t)`` arrays each.

    An epoch ends with StopIteration, after which the loader is reset (reshuffled when
    ``shuffle``), so ``for x, t in loader`` runs one epoch each time. The order is
    drawn from numpy's global generator, as DeZero's, unless ``rng`` (a
    ``numpy.random.Generator``) is given: then a run is repeatable on its own.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        shuffle: bool = True,
        gpu: bool = False,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        if gpu:
            raise ValueError("DataLoader(gpu=True): agmem's engine runs on the CPU only")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = rng
        self.data_size = len(dataset)
        self.max_iter = math.ceil(self.data_size / batch_size)
        self.reset()

    def reset(self) -> None:
        self.iteration = 0
        if not self.shuffle:
            self.index = np.arange(self.data_size)
        elif self.rng is None:
            self.index = np.random.permutation(self.data_size)
        else:
            self.index = self.rng.permutation(self.data_size)

    def __iter__(self) -> DataLoader:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        start = self.iteration * self.batch_size
        batch = [self.dataset[int(i)] for i in self.index[start : start + self.batch_size]]
        self.iteration += 1
        return np.array([e[0] for e in batch]), np.array([e[1] for e in batch])

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        return self.__next__()


class SeqDataLoader(DataLoader):
    """Minibatches of a time series: row ``i`` of each batch walks its own stretch of it.

    The series is cut into ``batch_size`` stretches of ``len // batch_size`` steps, and
    each batch takes the next step of every stretch, in order, so a recurrent model
    carries its hidden state from one batch to the next (the book's step 60).
    """

    def __init__(self, dataset: Dataset, batch_size: int, gpu: bool = False) -> None:
        super().__init__(dataset=dataset, batch_size=batch_size, shuffle=False, gpu=gpu)

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        jump = self.data_size // self.batch_size
        indexes = [(i * jump + self.iteration) % self.data_size for i in range(self.batch_size)]
        batch = [self.dataset[i] for i in indexes]
        self.iteration += 1
        return np.array([e[0] for e in batch]), np.array([e[1] for e in batch])


# Whether Pillow is installed (DeZero's flag, read here without importing Pillow).
pil_available = find_spec("PIL") is not None

__all__ = ["DataLoader", "SeqDataLoader", "pil_available"]
