"""Data sets (DeZero's ``dezero.datasets``): the synthetic ones, which need no download.

MNIST, CIFAR, ImageNet and Shakespeare are not here: they are downloaded.

``get_spiral`` draws the book's Spiral data: three arms of 100 points each, from a
fixed seed (one for the training set, another for the test set), so every run
trains on the same points.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autograd_mem.engine.atomic_file import replacing
from autograd_mem.engine.utils import cache_dir

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


class SinCurve(Dataset):
    """A noisy sine (training) or a clean cosine (test) over one period, 1000 points:
    each example is a value and its label the next one (the book's step 59).

    The noise, uniform in +-0.05, is drawn from numpy's global generator, as DeZero's:
    ``np.random.seed`` makes it repeatable.
    """

    def prepare(self) -> None:
        x = np.linspace(0, 2 * np.pi, 1000)
        y = np.sin(x) + np.random.uniform(-0.05, 0.05, size=x.shape) if self.train else np.cos(x)
        self.data = y[:-1, np.newaxis]
        self.label = y[1:, np.newaxis]


# ---------------------------------------------------------------- the cache of prepared sets


def _cache_path(filename: str, train: bool) -> Path:
    name = filename[filename.rfind("/") + 1 :]
    return Path(cache_dir) / (name + (".train.npz" if train else ".test.npz"))


def load_cache_npz(filename: str, train: bool = False) -> tuple[Any, Any]:
    """``(data, label)`` saved by ``save_cache_npz`` under ``filename``'s base name, or Nones."""
    path = _cache_path(filename, train)
    if not path.exists():
        return None, None
    with np.load(path) as loaded:
        return loaded["data"], loaded["label"]


def save_cache_npz(data: Any, label: Any, filename: str, train: bool = False) -> str | None:
    """Keep ``data`` and ``label`` in ``cache_dir`` for ``load_cache_npz``; an existing file stays.

    Written beside its final name and renamed into place, so an interrupted save
    leaves no file that a later load would take for a whole one.
    """
    path = _cache_path(filename, train)
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as partial, open(partial, "wb") as file:
        np.savez_compressed(file, data=data, label=label)
    return str(path)


__all__ = ["Dataset", "SinCurve", "Spiral", "get_spiral", "load_cache_npz", "save_cache_npz"]
