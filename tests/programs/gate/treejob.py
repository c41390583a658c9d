"""A tiny job building trees whose nodes point back at their parent: cycles for the collector.

A test program for ``agmem check``'s forensics (issue 23): small enough for the
explain pass to take a second. ``KEEP_TREES``, edited by the tests, keeps that many
trees (about 52 KiB each) in a global list until the end.
"""

# 80 trees of 52 containers each: over 3.13's threshold0 of 2,000 twice, so the
# collector frees some of them while the job runs on every CPython.
SHORT_LIVED_TREES = 80
KEEP_TREES = 0
kept = []


def build(width):
    root = {"name": "root", "children": [], "parent": None}
    for i in range(width):
        root["children"].append({"name": i, "parent": root, "payload": bytearray(1024)})
    return root


def main():
    nodes = 0
    for _ in range(SHORT_LIVED_TREES):
        nodes += len(build(50)["children"])
    for _ in range(KEEP_TREES):
        kept.append(build(50))
    print(f"{nodes} nodes built, {len(kept)} trees kept")


if __name__ == "__main__":
    main()
