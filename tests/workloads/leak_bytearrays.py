"""No cycle: a module-level list gains a 1,000-byte bytearray an iteration (issue 22)."""

KEPT: list[bytearray] = []


def step(iteration: int) -> None:
    KEPT.append(bytearray(1000))  # allocates the leak
