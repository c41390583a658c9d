"""Cycles made inside the standard library: ``copy.deepcopy`` of a self-referencing object.

The innermost frame of each copy's allocation is ``copy.py``; the line to show is this
file's, which called it.
"""

import copy


class Loop:
    def __init__(self) -> None:
        self.me = self
        self.payload = bytearray(10_000)


TEMPLATE = Loop()


def step(iteration: int) -> None:
    copy.deepcopy(TEMPLATE)  # allocates the cycle
