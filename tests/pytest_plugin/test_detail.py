"""The default's young collections against --agmem-full and an independent tracemalloc peak."""

from __future__ import annotations

import json
from pathlib import Path

# Imported before any inner session, as in test_marks.py.
import numpy  # noqa: F401
import pytest

import autograd_mem.engine  # noqa: F401
from autograd_mem.pytest_plugin.probe import young_generation
from autograd_mem.schema.pytest_session import MeasuredTest, from_dict

QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-p", "no:randomly")

# Tests of every kind the young collections treat differently: one that makes no garbage,
# one whose garbage a young collection finds, one big enough to run collections of its
# own (its objects reach older generations), and one that closes a cycle through an
# object older than the test.
SUITE = """
import numpy as np

class Old:
    pass


HOLDER = {"old": Old()}  # made at import: in the oldest generation by the time tests run


class Node:
    def __init__(self, payload):
        self.me = self
        self.payload = payload


def test_big_array():
    block = np.ones(393_216)  # 3 MiB of float64
    assert block.sum() == 393_216


def test_a_few_cycles():
    for _ in range(10):
        Node(bytearray(200_000))


def test_many_cycles():
    rows = [[i] * 10 for i in range(30_000)]
    for row in rows:
        row.append(row)


def test_through_an_old_object():
    old = HOLDER.pop("old")
    old.box = [old]


def test_clean():
    assert sum(range(1000)) == 499_500
"""

# The independent measure: tracemalloc's peak above the start of each call, by a conftest
# that knows nothing of agmem (it collects first, as agmem does: when garbage is freed
# depends on the collector's counts at the call's start).
CONFTEST = """
import gc, json, tracemalloc
import pytest

PEAKS = {}

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    gc.collect()
    tracemalloc.start(1)
    start = tracemalloc.get_traced_memory()[0]
    try:
        return (yield)
    finally:
        PEAKS[item.name] = tracemalloc.get_traced_memory()[1] - start
        tracemalloc.stop()

def pytest_sessionfinish(session):
    with open("independent.json", "w") as out:
        json.dump(PEAKS, out)
"""


def read(path: Path) -> dict[str, MeasuredTest]:
    document = from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
    return {test.nodeid.split("::")[1]: test for test in document.tests}


def test_young_collections_give_the_full_detail_figures_and_tracemalloc_peaks(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    # when the suite runs by default, with --agmem-full, and under the independent measure
    for name, extra in (("young", ()), ("full", ("--agmem-full",))):
        result = pytester.runpytest_subprocess(
            *QUIET, "--agmem", *extra, "--agmem-json", f"{name}.json"
        )
        result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["Collected: a full collection before and after each test*"])
    pytester.makeconftest(CONFTEST)
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=5)
    young, full = read(pytester.path / "young.json"), read(pytester.path / "full.json")
    independent = json.loads((pytester.path / "independent.json").read_text())
    # then each document says how it collected
    assert json.loads((pytester.path / "young.json").read_text())["detail"] == "young"
    assert json.loads((pytester.path / "full.json").read_text())["detail"] == "full"
    for name in ("test_big_array", "test_a_few_cycles", "test_many_cycles", "test_clean"):
        coarse, fine = young[name].figures, full[name].figures
        # and the counts, cycle paths and source lines are the full detail's, except that
        # a test during which the collector walked the old generation may also have been
        # charged garbage older than it (which its figures then say)
        shapes = [(s.path, s.allocated_at) for s in coarse.shapes]
        expected = [(s.path, s.allocated_at) for s in fine.shapes]
        if coarse.older_garbage_possible:
            assert coarse.collected >= fine.collected and shapes[0] == expected[0], name
            assert set(expected) <= set(shapes), name
        else:
            assert (coarse.collected, coarse.cycles) == (fine.collected, fine.cycles), name
            assert shapes == expected, name
        # and each peak of 1 MiB or more is within 5% of tracemalloc's alone
        if independent[name] >= 1024**2:
            assert abs(coarse.peak_growth_bytes - independent[name]) <= 0.05 * independent[
                name
            ], (name, coarse.peak_growth_bytes, independent[name])
    assert young["test_a_few_cycles"].figures.cycles == 10
    assert full["test_many_cycles"].figures.collected == 30_000
    many = young["test_many_cycles"].figures
    assert many.collected >= 30_000 and many.collections > 1  # its own collections ran
    # and the tests whose objects a full collection may have met with older garbage say so
    flagged = {name for name, test in young.items() if test.figures.older_garbage_possible}
    assert flagged == ({"test_many_cycles"} if young_generation() is not None else set())
    # and what the young collections leave out, as documented: a cycle through an object
    # older than the test, found by the full collection after it
    # (where the collector has young generations to collect alone)
    assert full["test_through_an_old_object"].figures.cycles == 1
    expected = 1 if young_generation() is None else 0
    assert young["test_through_an_old_object"].figures.cycles == expected


REUSED_LISTS = """
def test_frees_lists():
    for _ in range(200):
        [[] for _ in range(10)]  # freed lists go to CPython's free list


def test_links_two_lists():
    first = []
    second = [first]
    first.append(second)
"""


def test_a_cycle_of_lists_from_the_free_list_keeps_its_line_under_the_young_detail(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # given a test whose cycle is made of lists, after a test that filled CPython's free
    # list of lists (which hands them out again without an allocation tracemalloc sees)
    pytester.makepyfile(test_lists=REUSED_LISTS)
    figures = {}
    for detail in ((), ("--agmem-full",)):
        output = tmp_path / f"{len(detail)}.json"
        result = pytester.runpytest_subprocess(*QUIET, "--agmem", *detail,
                                               "--agmem-json", str(output))
        result.assert_outcomes(passed=2)
        figures[detail] = read(output)["test_links_two_lists"].figures
    # then under the default (young) detail, as under full collections (which empty the
    # free lists), the cycle says the line that made it
    for shapes in (f.shapes for f in figures.values()):
        (shape,) = shapes
        assert shape.allocated_at is not None, shape
        assert (Path(shape.allocated_at.file).name, shape.allocated_at.line) in {
            ("test_lists.py", 7), ("test_lists.py", 8)
        }
