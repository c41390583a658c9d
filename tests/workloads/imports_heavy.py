"""A module that keeps 20,000 objects when imported (about 2 MiB): set-up, not growth."""


class HeavyRecord:
    __slots__ = ("values",)

    def __init__(self, values: tuple) -> None:
        self.values = values


RECORDS = [HeavyRecord((i, str(i) * 10)) for i in range(20_000)]
