"""A parent with a list of its children, each child pointing back at its parent."""

CHILDREN = 4
PAYLOAD_BYTES = 64 * 1024


class Parent:
    def __init__(self) -> None:
        self.children: list[Child] = []


class Child:
    def __init__(self, parent: Parent) -> None:
        self.parent = parent
        self.payload = bytearray(PAYLOAD_BYTES)
        parent.children.append(self)


def step(iteration: int) -> None:
    parent = Parent()  # allocates the cycle
    for _ in range(CHILDREN):
        Child(parent)  # allocates the cycle
