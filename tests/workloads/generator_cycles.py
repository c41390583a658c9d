"""Each iteration leaves a suspended generator on a cycle, its frame holding a payload.

Generators alone never reach the collector's threshold here, so the window's
collections find none of them: they are still waiting when it ends (issue 22). And a
generator is finalized (closed) before the collector saves it, which frees its frame's
payload: the bytes must be measured before that.
"""

PAYLOAD_BYTES = 20_000


class Holder:
    def __init__(self) -> None:
        self.me = self
        self.generator = None


def produce(holder: Holder):
    payload = bytearray(PAYLOAD_BYTES)
    yield payload
    yield holder


def step(iteration: int) -> None:
    holder = Holder()  # allocates the cycle
    holder.generator = produce(holder)
    next(holder.generator)
