"""The plugin's hooks: nothing loaded without --agmem; pytest-xdist's workers merged into one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograd_mem.schema.pytest_session import MeasuredTest, from_dict
from tests.pytest_plugin.test_budgets import SUITE

QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-p", "no:randomly")

MODULES = r"""
import sys


def test_report_modules():
    loaded = sorted(name for name in sys.modules
                    if name.startswith("autograd_mem") or name in ("numpy", "tracemalloc"))
    print("\nLOADED", " ".join(loaded))
"""


def loaded_modules(result: pytest.RunResult) -> list[str]:
    line = next(line for line in result.stdout.lines if line.startswith("LOADED"))
    return line.split()[1:]


def test_without_agmem_the_plugin_loads_only_its_hooks_and_marks(
    pytester: pytest.Pytester,
) -> None:
    # given a test that lists what is imported, run in fresh interpreters
    pytester.makepyfile(test_modules=MODULES)
    # when the plugin is loaded from its entry point, but --agmem is not given
    result = pytester.runpytest_subprocess(*QUIET, "-s")
    result.assert_outcomes(passed=1)
    # then only the hooks and the marker's module are loaded (with the units they parse):
    # no probe, no engine, no numpy, no tracemalloc
    assert loaded_modules(result) == [
        "autograd_mem", "autograd_mem._version", "autograd_mem.pytest_plugin",
        "autograd_mem.pytest_plugin.marks", "autograd_mem.pytest_plugin.plugin",
        "autograd_mem.schema", "autograd_mem.schema.units",
    ]
    # and with the plugin turned off, none of it
    off = pytester.runpytest_subprocess(*QUIET, "-s", "-p", "no:agmem")
    assert loaded_modules(off) == []


def read(path: Path) -> list[MeasuredTest]:
    return list(from_dict(json.loads(path.read_text(encoding="utf-8")), str(path)).tests)


def test_xdist_workers_measure_and_the_controller_prints_one_summary_and_one_json(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    # given the budget suite (one unmarked test over a cycle budget, two marked ones)
    pytester.makepyfile(test_suite=SUITE)
    budget = ("--agmem", "--agmem-max-cycles", "0")
    # when it runs serially, then on two workers
    serial = pytester.runpytest_subprocess(*QUIET, *budget, "--agmem-json", "serial.json")
    parallel = pytester.runpytest_subprocess(
        *QUIET, "-n", "2", *budget, "--agmem-json", "parallel.json"
    )
    # then the same test fails on its budget in both
    for result in (serial, parallel):
        result.assert_outcomes(passed=4, failed=1)
        result.stdout.fnmatch_lines(["FAILED test_suite.py::test_leaks_three_cycles*"])
    # and the controller prints one summary, naming every test measured in the workers
    text = parallel.stdout.str()
    assert text.count("agmem: memory per test") == 1
    assert "agmem: 5 test(s) measured" in text
    assert "agmem: figures of 5 test(s) written to parallel.json" in text
    # and its one document holds the serial run's records, in the same order
    one, two = read(pytester.path / "serial.json"), read(pytester.path / "parallel.json")
    assert [t.nodeid for t in one] == [t.nodeid for t in two]
    for alone, merged in zip(one, two, strict=True):
        assert merged.exceeded == alone.exceeded
        assert merged.figures.collected == alone.figures.collected
        assert merged.figures.cycles == alone.figures.cycles
        assert [s.types for s in merged.figures.shapes] == [s.types for s in alone.figures.shapes]
        # peaks within noise: 5%, and 16 KiB for the smallest
        difference = abs(merged.figures.peak_growth_bytes - alone.figures.peak_growth_bytes)
        assert difference <= max(0.05 * alone.figures.peak_growth_bytes, 16 * 1024)


SIDE_EFFECTS = """
import gc
import warnings


def test_warns_and_prints():
    print("printed by the first test")
    warnings.warn(UserWarning("warned by the first test"))


def test_fails():
    print("printed by the failing test")
    box = []
    box.append(box)
    assert gc.get_debug() == 0
    assert False, "the failing test's own assertion"


def test_after_the_failure():
    pass
"""


def session_outcome(result: pytest.RunResult) -> tuple[object, ...]:
    """What a user sees of a session, without timings and agmem's own summary."""
    before, _, rest = result.stdout.str().partition("= agmem: memory per test =")
    # agmem's own section runs to the next section's ===== line
    after = rest[rest.find("\n=") :] if rest else ""
    kept = [
        line for line in (before + after).splitlines()
        if any(mark in line for mark in ("printed by", "warned by", "assertion", "FAILED"))
    ]
    return result.parseoutcomes().get("failed"), result.parseoutcomes().get("passed"), kept


def test_agmem_changes_no_outcome_warning_or_output_under_x_and_lf(
    pytester: pytest.Pytester,
) -> None:
    # given a suite that prints, warns, and fails half-way
    pytester.makepyfile(test_side=SIDE_EFFECTS)
    seen = {}
    for name, extra in (("plain", ()), ("agmem", ("--agmem",))):
        # when it runs with -x, then with --lf (the cache between the two kept)
        first = pytester.runpytest("-p", "no:randomly", "-rA", "-x", *extra)
        again = pytester.runpytest("-p", "no:randomly", "-rA", "--lf", *extra)
        seen[name] = (session_outcome(first), session_outcome(again))
        # the cache is cleared before the other variant's runs
        pytester.runpytest("--cache-clear", "--collect-only", "-q")
    # then --agmem's runs show the same outcomes, warnings and captured output
    assert seen["agmem"] == seen["plain"]
    (failed, passed, lines), _ = seen["plain"]
    assert (failed, passed) == (1, 1)  # -x stopped before the third test
    assert any("warned by the first test" in line for line in lines)
    assert any("printed by the failing test" in line for line in lines)
    assert any(line.startswith("FAILED test_side.py::test_fails") for line in lines)
    # and --lf ran the failed test alone, with or without agmem
    assert seen["plain"][1][:2] == (1, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agmem-html", "missing/page.html"),
         "--agmem-html missing/page.html: no such directory"),
        (("--agmem-json", "same.out", "--agmem-html", "same.out"),
         "--agmem-json and --agmem-html name the same file same.out"),
    ],
)
def test_a_page_that_cannot_be_written_is_refused_before_any_test_runs(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    pytester.makepyfile(test_one="def test_one():\n    pass\n")

    result = pytester.runpytest(*QUIET, "--agmem", *args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert not (pytester.path / "same.out").exists()
