"""Data sets (DeZero's ``dezero.datasets``): the synthetic ones, which need no download.

``get_spiral`` draws the book's Spiral data: three arms of 100 points each, from a
fixed seed (one for the training set, another for the test set), so every run
trains on the same points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SPIRAL_SEEDS = {True: 1984, False: 2020}  # train, test: the book's seeds


def _identity(x: Any) -> Any:
    return x


class Dataset:
    """Indexable examples: ``dataset[i]`` is ``(data, label)``, each through its transform.

    Subclasses fill ``data`` (and ``label``, or leave it None) in ``prepare()``.
    """

    def __init__(
        self,
        train: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self.train = train
        self.transform = transform or _identity
        self.target_transform = target_transform or _identity
        self.data: Any = None
        self.label: Any = None
        self.prepare()

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not np.isscalar(index):
            raise TypeError(f"a Dataset is indexed by one integer, not {type(index).__name__}")
        data = self.transform(self.data[index])
        if self.label is None:
            return data, None
        return data, self.target_transform(self.label[index])

    def __len__(self) -> int:
        return len(self.data)

    def prepare(self) -> None:
        """Load or make ``data`` and ``label``; the base class has none."""


def get_spiral(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The Spiral data: 300 points in the plane (float32) and their arm, 0, 1 or 2 (int).

    Each arm winds outwards from the centre; the angle gets Gaussian noise. The points
    are shuffled, so that minibatches taken in order mix the classes.
    """
    rng = np.random.RandomState(SPIRAL_SEEDS[bool(train)])
    per_class, classes = 100, 3
    x = np.zeros((per_class * classes, 2), dtype=np.float32)
    t = np.zeros(per_class * classes, dtype=np.int64)
    for arm in range(classes):
        for i in range(per_class):
            radius = i / per_class
            theta = arm * 4.0 + 4.0 * radius + rng.randn() * 0.2
            x[arm * per_class + i] = (radius * np.sin(theta), radius * np.cos(theta))
            t[arm * per_class + i] = arm
    order = rng.permutation(per_class * classes)
    return x[order], t[order]


class Spiral(Dataset):
    def prepare(self) -> None:
        self.data, self.label = get_spiral(self.train)


__all__ = ["Dataset", "Spiral", "get_spiral"]
