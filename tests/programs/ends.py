"""Ends the way its first argument says, leaving weak references to what it held on ``sys``.

    python ends.py normal | exit-none | exit-int N | exit-text MESSAGE | raise | chained

Each way of ending leaves ``sys.agmem_fixture_held``: weak references to a buffer
held by a global and to one held by a local of the function running at the end, so a
test can tell whether anything kept the program's globals or frames alive after it.
"""

import sys
import weakref

from _report import report


class Buffer:
    def __init__(self, size: int) -> None:
        self.data = bytearray(size)


KEPT_BY_A_GLOBAL = Buffer(1 << 20)


def finish(how: str, value: str | None) -> None:
    held_by_a_local = Buffer(1 << 20)
    sys.agmem_fixture_held = (weakref.ref(KEPT_BY_A_GLOBAL), weakref.ref(held_by_a_local))
    if how == "exit-none":
        sys.exit()
    if how == "exit-int":
        sys.exit(int(value or "0"))
    if how == "exit-text":
        sys.exit(value)
    if how == "raise":
        raise ValueError(f"boom from ends.py, holding {len(held_by_a_local.data)} bytes")
    if how == "chained":
        try:
            {}["missing"]
        except KeyError as exc:
            raise RuntimeError("chained from ends.py") from exc


report(__name__)
finish(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
print("ends.py: ended normally", flush=True)
