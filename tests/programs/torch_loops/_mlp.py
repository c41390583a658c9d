"""The shared part of the five training loops: an MLP, synthetic data, arguments.

Each loop is a script of its own (``leak_losses.py`` ...), differing from ``fixed.py``
in the lines that leak, as a user's script would.
"""

import argparse

import torch
from torch import nn


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=1024)
    return parser.parse_args()


def model_and_data(hidden: int, batch: int):
    # One thread: torch's two OpenMP threads spin against each other, and against the
    # other processes of a busy 2-core machine, making a 7 s loop take 100 s.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(256, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs = torch.randn(batch, 256)
    targets = torch.randint(0, 10, (batch,))
    return model, optimizer, inputs, targets
