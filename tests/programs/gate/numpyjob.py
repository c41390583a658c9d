"""A small numpy job: normalise a random matrix, take its covariance, solve a system.

A test program for ``agmem check`` (issue 23). ``KEEP_BYTES``, edited by the tests,
keeps that many bytes of arrays alive to the end, made before the work
(``KEEP_AT = "start"``) or after it ("end").
"""

import numpy as np

N = 400_000
COLUMNS = 8
KEEP_BYTES = 0
KEEP_AT = "end"
kept = []


def keep(rng, size):
    """Intermediate results kept "for later": the leak the gate must catch."""
    while size > 0:
        part = rng.random(min(size, 1 << 20) // 8 + 1)
        kept.append(part)
        size -= part.nbytes


def work(rng):
    data = rng.normal(size=(N, COLUMNS))
    centred = (data - data.mean(axis=0)) / data.std(axis=0)
    covariance = centred.T @ centred / N
    solution = np.linalg.solve(covariance + np.eye(COLUMNS), np.ones(COLUMNS))
    return float(solution.sum())


def main():
    rng = np.random.default_rng(3)
    if KEEP_AT == "start":
        keep(rng, KEEP_BYTES)
    answer = work(rng)
    if KEEP_AT == "end":
        keep(rng, KEEP_BYTES)
    print(f"solution sums to {answer:.6f}")


if __name__ == "__main__":
    main()
