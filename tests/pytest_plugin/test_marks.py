"""The pytest plugin, driven through real pytest sessions with ``pytester``."""

from __future__ import annotations

import re
import time

# Imported here, before any inner session: pytester's in-process runs drop the modules a
# session imported, and numpy refuses to be imported a second time in one process, so
# this file failed when run on its own (other test files happened to import numpy first).
# The engine too: a second session would import a second engine while the package keeps
# the first one's ``Variable`` (``autograd_mem.Variable`` is resolved once), and the
# second engine's ops would take the first one's Variables for arrays: every op ran
# element by element, thousands of times slower.
import numpy  # noqa: F401
import pytest

import autograd_mem.engine
import autograd_mem.functions  # noqa: F401
from autograd_mem.pytest_plugin.marks import MarkerSettings, read_marker

# Plugins that cost an inner session seconds and have nothing to do with agmem's marker.
QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    """A real pytest session, in-process, with agmem's plugin loaded from its entry point."""
    return pytester.runpytest(*QUIET)


GRAPHS = """
import tracemalloc

import numpy as np
import pytest

from autograd_mem import Variable
from autograd_mem.functions import square


def build_graphs(n):
    for _ in range(n):
        x = Variable(np.ones(1000))
        y = square(square(x))
    return y.data.shape
"""


def test_a_weak_mode_graph_loop_passes_every_limit(pytester: pytest.Pytester) -> None:
    # given a test body building graphs in weak mode under tight limits
    pytester.makepyfile(
        GRAPHS
        + """
@pytest.mark.agmem(max_peak_growth="20 MiB", max_live_objects=0, max_collected=0, mode="weak")
def test_weak():
    assert build_graphs(20) == (1000,)

def test_unmarked_tests_are_not_traced():
    assert not tracemalloc.is_tracing()
"""
    )
    # when pytest runs it
    result = run(pytester)
    # then both pass
    result.assert_outcomes(passed=2)


def test_a_strong_mode_leak_fails_with_a_readable_report(pytester: pytest.Pytester) -> None:
    # given the same loop under strong references, which leaves its graphs in cycles
    pytester.makepyfile(
        GRAPHS
        + """
@pytest.mark.agmem(max_live_objects=0, max_collected=0, mode="strong")
def test_strong():
    build_graphs(20)
"""
    )
    result = run(pytester)
    # then the test fails and the report names each exceeded limit, measured vs limit
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "agmem: test_strong exceeded its memory budget under reference mode 'strong':" in text
    live = re.search(
        r"max_live_objects: live engine objects left by the body: ([\d,]+) "
        r"\(([\d,]+) Variables \+ ([\d,]+) Functions\) > limit 0",
        text,
    )
    assert live, text
    total, variables, functions = (int(g.replace(",", "")) for g in live.groups())
    assert variables > 0 and functions > 0 and total == variables + functions
    collected = re.search(r"objects left to the cyclic collector: ([\d,]+) > limit 0", text)
    assert collected and int(collected.group(1).replace(",", "")) >= total
    assert "measured: peak growth" in text
    # and no traceback of the plugin's own code is shown
    assert "pytest_plugin/" not in text


def test_peak_growth_over_the_limit_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import numpy as np
import pytest

@pytest.mark.agmem(max_peak_growth="1 MiB")
def test_big():
    block = np.ones(1_000_000)  # 7.6 MiB of array data
    del block
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.re_match_lines(
        [r".*max_peak_growth: peak memory growth \(tracemalloc\): 7\.\d MiB > limit 1\.0 MiB"]
    )


def test_a_body_that_fails_on_its_own_reports_its_own_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.agmem(max_live_objects=0)
def test_broken():
    assert 1 == 2, "the test's own assertion"
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test's own assertion*"])
    assert "exceeded its memory budget" not in result.stdout.str()


def test_a_bad_marker_argument_is_one_clear_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.agmem(max_peak_growth="lots")
def test_typo():
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.agmem: max_peak_growth: not a size: 'lots'*"])
    assert "During handling" not in result.stdout.str()


def test_the_marker_is_documented_in_pytest_markers(pytester: pytest.Pytester) -> None:
    # a subprocess, so the plugin is found through its pytest11 entry point
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.agmem(max_peak_growth=None, *mode='weak', timeout=None, "
         "include_library=False): "
         "fail the test when its call exceeds a memory budget*"]
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"max_peak_growth": "20 MiB"}, MarkerSettings({"max_peak_growth": 20 * 1024**2})),
        ({"max_peak_growth": "1.5 GB"}, MarkerSettings({"max_peak_growth": 1_500_000_000})),
        ({"max_live_objects": 0, "mode": "strong"},
         MarkerSettings({"max_live_objects": 0}, mode="strong")),
        ({"mode": None}, MarkerSettings({}, mode=None)),
        ({"max_cycles": None}, MarkerSettings({"max_cycles": None})),
    ],
)
def test_marker_arguments_are_parsed(
    kwargs: dict[str, object], expected: MarkerSettings
) -> None:
    assert read_marker((), kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1,), {}, "keyword arguments only"),
        ((), {"max_live": 0}, "unknown argument(s) max_live"),
        ((), {"mode": "soft"},
         "unknown reference mode 'soft' for mode (choose from strong, weak), or None"),
        ((), {"max_collected": -1}, "max_collected: must be a count of 0 or more, got -1"),
        ((), {"max_live_objects": 1.5}, "max_live_objects: must be a count of 0 or more"),
    ],
)
def test_marker_mistakes_are_refused(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        read_marker(args, kwargs)


def test_a_body_past_its_timeout_fails_in_one_line(pytester: pytest.Pytester) -> None:
    # given a marked body that would sleep for a minute, and one well within its limit
    pytester.makepyfile(
        """
import signal, time
import pytest

@pytest.mark.agmem(timeout=0.3)
def test_stuck():
    time.sleep(60)

@pytest.mark.agmem(timeout=30)
def test_quick():
    assert True

def test_the_alarm_was_put_back():
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
"""
    )
    started = time.monotonic()
    result = run(pytester)
    # then the stuck body fails after its timeout with one line, the others pass
    assert time.monotonic() - started < 20
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*agmem: test_stuck timed out after 0.3 s*"])
    assert "Traceback" not in result.stdout.str()


def test_a_bad_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        read_marker((), {"timeout": -1})
    assert read_marker((), {"timeout": 2}).timeout_seconds == 2.0
