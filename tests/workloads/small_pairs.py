"""Small cycles: pairs of instances with three attributes each, one the other (issue 22)."""

PAIRS = 100


class Pair:
    def __init__(self, iteration: int) -> None:
        self.iteration = iteration
        self.label = "pair"
        self.other = None


def step(iteration: int) -> None:
    for _ in range(PAIRS):
        first, second = Pair(iteration), Pair(iteration)  # allocates the cycle
        first.other, second.other = second, first
