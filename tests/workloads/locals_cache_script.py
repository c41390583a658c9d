"""A script whose cache lives in main()'s locals (issue 22): held while main() works, gone
once it returns, so only the peak shows it. Run as a program."""

import time

BLOCKS = 120


def main():
    cache = []
    for _ in range(BLOCKS):
        cache.append(bytearray(64 * 1024))  # allocates the cache
    time.sleep(0.2)  # the work that uses it
    return len(cache)


main()
