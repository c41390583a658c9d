"""max_cycles counts the project's own cycles; a library's are listed apart (issue 23)."""

from __future__ import annotations

import argparse
import gc

import pytest

QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-p", "no:randomly")

SUITE = r"""
import argparse

import pytest


@pytest.mark.agmem(max_cycles=0, mode=None)
def test_library_cycle_only():
    argparse.ArgumentParser(prog="x")  # argparse leaves cycles among its own objects


@pytest.mark.agmem(max_cycles=0, mode=None, include_library=True)
def test_library_cycle_counted():
    argparse.ArgumentParser(prog="x")


@pytest.mark.agmem(max_cycles=0, mode=None)
def test_own_cycle_and_a_library_one():
    box = []
    box.append(box)  # the test's own cycle
    argparse.ArgumentParser(prog="x")


@pytest.mark.agmem(max_cycles=0, mode=None, include_library="yes")
def test_bad_argument():
    pass
"""


def argparse_garbage() -> int:
    """Independent count: the objects a dropped ArgumentParser leaves to the collector."""
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        argparse.ArgumentParser(prog="x")
        found = gc.collect()
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
    return found


def test_max_cycles_counts_the_tests_own_cycles_and_lists_librarys_apart(
    pytester: pytest.Pytester,
) -> None:
    # given a dropped ArgumentParser really leaves garbage cycles among argparse's objects
    # (json.dumps(indent=2) did too, up to 3.12)
    assert argparse_garbage() > 0
    # and tests under max_cycles=0: one whose only cycles argparse made, the same counting
    # libraries, one with a cycle of its own beside argparse's, one with a bad argument
    pytester.makepyfile(test_own=SUITE)
    result = pytester.runpytest_subprocess(*QUIET)
    outcomes = {line.split("::")[1].split()[0]: line.split()[0]
                for line in result.stdout.lines if line.startswith(("FAILED", "PASSED"))}
    result.assert_outcomes(passed=1, failed=3)
    text = result.stdout.str()
    # then argparse's cycles alone pass; counted with include_library=True they fail,
    # made in argparse
    assert "test_library_cycle_only" not in outcomes  # passed (only failures are listed)
    assert outcomes["test_library_cycle_counted"] == "FAILED"
    assert "garbage cycles left to the cyclic collector: " in text
    assert "argparse.py:" in text
    # and the test's own cycle fails, counted alone, argparse's named apart
    own = next(line for line in result.stdout.lines if "made by the test's own code" in line)
    assert "made by the test's own code: 1 > limit 0 (" in own
    assert "more made by libraries, not counted)" in own
    assert outcomes["test_own_cycle_and_a_library_one"] == "FAILED"
    report = text.split("test_own_cycle_and_a_library_one exceeded")[1]
    assert "largest cycle: 1 × list[0] → list" in report
    assert "made at test_own.py:18 (box = [])" in report
    library = "largest cycle made by a library (not counted by max_cycles): 1 × _ArgumentGroup"
    assert library in report
    # and a bad argument is one line
    assert "include_library must be True or False, got 'yes'" in text
