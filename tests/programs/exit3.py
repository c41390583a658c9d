"""Writes a few lines to stderr and exits with status 3: a failing program."""

import sys

print("exit3: this program writes to stdout first", flush=True)
for line in ("exit3: loading the data", "exit3: the data is corrupt", "exit3: giving up"):
    print(line, file=sys.stderr)
sys.exit(3)
