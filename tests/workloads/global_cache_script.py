"""A script whose global CACHE gains 64 KiB bytearrays (issue 22): run as a program."""

CACHE = []
BLOCKS = 60


def main():
    for _ in range(BLOCKS):
        CACHE.append(bytearray(64 * 1024))  # allocates the leak


main()
