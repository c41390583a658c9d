"""The bundled engine, as a user would call it: x → square → square. Run in either mode."""

import numpy as np

from autograd_mem.engine import Variable
from autograd_mem.functions import square

SIZE = 10_000
SQUARES = 2


def step(iteration: int) -> None:
    x = Variable(np.ones(SIZE))
    y = x
    for _ in range(SQUARES):
        y = square(y)  # allocates the cycle
