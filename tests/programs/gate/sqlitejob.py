"""A small sqlite3 job: load rows into an in-memory database, group them, build a tree.

A test program for ``agmem check`` (issue 23). ``KEEP_BYTES``, edited by the tests,
keeps that many bytes of fetched rows alive to the end, fetched before the work
(``KEEP_AT = "start"``) or after it ("end").
"""

import random
import sqlite3

ROWS = 30_000
KEEP_BYTES = 0
KEEP_AT = "end"
kept = []


def keep(db, size):
    """Rows fetched into a cache that is never emptied: the leak the gate must catch."""
    while size > 0:
        blob = db.execute("SELECT randomblob(4096)").fetchone()[0]
        kept.append(blob)
        size -= len(blob)


def work(db, rng):
    db.execute("CREATE TABLE sale (id INTEGER PRIMARY KEY, region TEXT, amount REAL)")
    db.executemany(
        "INSERT INTO sale (region, amount) VALUES (?, ?)",
        ((f"region{rng.randrange(50)}", rng.random() * 100) for _ in range(ROWS)),
    )
    tree = {"name": "all", "children": [], "parent": None}
    for region, total in db.execute("SELECT region, SUM(amount) FROM sale GROUP BY region"):
        tree["children"].append({"name": region, "total": total, "parent": tree})
    rows = db.execute("SELECT * FROM sale ORDER BY amount DESC").fetchall()
    return len(tree["children"]), rows[0][2]


def main():
    db = sqlite3.connect(":memory:")
    rng = random.Random(7)
    if KEEP_AT == "start":
        keep(db, KEEP_BYTES)
    regions, largest = work(db, rng)
    if KEEP_AT == "end":
        keep(db, KEEP_BYTES)
    print(f"{regions} regions, largest sale {largest:.2f}")


if __name__ == "__main__":
    main()
