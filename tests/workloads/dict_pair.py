"""Two objects that refer to each other through a dict each: a → a.links['peer'] → b → … → a."""

PAYLOAD_BYTES = 128 * 1024


class Node:
    def __init__(self) -> None:
        self.links: dict[str, Node] = {}
        self.payload = bytearray(PAYLOAD_BYTES)


def step(iteration: int) -> None:
    first, second = Node(), Node()  # allocates the cycle
    first.links["peer"] = second
    second.links["peer"] = first
