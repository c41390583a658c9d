"""Transforms applied to a data set's examples (DeZero's ``dezero.transforms``).

The array transforms (``Normalize``, ``Flatten``, ``AsType``, ``ToFloat``, ``ToInt``,
``Compose``) need numpy only. The image transforms (``Convert``, ``Resize``,
``CenterCrop``, ``ToArray`` of an image, ``ToPIL``, ``RandomHorizontalFlip``) work on
Pillow images; Pillow is not a dependency of agmem, so it is imported when one of
them is used, and its absence is reported as ``PillowNotFoundError`` saying how to
install it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_mem.engine.functions_conv import pair


class PillowNotFoundError(ImportError):
    """An image transform was used and Pillow, which reads and changes images, is missing."""


def _pillow_image() -> Any:
    """Pillow's ``Image`` module, or ``PillowNotFoundError`` saying how to install it."""
    try:
        # Optional: only the image transforms need Pillow.
        from PIL import Image
    except ImportError:
        raise PillowNotFoundError(
            "this transform works on images and needs Pillow: pip install Pillow"
        ) from None
    return Image


class Compose:
    """Apply ``transforms`` in order; an empty list passes examples through."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]] = ()) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img


# ---------------------------------------------------------------- Pillow images


class Convert:
    """Convert an image to ``mode`` ("RGB", "L"...); "BGR" swaps the red and blue bands."""

    def __init__(self, mode: str = "RGB") -> None:
        self.mode = mode

    def __call__(self, img: Any) -> Any:
        if self.mode != "BGR":
            return img.convert(self.mode)
        red, green, blue = img.convert("RGB").split()
        return _pillow_image().merge("RGB", (blue, green, red))


class Resize:
    """Resize an image to ``size`` (width, height; one int for a square)."""

    def __init__(self, size: Any, mode: Any = None) -> None:
        self.size = pair(size)
        self.mode = mode

    def __call__(self, img: Any) -> Any:
        mode = _pillow_image().BILINEAR if self.mode is None else self.mode
        return img.resize(self.size, mode)


class CenterCrop:
    """Crop the centre ``size`` (width, height) of an image; an odd margin loses its pixel right."""

    def __init__(self, size: Any) -> None:
        self.size = pair(size)

    def __call__(self, img: Any) -> Any:
        width, height = img.size
        out_width, out_height = self.size
        left, top = (width - out_width) // 2, (height - out_height) // 2
        return img.crop((left, top, left + out_width, top + out_height))


class ToArray:
    """An image as a (C, H, W) array of ``dtype``; an array passes through unchanged."""

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = dtype

    def __call__(self, img: Any) -> np.ndarray:
        if isinstance(img, np.ndarray):
            return img
        if not isinstance(img, _pillow_image().Image):
            raise TypeError(f"ToArray takes a Pillow image or an array, not {type(img).__name__}")
        return np.asarray(img).transpose(2, 0, 1).astype(self.dtype)


class ToPIL:
    """A (C, H, W) array as a Pillow image."""

    def __call__(self, array: np.ndarray) -> Any:
        return _pillow_image().fromarray(array.transpose(1, 2, 0))


class RandomHorizontalFlip:
    """Mirror an image left to right with probability ``p`` (Python's ``random``).

    DeZero 0.0.13 declares this class with no body; this one does what its name says.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        if random.random() >= self.p:
            return img
        return img.transpose(_pillow_image().FLIP_LEFT_RIGHT)


# ---------------------------------------------------------------- arrays


class Normalize:
    """``(array - mean) / std``; a sequence gives one value per channel (the first axis)."""

    def __init__(self, mean: Any = 0, std: Any = 1) -> None:
        self.mean = mean
        self.std = std

    def __call__(self, array: np.ndarray) -> np.ndarray:
        return (array - _per_channel(self.mean, array)) / _per_channel(self.std, array)


def _per_channel(value: Any, array: np.ndarray) -> Any:
    """A scalar as it is; a sequence shaped to broadcast along ``array``'s first axis."""
    if np.isscalar(value):
        return value
    shape = [1] * array.ndim
    shape[0] = len(array) if len(value) == 1 else len(value)
    return np.array(value, dtype=array.dtype).reshape(*shape)


class Flatten:
    """The array as one dimension."""

    def __call__(self, array: np.ndarray) -> np.ndarray:
        return array.flatten()


class AsType:
    """The array as ``dtype`` (float32 unless told)."""

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = dtype

    def __call__(self, array: np.ndarray) -> np.ndarray:
        return array.astype(self.dtype)


ToFloat = AsType


class ToInt(AsType):
    """The array as integers (Python's ``int``, numpy's default integer)."""

    def __init__(self, dtype: Any = int) -> None:
        super().__init__(dtype)


__all__ = [
    "AsType",
    "CenterCrop",
    "Compose",
    "Convert",
    "Flatten",
    "Normalize",
    "PillowNotFoundError",
    "RandomHorizontalFlip",
    "Resize",
    "ToArray",
    "ToFloat",
    "ToInt",
    "ToPIL",
]
