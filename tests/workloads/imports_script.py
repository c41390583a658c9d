"""A script that imports a module keeping 20,000 objects, then leaks 40 bytearrays, with a
lazy import in the middle of its loop (issues 22, 24). Run as a program."""

import imports_heavy

BLOCKS = 40


def main():
    kept = []
    for block in range(BLOCKS):
        kept.append(bytearray(64 * 1024))  # allocates the leak
        if block == BLOCKS // 2:
            import imports_lazy  # noqa: F401  (a lazy import: set-up too)
    return kept


KEPT = main()
assert imports_heavy.RECORDS
