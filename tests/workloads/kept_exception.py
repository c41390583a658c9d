"""An exception stored in a local inside its except block: its traceback's frame holds it."""

PAYLOAD_BYTES = 256 * 1024


def step(iteration: int) -> None:
    payload = bytearray(PAYLOAD_BYTES)
    try:
        raise ValueError(iteration)  # allocates the cycle
    except ValueError as exc:
        error = exc
    assert error is not None and payload
