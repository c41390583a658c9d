"""A module imported lazily, in the middle of a loop: it keeps 5,000 objects."""


class LazyRecord:
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


RECORDS = [LazyRecord(i) for i in range(5_000)]
