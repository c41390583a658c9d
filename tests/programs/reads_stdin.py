"""Reads its stdin to the end and says what it got: ``got 'text'``."""

import sys

print(f"got {sys.stdin.read()!r}", flush=True)
