"""A budget for every test (``--agmem-max-*``, ``agmem_max_*`` ini keys), markers overriding it."""

from __future__ import annotations

import gc
import json
from pathlib import Path

# Imported before any inner session, as in test_marks.py.
import numpy  # noqa: F401
import pytest

import autograd_mem.engine  # noqa: F401
from autograd_mem.pytest_plugin.marks import BUDGETS, budgets_for, judge, read_marker
from autograd_mem.schema.pytest_session import BodyFigures, from_dict

QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-p", "no:randomly")

SUITE = """
import numpy as np
import pytest


class Node:
    def __init__(self):
        self.me = self  # the cycle's line


def test_leaks_three_cycles():
    for _ in range(3):
        Node()


@pytest.mark.agmem(max_cycles=3, mode=None)
def test_allowed_three_by_its_marker():
    for _ in range(3):
        Node()


@pytest.mark.agmem(max_cycles=None, mode=None)
def test_unlimited_by_its_marker():
    for _ in range(5):
        Node()


def test_clean():
    assert sum(range(10)) == 45


def test_two_mib():
    block = np.ones(262_144)  # 2 MiB of float64
    assert block.nbytes == 2 * 1024**2
"""


def read(path: Path) -> dict[str, object]:
    document = from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
    return {test.nodeid.split("::")[1]: test for test in document.tests}


def test_a_cycle_budget_for_every_test_fails_the_unmarked_leak_only(
    pytester: pytest.Pytester,
) -> None:
    # given a suite where one unmarked test leaves 3 cycles, and two marked tests override
    pytester.makepyfile(test_suite=SUITE)
    # when it runs with a budget of 0 cycles for every test (the option alone turns --agmem on)
    result = pytester.runpytest(*QUIET, "--agmem-max-cycles", "0", "--agmem-json", "b.json")
    # then only the unmarked leaking test fails; the markers' limits hold for theirs
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_suite.py::test_leaks_three_cycles*"])
    text = result.stdout.str()
    # and its failure names the budget, the figure and where the cycle came from
    assert "agmem: test_leaks_three_cycles exceeded its memory budget:" in text
    assert "  - max_cycles: garbage cycles made by the test's own code: 3 > limit 0" in text
    assert "largest cycle: 3 × Node.me → Node" in text
    assert "made at test_suite.py:" in text
    # and the summary names the session's budget and the test over it
    assert "Budgets for every test: max_cycles 0." in text
    assert "  test_suite.py::test_leaks_three_cycles (max_cycles)" in text
    tests = read(pytester.path / "b.json")
    assert tests["test_leaks_three_cycles"].exceeded == ("max_cycles",)
    assert tests["test_unlimited_by_its_marker"].figures.cycles == 5
    assert tests["test_unlimited_by_its_marker"].exceeded == ()


def test_an_ini_peak_budget_applies_under_agmem_and_a_marker_overrides_it(
    pytester: pytest.Pytester,
) -> None:
    # given an ini budget of 1 MiB peak growth, and the 2 MiB test marked with a larger one
    pytester.makeini("[pytest]\nagmem_max_peak_growth = 1 MiB\n")
    pytester.makepyfile(
        test_peak=SUITE.replace(
            "def test_two_mib", "@pytest.mark.agmem(max_peak_growth='3 MiB', mode=None)\n"
            "def test_two_mib_marked():\n    test_two_mib()\n\n\ndef test_two_mib"
        )
    )
    # when it runs with --agmem
    result = pytester.runpytest(*QUIET, "--agmem")
    # then the unmarked 2 MiB test fails on the ini budget, the marked one passes
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        ["*max_peak_growth: peak memory growth (tracemalloc): 2.0 MiB > limit 1.0 MiB*",
         "FAILED test_peak.py::test_two_mib - *"]
    )
    # and without --agmem the ini key alone measures nothing and fails nothing
    plain = pytester.runpytest(*QUIET)
    plain.assert_outcomes(passed=6)
    assert "agmem: memory per test" not in plain.stdout.str()


def test_a_command_line_budget_overrides_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nagmem_max_peak_growth = 1 MiB\n")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest(*QUIET, "--agmem-max-peak-growth", "50MiB")
    result.assert_outcomes(passed=5)


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (("--agmem-max-cycles", "-1"), "",
         "agmem: --agmem-max-cycles: must be a count of 0 or more, got '-1'"),
        (("--agmem-max-peak-growth", "lots"), "", "agmem: --agmem-max-peak-growth: not a size"),
        ((), "agmem_max_collected = some", "agmem: agmem_max_collected: must be a count"),
    ],
)
def test_a_bad_budget_is_one_usage_line(
    pytester: pytest.Pytester, args: tuple[str, ...], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest(*QUIET, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_every_budget_has_an_option_and_an_ini_key(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*QUIET, "--help")
    text = " ".join(result.stdout.str().split())
    for budget in BUDGETS:
        assert f"{budget.option}=LIMIT" in text
        assert f"{budget.ini} (string):" in text


def test_a_marker_overrides_a_session_budget_name_by_name() -> None:
    # given session budgets, and a marker naming one of them (None: unlimited)
    session = {"max_cycles": 0, "max_peak_growth": 1024}
    marker = read_marker((), {"max_cycles": None, "max_collected": 5})
    # then the test's budgets are the session's with the marker's names replaced
    assert budgets_for(session, marker) == {"max_peak_growth": 1024, "max_collected": 5}


def test_each_judge_is_pure_and_names_its_budget() -> None:
    figures = BodyFigures(
        peak_growth_bytes=2048, live_variables=1, live_functions=1, collected=9,
        collections=1, cycles=3,
    )
    verdicts = judge(
        {"max_peak_growth": 1024, "max_live_objects": 2, "max_collected": 8, "max_cycles": 3},
        figures,
    )
    assert [v.budget for v in verdicts] == ["max_peak_growth", "max_collected"]
    assert verdicts[1].line == "objects left to the cyclic collector: 9 > limit 8"
    assert judge({"max_cycles": 3}, figures) == []
    uncounted = BodyFigures(0, 0, 0, 1, 1, cycles=None)
    assert [v.budget for v in judge({"max_cycles": 5}, uncounted)] == ["max_cycles"]


def test_a_test_that_clears_gc_callbacks_keeps_its_outcome(pytester: pytest.Pytester) -> None:
    # given tests that empty gc.callbacks (as some leak checkers do) and then make cycles
    pytester.makepyfile(
        test_callbacks="""
import gc


def test_clears_the_callbacks():
    saved = list(gc.callbacks)
    gc.callbacks.clear()
    try:
        for _ in range(3):
            box = []
            box.append(box)
        gc.collect()
        assert gc.garbage == []
    finally:
        gc.callbacks[:] = saved


def test_clears_them_for_good():
    gc.callbacks.clear()
    box = []
    box.append(box)


def test_after_them():
    assert gc.garbage == []
"""
    )
    saved = list(gc.callbacks)
    garbage_before = len(gc.garbage)
    try:
        # when the suite runs under --agmem with a cycle budget for every test
        result = pytester.runpytest(*QUIET, "--agmem", "--agmem-json", "c.json",
                                    "--agmem-max-cycles", "100")
    finally:
        gc.callbacks[:] = saved
    # then every test keeps its outcome, and agmem left nothing in gc.garbage
    result.assert_outcomes(passed=3)
    assert len(gc.garbage) == garbage_before
    tests = read(pytester.path / "c.json")
    # and the tests that removed agmem's callback have their figures marked incomplete
    assert tests["test_clears_them_for_good"].figures.collector_watched is False
    assert tests["test_after_them"].figures.collector_watched is True
