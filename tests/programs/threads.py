"""Returns from its main code while a non-daemon thread it started still works for 0.3 s."""

import threading
import time


def work() -> None:
    time.sleep(0.3)
    print("threads.py: the thread finished", flush=True)


threading.Thread(target=work, name="fixture-worker").start()
print("threads.py: main code returned", flush=True)
