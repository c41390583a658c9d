"""Starts worker processes that each hold a filled buffer for a while, then joins them.

    python workers.py [--workers 2] [--mib 50] [--hold 1.0] [--linger 0.0]
                      [--start-method fork|spawn|forkserver]

Each worker fills its buffer (every page written, so it is resident), reports its pid
on a queue, then holds the buffer for ``--hold`` seconds. The main process prints
``worker PID ready`` for each one, so a test knows when all the memory is there, and
after joining them stays ``--linger`` seconds more, alone, before it exits.
"""

import argparse
import multiprocessing
import os
import sys
import time

from _report import report

MIB = 1 << 20


def hold(mib: int, seconds: float, ready: "multiprocessing.Queue[int]") -> None:
    block = b"\x01" * (mib * MIB)  # repetition writes every byte: the pages are resident
    ready.put(os.getpid())
    time.sleep(seconds)
    if block[-1] != 1:
        raise SystemExit(1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mib", type=int, default=50)
    parser.add_argument("--hold", type=float, default=1.0)
    parser.add_argument("--linger", type=float, default=0.0)
    parser.add_argument("--start-method", default=None)
    args = parser.parse_args()
    report(__name__, pid=os.getpid())
    context = multiprocessing.get_context(args.start_method)
    ready = context.Queue()
    workers = [
        context.Process(target=hold, args=(args.mib, args.hold, ready))
        for _ in range(args.workers)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        print(f"worker {ready.get(timeout=120)} ready", flush=True)
    for worker in workers:
        worker.join()
    codes = [worker.exitcode for worker in workers]
    print(f"workers done, exit codes {codes}", flush=True)
    time.sleep(args.linger)
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
