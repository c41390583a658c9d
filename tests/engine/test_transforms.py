"""DeZero's transforms: the array ones on numpy, the image ones on Pillow, or a clear error."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from autograd_mem import transforms as T
from autograd_mem.dataloaders import pil_available
from autograd_mem.datasets import Spiral


def test_normalize_takes_scalars_or_one_value_per_channel() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    np.testing.assert_allclose(T.Normalize(mean=1.0, std=2.0)(x), (x - 1) / 2)
    per_channel = T.Normalize(mean=[0.0, 4.0, 8.0], std=[1.0, 2.0, 4.0])(x)
    np.testing.assert_allclose(per_channel[1], (x[1] - 4) / 2)
    np.testing.assert_allclose(per_channel[2], (x[2] - 8) / 4)
    assert per_channel.dtype == np.float32


def test_compose_applies_in_order_and_an_empty_one_passes_through() -> None:
    x = np.arange(6).reshape(2, 3)
    pipeline = T.Compose([T.Flatten(), T.ToFloat(), T.Normalize(mean=1.0)])
    y = pipeline(x)
    assert y.shape == (6,) and y.dtype == np.float32
    np.testing.assert_array_equal(y, np.arange(6) - 1)
    assert T.Compose()(x) is x


def test_astype_toint_tofloat() -> None:
    x = np.array([1.7, -2.2])
    assert T.AsType(np.float16)(x).dtype == np.float16
    assert T.ToFloat is T.AsType and T.ToFloat()(x).dtype == np.float32
    np.testing.assert_array_equal(T.ToInt()(x), [1, -2])


def test_a_dataset_applies_its_transform_to_each_example() -> None:
    data = Spiral(transform=T.Compose([T.Normalize(mean=1.0), T.AsType(np.float64)]))
    x, _ = data[0]
    assert x.dtype == np.float64
    np.testing.assert_allclose(x, Spiral()[0][0] - 1.0, rtol=1e-6)


def test_to_array_passes_an_array_through() -> None:
    x = np.zeros((3, 2, 2))
    assert T.ToArray()(x) is x


def test_without_pillow_an_image_transform_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    with pytest.raises(T.PillowNotFoundError, match="pip install Pillow"):
        T.ToPIL()(np.zeros((3, 2, 2), dtype=np.uint8))
    with pytest.raises(ImportError):  # it is an ImportError, for code that catches those
        T.Resize(4)(object())


def test_pil_available_says_whether_pillow_is_installed() -> None:
    try:
        import PIL  # noqa: F401
    except ImportError:
        assert pil_available is False
    else:
        assert pil_available is True


@pytest.fixture
def image():
    Image = pytest.importorskip("PIL.Image")
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)  # height 4, width 6
    rgb[:, :, 0] = np.arange(6) * 40  # red grows left to right
    rgb[:, :, 2] = 7
    return Image.fromarray(rgb)


def test_image_transforms_on_pillow(image) -> None:
    array = T.ToArray()(image)
    assert array.shape == (3, 4, 6) and array.dtype == np.float32
    np.testing.assert_array_equal(array[0, 0], np.arange(6) * 40)
    bgr = T.ToArray()(T.Convert("BGR")(image))
    np.testing.assert_array_equal(bgr[0], array[2])  # blue first
    assert T.Convert("L")(image).mode == "L"
    assert T.Resize((3, 2))(image).size == (3, 2)
    cropped = T.CenterCrop((2, 2))(image)
    np.testing.assert_array_equal(T.ToArray()(cropped)[0, 0], [80, 120])
    back = T.ToPIL()(array.astype(np.uint8))
    np.testing.assert_array_equal(np.asarray(back), np.asarray(image))
    flipped = T.ToArray()(T.RandomHorizontalFlip(p=1.0)(image))
    np.testing.assert_array_equal(flipped[0, 0], np.arange(6)[::-1] * 40)
    assert T.RandomHorizontalFlip(p=0.0)(image) is image
