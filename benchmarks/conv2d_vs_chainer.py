"""agmem's conv2d and conv2d_simple against chainer's convolution_2d, on DeZero's forward cases.

DeZero's tests (``tests/test_conv2d.py``, forward1-4) compare float32 results with
chainer's bit for bit. chainer 7.8.1 needs numpy<1.24, so it runs in a venv of its
own; this script has two steps, joined by a file:

    # in a venv with chainer 7.8.1 (python 3.10, 'numpy<1.24' 'setuptools<70'):
    python benchmarks/conv2d_vs_chainer.py save chainer.npz
    # in agmem's venv:
    python benchmarks/conv2d_vs_chainer.py compare chainer.npz

``compare`` prints, per case and function, how many of the trials are bit-exact, the
largest absolute difference, and that difference in units of float32's rounding
bound for a sum of K products: |d| / (eps32 * sum|x*w|), which a correct float32
dot product of K terms keeps below about K. Set OPENBLAS_CORETYPE (Haswell,
Sandybridge...) on either step to choose OpenBLAS's matrix kernel: the results
depend on it, since it fixes the order in which sgemm accumulates.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

# DeZero's forward1-4: (n, c, h, w), out channels, kernel, stride, pad, bias
CASES = [
    ((1, 5, 15, 15), 8, (3, 3), (1, 1), (1, 1), False),
    ((1, 5, 15, 15), 8, (3, 3), (3, 1), (2, 1), False),
    ((1, 5, 20, 15), 3, (5, 3), 1, 3, False),
    ((1, 5, 20, 15), 3, (5, 3), 1, 3, True),
]
TRIALS = 200


def trials():
    """Every case's inputs, TRIALS times, from one seed: both steps draw the same."""
    rng = np.random.default_rng(0)
    for case, (shape, out, kernel, stride, pad, bias) in enumerate(CASES):
        for trial in range(TRIALS):
            x = rng.standard_normal(shape).astype("f")
            W = rng.standard_normal((out, shape[1], *kernel)).astype("f")
            b = rng.standard_normal(out).astype("f") if bias else None
            yield case, trial, x, W, b, stride, pad


def save(path: str) -> None:
    import chainer.functions as CF  # the reference: only this step needs chainer

    results = {
        f"{c}_{t}": CF.convolution_2d(x, W, b, s, p).data for c, t, x, W, b, s, p in trials()
    }
    np.savez(path, **results)
    print(f"saved {len(results)} results of chainer {sys.modules['chainer'].__version__}")


def compare(path: str) -> None:
    import autograd_mem.functions as F

    reference = np.load(path)
    eps = np.finfo(np.float32).eps
    print(f"numpy {np.__version__}; {TRIALS} trials per case")
    print(f"{'function':<15}{'case':<10}{'bit-exact':>10}{'max |diff|':>12}{'max / bound':>13}")
    for name, conv in (("conv2d", F.conv2d), ("conv2d_simple", F.conv2d_simple)):
        for case in range(len(CASES)):
            exact = total = 0
            largest = worst = 0.0
            for c, t, x, W, b, s, p in trials():
                if c != case:
                    continue
                y, expected = conv(x, W, b, s, p).data, reference[f"{c}_{t}"]
                scale = F.conv2d(
                    np.abs(x).astype(np.float64), np.abs(W).astype(np.float64), None, s, p
                ).data
                diff = np.abs(y.astype(np.float64) - expected)
                total += 1
                exact += bool(np.array_equal(y, expected))
                largest = max(largest, float(diff.max()))
                worst = max(worst, float((diff / (eps * scale + 1e-30)).max()))
            label = f"forward{case + 1}"
            print(f"{name:<15}{label:<10}{exact:>6}/{total:<3}{largest:>12.3g}{worst:>13.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("save", help="run chainer's convolution_2d (needs chainer)").add_argument("file")
    sub.add_parser("compare", help="run agmem's against the saved results").add_argument("file")
    args = parser.parse_args()
    (save if args.step == "save" else compare)(args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
