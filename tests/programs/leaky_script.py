"""Leaks reference cycles holding bytearrays, unless ``--fix``: a script agmem runs unchanged.

Each step makes a node that points at itself (a reference cycle) and holds a filled
buffer. Without ``--fix`` every node is garbage only the cyclic collector can free, so
the buffers pile up between collections; with ``--fix`` the cycle is broken and each
buffer is freed the moment its step ends.

    python leaky_script.py --n 200 --kib 64 [--fix]
"""

import argparse

from _report import report


class Node:
    def __init__(self, payload: bytearray) -> None:
        self.payload = payload
        self.me = self  # the cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="steps")
    parser.add_argument("--kib", type=int, default=64, help="buffer per step, KiB")
    parser.add_argument("--fix", action="store_true", help="break each cycle")
    args = parser.parse_args()
    report(__name__, fix=args.fix, n=args.n)
    total = 0
    for _ in range(args.n):
        node = Node(bytearray(b"\x01") * (args.kib * 1024))  # filled: every page touched
        total += len(node.payload)
        if args.fix:
            node.me = None
    print(f"made {total // 1024} KiB in {args.n} steps, fix={args.fix}")


if __name__ == "__main__":
    main()
