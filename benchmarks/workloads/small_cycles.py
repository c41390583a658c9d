"""A workload for benchmarks/explain.py: 200 small cycles an iteration (200,000 in 1,000).

Each cycle is a pair of instances with three attributes, one of them the other: the
smallest cycle a program commonly makes, and the most of them per byte.
"""

from __future__ import annotations

CYCLES_PER_ITERATION = 200


class Pair:
    def __init__(self, index: int) -> None:
        self.index = index
        self.label = "pair"
        self.other: Pair | None = None


def step(i: int) -> None:
    for _ in range(CYCLES_PER_ITERATION):
        first, second = Pair(i), Pair(i)
        first.other, second.other = second, first
