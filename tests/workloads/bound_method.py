"""An instance that stores one of its own bound methods (a callback to itself)."""

PAYLOAD_BYTES = 256 * 1024


class Handler:
    def __init__(self) -> None:
        self.payload = bytearray(PAYLOAD_BYTES)
        self.callback = self.handle

    def handle(self) -> int:
        return len(self.payload)


def step(iteration: int) -> None:
    Handler()  # allocates the cycle
