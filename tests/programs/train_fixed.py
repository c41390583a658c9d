"""Trains a small MLP on noisy sine data with agmem's engine; its graphs are freed as it goes.

The "after" of a before/after pair: identical to ``train_leaky.py`` but for one line,
the reference mode. Under ``weak`` a Function holds its outputs through weak references,
so a graph has no cycle and is freed by reference counting the moment the next step
rebinds ``loss``: the process holds about one graph at a time.

    python train_fixed.py [--steps 200] [--samples 5000] [--hidden 10]
"""

import argparse

import numpy as np

import autograd_mem as am
from autograd_mem import functions as F

REFERENCE_MODE = "weak"  # the fix: train_leaky.py says "strong"


def train(steps: int, samples: int, hidden: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 1))
    y = np.sin(2 * np.pi * x) + rng.random((samples, 1))
    w1 = am.Variable(0.01 * rng.standard_normal((1, hidden)))
    b1 = am.Variable(np.zeros(hidden))
    w2 = am.Variable(0.01 * rng.standard_normal((hidden, 1)))
    b2 = am.Variable(np.zeros(1))
    parameters = (w1, b1, w2, b2)
    loss = None
    for _ in range(steps):
        prediction = F.linear(F.sigmoid(F.linear(x, w1, b1)), w2, b2)
        loss = F.mean_squared_error(prediction, y)
        for p in parameters:
            p.cleargrad()
        loss.backward()
        for p in parameters:
            p.data -= 0.2 * getattr(p.grad, "data", p.grad)
    return float(loss.data) if loss is not None else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--hidden", type=int, default=10)
    args = parser.parse_args()
    with am.reference_mode(REFERENCE_MODE):
        final_loss = train(args.steps, args.samples, args.hidden)
    print(f"{REFERENCE_MODE}: final loss {final_loss:.4f} after {args.steps} steps")


if __name__ == "__main__":
    main()
