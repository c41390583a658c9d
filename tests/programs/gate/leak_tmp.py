"""A small JSON job: build records, encode and decode them, and total a field.

A test program for ``agmem check`` (issue 23): ordinary code nobody tuned for agmem.
``KEEP_BYTES``, edited by the tests, keeps that many bytes of decoded documents alive
to the end, made before the work (``KEEP_AT = "start"``) or after it ("end").
"""

import json
import random

RECORDS = 40_000
KEEP_BYTES = 2097152
KEEP_AT = "end"
kept = []


def keep(size):
    """A cache that is never emptied: the leak the gate must catch."""
    chunk = json.dumps([{"id": i, "name": f"user{i}"} for i in range(2_000)])
    while size > 0:
        kept.append(chunk.encode() + b" " * (size % 7))  # distinct, fully touched bytes
        size -= len(chunk)


def work(rng):
    records = [
        {"id": i, "name": f"user{i}", "score": rng.random(), "tags": ["a", "b", str(i % 10)]}
        for i in range(RECORDS)
    ]
    text = json.dumps(records)
    decoded = json.loads(text)
    return sum(r["score"] for r in decoded), len(text)


def main():
    rng = random.Random(42)
    if KEEP_AT == "start":
        keep(KEEP_BYTES)
    total, size = work(rng)
    if KEEP_AT == "end":
        keep(KEEP_BYTES)
    print(f"total {total:.3f} over {size} bytes of JSON")


if __name__ == "__main__":
    main()
