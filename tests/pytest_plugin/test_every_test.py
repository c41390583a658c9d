"""``pytest --agmem``, ``--agmem-json`` and ``max_cycles``, driven through real pytest sessions."""

from __future__ import annotations

import gc
import json
import re
import sys
from pathlib import Path

# Imported before any inner session, as in test_marks.py: pytester's in-process
# runs drop the modules a session imported, and a second numpy or engine would break.
import numpy  # noqa: F401
import pytest

import autograd_mem.engine
import autograd_mem.functions  # noqa: F401
from autograd_mem.schema.codec import SCHEMA_VERSION
from autograd_mem.schema.pytest_session import MeasuredTest, from_dict

QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-p", "no:randomly")
PAYLOAD_BYTES = 64 * 1024
LEAKS = 7

# A body that leaves LEAKS self-referencing objects, each holding a 64 KiB payload: the
# same source runs in the inner session and, for the independent measure, here.
LEAKY = f"""
import gc

import numpy as np
import pytest


class Leaky:
    def __init__(self):
        self.me = self
        self.payload = bytearray({PAYLOAD_BYTES})  # payload line


def make_leaks():
    for _ in range({LEAKS}):
        Leaky()  # constructor line
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*QUIET, *args)


def line_of(path: Path, marker: str) -> int:
    """The 1-based line of the file that carries ``marker`` (as written: pytester strips
    the source's leading blank lines)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, text in enumerate(lines, 1) if marker in text)


def read_tests(path: Path) -> dict[str, MeasuredTest]:
    """The tests of an --agmem-json document, read back by its strict reader, by test name."""
    document = from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
    return {test.nodeid.split("::", 1)[1]: test for test in document.tests}


def collected_by_a_plain_collection(source: str) -> int:
    """What the collector frees after ``make_leaks()``, measured without agmem."""
    namespace: dict[str, object] = {}
    exec(compile(source, "<leaky>", "exec"), namespace)
    gc.collect()
    gc.disable()
    try:
        namespace["make_leaks"]()  # type: ignore[operator]
        return gc.collect()
    finally:
        gc.enable()


SUITE = (
    LEAKY
    + """

def test_leaking():
    make_leaks()


def test_clean():
    assert sum(range(100)) == 4950


def test_big_array():
    block = np.ones(262_144)  # 2 MiB of float64
    assert block.nbytes == 2 * 1024 * 1024


@pytest.mark.agmem(max_cycles=0, max_collected=0, mode=None)
def test_marked_clean():
    rows = [[i] for i in range(100)]
    assert len(rows) == 100
"""
)


def test_agmem_summary_puts_the_leaking_test_on_top_with_its_cycle(
    pytester: pytest.Pytester,
) -> None:
    # given a suite with a leaking test, a clean one, a big allocation and a marked test
    pytester.makepyfile(test_suite=SUITE)
    # when it runs with --agmem
    result = run(pytester, "--agmem", "--agmem-top", "3")
    # then no test fails because of it, the marked one included
    result.assert_outcomes(passed=4)
    text = result.stdout.str()
    assert "agmem: memory per test" in text
    assert "agmem: 4 test(s) measured" in text
    # and the leaking test is the first (and only) one by objects left to the collector,
    # with its cycle's type and count
    by_collected = text.split("Top 1 by objects left to the cyclic collector:")[1].splitlines()
    assert by_collected[1].split() == ["peak", "growth", "collected", "cycles", "test"]
    row = by_collected[2].split()
    assert row[-1] == "test_suite.py::test_leaking"
    assert row[-2] == str(LEAKS)  # cycles
    shape, made_at, hint = (line.strip() for line in by_collected[3:6])
    # with explain's labelled path and hint
    assert shape.startswith(f"largest cycle: {LEAKS} × Leaky.me → Leaky, ")
    assert hint.startswith("hint: an object referring to itself (Leaky.me)")
    assert re.fullmatch(r".*, 4\d\d\.\d KiB held", shape), shape
    assert re.fullmatch(r"made at test_suite\.py:\d+ \((Leaky\(\)|self\.payload).*\)", made_at)
    # and the big allocation leads by peak growth, at its 2 MiB
    by_peak = text.split("Top 3 by peak memory growth:")[1].splitlines()
    assert by_peak[2].split()[:2] == ["2.0", "MiB"]
    assert by_peak[2].endswith("test_suite.py::test_big_array")


def test_agmem_json_figures_match_independent_measures(pytester: pytest.Pytester) -> None:
    # given the suite, and what a plain collection frees after the same leaking body
    expected_collected = collected_by_a_plain_collection(LEAKY)
    pytester.makepyfile(test_suite=SUITE)
    # when it runs with --agmem-json
    result = run(pytester, "--agmem", "--agmem-json", "figures.json")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["agmem: figures of 4 test(s) written to figures.json"])
    document = json.loads((pytester.path / "figures.json").read_text(encoding="utf-8"))
    # then it is a versioned document of every test, in run order
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["kind"] == "pytest"
    tests = read_tests(pytester.path / "figures.json")
    assert list(tests) == ["test_leaking", "test_clean", "test_big_array", "test_marked_clean"]
    assert document["detail"] == "young"
    leaking = tests["test_leaking"].figures
    # and the collected count is what a plain collection of the same body frees
    assert leaking.collected == expected_collected
    # one cycle per Leaky, as built; the bytes held are the payloads plus the objects
    assert leaking.cycles == LEAKS and leaking.cycles_complete is True
    (shape,) = leaking.shapes
    assert shape.types[0] == shape.types[-1] == "Leaky"
    assert [(step.type, step.edge) for step in shape.path] == [("Leaky", ".me")]
    assert shape.cycles == LEAKS
    assert LEAKS * PAYLOAD_BYTES <= shape.bytes_held_at_most <= LEAKS * (PAYLOAD_BYTES + 1024)
    # made where a Leaky or its payload was allocated (3.11 has no traceback for an
    # instance with a managed __dict__, so there it is the payload's line)
    written = pytester.path / "test_suite.py"
    lines = {line_of(written, "# constructor line"), line_of(written, "# payload line")}
    assert shape.allocated_at is not None and shape.allocated_at.file.endswith("test_suite.py")
    assert shape.allocated_at.line in lines
    # the peak growth of the leaking body covers its payloads, alive until collected
    assert LEAKS * PAYLOAD_BYTES <= leaking.peak_growth_bytes < LEAKS * PAYLOAD_BYTES + 65536
    big = tests["test_big_array"].figures
    assert 2 * 1024 * 1024 <= big.peak_growth_bytes < 2 * 1024 * 1024 + 65536
    for clean in ("test_clean", "test_marked_clean"):
        figures = tests[clean].figures
        assert figures.collected == 0 and figures.cycles == 0 and figures.shapes == ()
    assert tests["test_marked_clean"].marked is True and tests["test_leaking"].marked is False


ORDER = """
import numpy as np
import pytest

from autograd_mem import Variable
import autograd_mem.functions as F


def graphs():
    # the README's example: numpy.random is imported lazily on its first use (numpy 2)
    for _ in range(10):
        x = Variable(np.random.randn(10_000))
        y = F.square(F.square(F.square(x)))


def python_cycles():
    # 1,500 lists: well below 3.13's threshold of 2,000 (at 2,000, whether the collector
    # ran once during the body turned on a dozen allocations either way)
    rows = [[i] * 10 for i in range(1_500)]
    for row in rows:
        row.append(row)


@pytest.mark.agmem(mode="strong")
def test_graphs_first():
    graphs()


def test_cycles_first():
    python_cycles()


def test_something_else_between():
    assert np.ones(1000).sum() == 1000


@pytest.mark.agmem(mode="strong")
def test_graphs_last():
    graphs()


def test_cycles_last():
    python_cycles()
"""

# The same body's peak growth repeats within a few dozen bytes from one measurement to the
# next on 3.11+ (the interpreter's own dicts and lists grow by steps). On 3.10 the first
# call of each function allocates its frame and keeps it for the next call (a "zombie
# frame", about 0.5 KiB), so the first test to call the engine's functions is charged about
# 4 KiB once: the body's own first calls, measured (3,832 bytes for this one on 3.10.13).
# What the first test was charged before, numpy.random's first import, is 0.6 MiB: 75
# times this tolerance.
PEAK_TOLERANCE_BYTES = 8 * 1024


def test_a_test_measured_first_or_last_gets_the_same_figures(pytester: pytest.Pytester) -> None:
    # given the same bodies measured first and last, in a fresh interpreter (in-process,
    # the earlier tests of this session would already have warmed everything up)
    pytester.makepyfile(test_order=ORDER)
    result = pytester.runpytest_subprocess(*QUIET, "--agmem", "--agmem-json", "order.json")
    result.assert_outcomes(passed=5)
    tests = read_tests(pytester.path / "order.json")
    for body in ("graphs", "cycles"):
        first = tests[f"test_{body}_first"].figures
        last = tests[f"test_{body}_last"].figures
        # then the counts are equal, and the peak growth within the tolerance
        for figure in ("collected", "collections", "cycles", "live_variables"):
            assert getattr(first, figure) == getattr(last, figure), (body, figure, first, last)
        assert first.collected > 0
        difference = abs(first.peak_growth_bytes - last.peak_growth_bytes)
        assert difference <= PEAK_TOLERANCE_BYTES, (body, first, last)


CYCLES = (
    LEAKY
    + """

@pytest.mark.agmem(max_cycles=0, mode=None)
def test_no_cycle():
    rows = [[i] for i in range(1_000)]
    assert len(rows) == 1_000


@pytest.mark.agmem(max_cycles=7, mode=None)
def test_within_the_limit():
    make_leaks()


@pytest.mark.agmem(max_cycles=6, mode=None)
def test_over_the_limit():
    make_leaks()
"""
)


def test_max_cycles_passes_within_and_fails_over_the_limit_naming_the_cycle(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_leaky_cycles=CYCLES)
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    text = result.stdout.str()
    assert "agmem: test_over_the_limit exceeded its memory budget:" in text
    assert f"max_cycles: garbage cycles made by the test's own code: {LEAKS} > limit 6" in text
    # the message names the largest shape, its path, the bytes it held and its source
    match = re.search(
        rf"largest cycle: {LEAKS} × (Leaky\.me → Leaky), ([\d.]+) KiB held\n"
        r" +made at test_leaky_cycles\.py:(\d+) \((.+)\)",
        text,
    )
    assert match, text
    held_bytes = float(match.group(2)) * 1024
    assert LEAKS * PAYLOAD_BYTES <= held_bytes <= LEAKS * (PAYLOAD_BYTES + 1024)
    written = pytester.path / "test_leaky_cycles.py"
    assert int(match.group(3)) in {
        line_of(written, "# constructor line"),
        line_of(written, "# payload line"),
    }
    assert match.group(4).startswith(("Leaky()", "self.payload = bytearray("))


def test_an_unmarked_test_keeps_its_own_outcome_and_figures_under_agmem(
    pytester: pytest.Pytester,
) -> None:
    # given a failing unmarked test, and one that reads gc.garbage with DEBUG_SAVEALL itself
    pytester.makepyfile(
        test_own="""
import gc


def test_fails_on_its_own():
    assert 1 == 2, "its own assertion"


def test_reads_its_own_garbage():
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        box = []
        box.append(box)
        del box
        gc.collect()
        assert any(isinstance(o, list) and o and o[0] is o for o in gc.garbage)
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
"""
    )
    garbage_before = len(gc.garbage)
    result = run(pytester, "--agmem", "--agmem-json", "own.json")
    # then --agmem changes neither outcome, and the test's own garbage was left to it
    # (what the collection after the body saved under agmem's flags again, agmem freed)
    assert len(gc.garbage) == garbage_before
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*its own assertion*"])
    tests = read_tests(pytester.path / "own.json")
    failing, reader = (test.figures for test in tests.values())
    assert failing.body_raised is True and reader.body_raised is False
    # and its cycles are not counted (the garbage was its own to read), never "0"
    assert reader.collected >= 1 and reader.cycles is None


def test_without_garbage_the_summary_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_clean="def test_clean():\n    assert [1] * 3 == [1, 1, 1]\n")
    result = run(pytester, "--agmem")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["Top 1 by peak memory growth:", "*test_clean.py::test_clean",
         "No test left objects to the cyclic collector."]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agmem-top", "0"), "--agmem-top must be 1 or more, got 0"),
        (("--agmem-json", "missing/figures.json"), "--agmem-json missing/figures.json: no such "),
    ],
)
def test_bad_agmem_options_are_one_usage_line(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = run(pytester, "--agmem", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_the_agmem_options_are_in_pytest_help(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["*--agmem *Measure every test's call*", "*--agmem-top=N*",
                                 "*--agmem-json=FILE*"])


def test_max_live_objects_help_says_it_counts_engine_objects(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--markers")
    text = " ".join(result.stdout.str().split())
    assert "max_live_objects: agmem engine Variables + Functions the call leaves alive" in text
    assert ("max_cycles: garbage cycles the call left to the collector that the project's own "
            "code made") in text


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11 gives no traceback of instances")
def test_a_cycle_is_made_at_the_constructor_line_where_tracemalloc_can_tell(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_leaky_cycles=CYCLES)
    result = run(pytester, "-k", "over_the_limit")
    line = line_of(pytester.path / "test_leaky_cycles.py", "# constructor line")
    result.stdout.fnmatch_lines([f"*made at test_leaky_cycles.py:{line} (Leaky()*"])


def test_unittest_style_tests_are_measured_too(pytester: pytest.Pytester) -> None:
    # given a unittest.TestCase suite (as many packages' tests are) with one leaking test
    pytester.makepyfile(
        test_unit=LEAKY
        + """
import unittest


class LeakTest(unittest.TestCase):
    def test_leaking(self):
        make_leaks()

    def test_clean(self):
        self.assertEqual(sum(range(10)), 45)
"""
    )
    report = pytester.path / "unit.json"

    # when it runs under --agmem
    result = run(pytester, "--agmem", f"--agmem-json={report}")

    # then both tests are measured, the leak with every self-referencing object it left
    result.assert_outcomes(passed=2)
    tests = read_tests(report)
    assert set(tests) == {"LeakTest::test_leaking", "LeakTest::test_clean"}
    assert tests["LeakTest::test_leaking"].figures.cycles == LEAKS
    assert tests["LeakTest::test_clean"].figures.cycles == 0
