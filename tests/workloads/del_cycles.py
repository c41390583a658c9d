"""Cycles through objects with ``__del__``, whose finalizer frees their payload (issue 22)."""

PAYLOAD_BYTES = 20_000


class Finalized:
    def __init__(self) -> None:
        self.me = self
        self.payload = bytearray(PAYLOAD_BYTES)

    def __del__(self) -> None:
        self.payload = None


def step(iteration: int) -> None:
    Finalized()  # allocates the cycle
