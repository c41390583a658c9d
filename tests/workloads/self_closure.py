"""A nested function whose closure refers to the function itself (to recurse)."""

PAYLOAD_BYTES = 256 * 1024


def step(iteration: int) -> None:
    payload = bytearray(PAYLOAD_BYTES)

    def countdown(n: int) -> int:  # allocates the cycle
        return countdown(n - 1) if n else len(payload)

    countdown(3)
