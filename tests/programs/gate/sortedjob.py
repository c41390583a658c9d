"""A small sortedcontainers job: a leaderboard kept sorted while scores arrive and leave.

A test program for ``agmem check`` (issue 23), on a pure-Python package from PyPI.
``KEEP_BYTES``, edited by the tests, keeps that many bytes of snapshots alive to the
end, taken before the work (``KEEP_AT = "start"``) or after it ("end").
"""

import random

from sortedcontainers import SortedDict, SortedList

PLAYERS = 40_000
KEEP_BYTES = 0
KEEP_AT = "end"
kept = []


def keep(size):
    """Leaderboard snapshots kept in a history never trimmed: the leak the gate must catch."""
    while size > 0:
        snapshot = bytes(range(256)) * 16
        kept.append(SortedList([snapshot]))
        size -= len(snapshot)


def work(rng):
    board = SortedList()
    by_name = SortedDict()
    for i in range(PLAYERS):
        score = rng.randrange(1_000_000)
        board.add((score, i))
        by_name[f"player{i:06d}"] = score
    for i in range(0, PLAYERS, 3):
        board.remove((by_name[f"player{i:06d}"], i))
    top = board[-10:]
    return len(board), top[-1][0]


def main():
    rng = random.Random(11)
    if KEEP_AT == "start":
        keep(KEEP_BYTES)
    players, best = work(rng)
    if KEEP_AT == "end":
        keep(KEEP_BYTES)
    print(f"{players} players, best score {best}")


if __name__ == "__main__":
    main()
