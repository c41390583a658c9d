"""Keeps a growing list of reference cycles: ``python -m leakpkg.run [--n N]``."""

import argparse

from _report import report


def leak(n: int) -> list[dict[str, object]]:
    kept = []
    for _ in range(n):
        entry: dict[str, object] = {"payload": bytearray(b"\x02") * 16384}
        entry["self"] = entry  # a cycle, and kept: a real leak
        kept.append(entry)
    return kept


def main(name: str) -> None:
    parser = argparse.ArgumentParser(prog="leakpkg")
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    report(name)
    kept = leak(args.n)
    print(f"leakpkg kept {len(kept)} cycles")


if __name__ == "__main__":
    main(__name__)
