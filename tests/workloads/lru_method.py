"""No cycle: ``functools.cache`` (lru_cache) on a method keeps every instance (issue 22)."""

import functools

RESULT_BYTES = 50_000


class Model:
    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    @functools.cache  # noqa: B019 (the leak this workload is about)
    def features(self) -> bytearray:
        return bytearray(RESULT_BYTES)  # allocates the leak


def step(iteration: int) -> None:
    Model(iteration).features()
