"""No cycle at all: a module-level list that keeps every record, so memory only grows."""

RECORDS: list["Record"] = []


class Record:
    __slots__ = ("iteration", "payload")

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration
        self.payload = bytearray(1024)


def step(iteration: int) -> None:
    RECORDS.append(Record(iteration))
