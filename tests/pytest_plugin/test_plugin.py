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
