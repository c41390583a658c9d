"""A set-up that keeps 30,000 weights, then (with ``--mark``) ``autograd_mem.setup_done()``,
then a loop that keeps a 32 KiB bytearray a step: the leak.

    python setup_marked.py [--mark] [--steps 100]
"""

import sys
import time

import autograd_mem


class Weight:
    __slots__ = ("values",)

    def __init__(self, index: int) -> None:
        self.values = (index, float(index))


MODEL = [Weight(i) for i in range(30_000)]  # the set-up
if "--mark" in sys.argv:
    autograd_mem.setup_done()
kept = []
for _step in range(100):
    kept.append(bytearray(32 * 1024))  # the leak
    time.sleep(0.002)
