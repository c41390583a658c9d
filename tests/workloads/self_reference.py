"""An instance that refers to itself and holds a bytearray: the smallest cycle there is."""

PAYLOAD_BYTES = 256 * 1024


class Leaky:
    def __init__(self) -> None:
        self.me = self
        self.payload = bytearray(PAYLOAD_BYTES)


def step(iteration: int) -> None:
    Leaky()  # allocates the cycle
