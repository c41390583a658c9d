"""A set-up that climbs at once, then a loop that keeps what it makes (``--keep``) or not.

    python setup_then_loop.py [--keep] [--steps 150] [--report FILE]

With ``--report`` it writes what it kept and how long its loop took, as JSON: the
independent measure of its growth rate after set-up.
"""

import argparse
import json
import time

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--keep", action="store_true")
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--report")
args = parser.parse_args()

model = np.ones(8 * 1024 * 1024)  # the set-up: 64 MiB, touched at once
kept = []
started = time.monotonic()
for step in range(args.steps):
    batch = np.full(64 * 1024, float(step))  # 512 KiB, every page touched
    if args.keep:
        kept.append(batch)  # the leak
    time.sleep(0.01)
loop_seconds = time.monotonic() - started
if args.report:
    with open(args.report, "w") as report:
        json.dump({"kept_bytes": sum(a.nbytes for a in kept), "loop_seconds": loop_seconds}, report)
