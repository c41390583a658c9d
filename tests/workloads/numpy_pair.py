"""Two nodes referring to each other, each holding a numpy array."""

import numpy as np

ELEMENTS = 20_000


class Node:
    def __init__(self) -> None:
        self.peer = None
        self.values = np.ones(ELEMENTS)


def step(iteration: int) -> None:
    first, second = Node(), Node()  # allocates the cycle
    first.peer, second.peer = second, first
