"""What ``--agmem`` gathers over one session: the measured tests, in a worker or in the controller.

With pytest-xdist each worker measures its own tests and hands them, as the ``pytest``
document, to the controller (``workeroutput``); the controller reads each through the
document's strict reader and keeps one list, in collection order, so its summary and
``--agmem-json`` hold the same records as a serial run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.pytest_session import MeasuredTest, PytestSession, from_dict, to_dict

WORKER_KEY = "agmem"  # the key of a worker's output the records travel under


@dataclass
class Recording:
    """The session's settings and the tests measured so far."""

    every_test: bool  # --agmem (or a budget option): measure every test, not the marked only
    full: bool  # --agmem-full
    budgets: Mapping[str, int]  # the session's budgets, for every measured test
    top: int
    json_path: str | None
    root: str  # file names are shown relative to it
    html_path: str | None = None  # --agmem-html: the page of every measured test
    order: dict[str, int] = field(default_factory=dict)  # nodeid -> collection index
    tests: list[tuple[int, MeasuredTest]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, shown at the end

    @property
    def detail(self) -> str:
        return "full" if self.full else "young"

    def add(self, test: MeasuredTest) -> None:
        self.tests.append((self.order.get(test.nodeid, len(self.order)), test))

    def document(self) -> PytestSession:
        """Every measured test, in collection order (run order among equals)."""
        ordered = sorted(enumerate(self.tests), key=lambda pair: (pair[1][0], pair[0]))
        return PytestSession(self.detail, tuple(test for _, (_, test) in ordered))

    def worker_output(self) -> dict[str, Any]:
        """What a worker sends the controller: its document and each record's index."""
        return {"document": to_dict(self.document()),
                "order": [index for index, _ in sorted(self.tests, key=lambda pair: pair[0])]}

    def merge(self, worker: str, output: Any) -> None:
        """Add a worker's records; a record that does not read back is a problem, not a crash."""
        try:
            if not isinstance(output, Mapping) or not isinstance(output.get("order"), list):
                raise ResultFormatError(f"{worker}: no agmem records in its output")
            document = from_dict(output.get("document"), f"{worker}'s records")
            if len(output["order"]) != len(document.tests):
                raise ResultFormatError(f"{worker}: {len(document.tests)} records, "
                                        f"{len(output['order'])} indices")
        except ResultFormatError as exc:
            self.problems.append(f"agmem: error: {exc.message}")
            return
        self.tests.extend(zip(output["order"], document.tests, strict=True))
