"""``agmem check``: real runs against a saved baseline, budgets, every bad baseline, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograd_mem.cli import cli
from autograd_mem.schema.codec import SCHEMA_VERSION, check_schema

SMALL = ["--iterations", "200", "--size", "1000"]


def agmem(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def weak_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline saved from seed in weak mode (one run, small, for speed)."""
    path = tmp_path_factory.mktemp("baseline") / "base.json"
    code, _, err = agmem("baseline", "save", str(path), "--mode", "weak", "--repeat", "1", *SMALL)
    assert code == 0, err
    return path


def test_the_same_configuration_passes(weak_baseline: Path) -> None:
    # when the baseline's own configuration is checked again
    code, out, _ = agmem("check", "--baseline", str(weak_baseline))
    # then it passes, and the table shows each class and the verdict
    assert code == 0, out
    for heading in ("metric", "baseline", "now", "change", "limit", "verdict"):
        assert heading in out
    for judged in ("exact", "tolerance", "info"):
        assert judged in out
    assert "PASS: all" in out
    assert "regressed" not in out


def test_strong_mode_regresses_and_names_the_metrics(weak_baseline: Path) -> None:
    # when the baseline's weak-mode configuration is rerun with strong references (the leak)
    code, out, err = agmem("check", "--baseline", str(weak_baseline), "--mode", "strong",
                           "--format", "json")
    # then it exits 1 and the JSON names the deterministic metrics that grew
    assert code == 1, err
    document = json.loads(out)
    check_schema(document, "check")
    assert document["passed"] is False
    assert {"live_variables_end", "live_functions_end", "max_live_variables",
            "gc_collected"} <= set(document["regressed"])
    assert document["config_differences"] == ["mode 'weak' → 'strong'"]
    rows = {row["metric"]: row for row in document["rows"] if row["class"] == "exact"}
    assert rows["live_variables_end"]["verdict"] == "regressed"
    assert rows["live_variables_end"]["now"] > rows["live_variables_end"]["limit"]
    # and stderr carries the verdict line for the CI log
    assert "FAIL:" in err and "live_variables_end" in err


def test_markdown_for_a_pull_request_comment(weak_baseline: Path, tmp_path: Path) -> None:
    comment = tmp_path / "comment.md"
    code, out, err = agmem("check", "--baseline", str(weak_baseline), "--format", "markdown",
                           "--output", str(comment))
    assert code == 0, err
    assert out == ""
    text = comment.read_text()
    assert text.startswith("## agmem check ✅ PASS")
    assert "| metric | class | baseline | now | change | limit | verdict |" in text
    assert "| live_variables_end | exact |" in text
    assert f"wrote markdown report to {comment}" in err


def test_budgets_alone_run_the_command_line_configuration() -> None:
    # given no baseline, strong mode with the collector off leaves every graph alive
    code, out, _ = agmem("check", "--mode", "strong", "--gc", "off", *SMALL,
                         "--max-live-objects", "0", "--max-collected", "0")
    # then the live-objects budget is exceeded: exit 1, with the row saying so
    assert code == 1
    assert "no baseline: absolute budgets only" in out
    assert "over budget" in out and "live_objects_end" in out
    # and weak mode under the same budgets passes... with a budget of its few live objects
    code, out, _ = agmem("check", "--mode", "weak", *SMALL, "--max-live-objects", "10",
                         "--max-peak-rss-growth", "50MiB")
    assert code == 0, out


def test_the_old_peak_growth_spelling_still_budgets_rss_with_a_note() -> None:
    # given check's RSS budget under its old name, which the pytest plugin uses for
    # tracemalloc's peak, set far below what a run grows (1 byte)
    code, out, err = agmem("check", "--mode", "weak", *SMALL, "--max-peak-growth", "1",
                           "--format", "json")
    # then it is still the RSS budget, failing on peak_rss_growth_bytes, with one line
    # on stderr naming the new option
    assert code == 1, err
    budgets = [row for row in json.loads(out)["rows"] if row["class"] == "budget"]
    assert [(row["metric"], row["verdict"]) for row in budgets] == [
        ("peak_rss_growth_bytes", "over budget")
    ]
    assert json.loads(out)["limits"]["max_peak_rss_growth_bytes"] == 1
    notes = [line for line in err.splitlines() if "--max-peak-growth" in line]
    assert notes == ["agmem: note: --max-peak-growth is now --max-peak-rss-growth (it limits "
                     "RSS; the pytest plugin's max_peak_growth is tracemalloc's peak)"]
    # and both spellings at once are refused in one line
    code, _, err = agmem("check", *SMALL, "--max-peak-growth", "1",
                         "--max-peak-rss-growth", "1")
    assert code == 2 and "give --max-peak-rss-growth only" in err
    assert len(err.strip().splitlines()) <= 2  # the note and the error


def test_a_baseline_from_another_python_is_said_plainly(
    weak_baseline: Path, tmp_path: Path
) -> None:
    # given the baseline as if saved under another interpreter
    document = json.loads(weak_baseline.read_text())
    document["environment"]["python_version"] = "3.9.0"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document))
    # when checked
    code, out, err = agmem("check", "--baseline", str(other), "--format", "json")
    # then stderr and the report name the difference, and say in one line that the exact
    # metrics are shown but not gated, while the portable peak growth still is
    assert code == 0, err
    assert "differs from the baseline: Python CPython 3.9.0 → CPython" in err
    assert f"exact metrics are shown, not gated: Python 3.9 → {minor()}" in err
    report = json.loads(out)
    assert report["differences"][0].startswith("Python CPython 3.9.0 → ")
    assert report["not_gated"] == f"exact metrics are shown, not gated: Python 3.9 → {minor()}"
    rows = {r["metric"]: r for r in report["rows"]}
    assert rows["live_variables_end"]["class"] == "info"
    assert rows["live_variables_end"]["note"].startswith("not gated")
    assert rows["peak_rss_growth_bytes"]["class"] == "tolerance"


def minor() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def test_options_override_the_baseline_configuration(weak_baseline: Path) -> None:
    code, out, _ = agmem("check", "--baseline", str(weak_baseline), "--iterations", "100",
                         "--format", "json")
    document = json.loads(out)
    assert document["config"]["iterations"] == 100
    assert document["config"]["size"] == 1000  # kept from the baseline
    assert document["config_differences"] == ["iterations 200 → 100"]
    # half the iterations of a weak-mode loop leave and collect no more objects
    assert code == 0, document["summary"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline file not found:"),
        ("", "is empty"),
        ('{"schema_version": 1, "kind": "baseline", "con', "is truncated"),
        ("{not json at all}", "is corrupt: not valid JSON"),
        (json.dumps({"schema_version": SCHEMA_VERSION + 1, "kind": "baseline"}),
         f"schema_version {SCHEMA_VERSION + 1}"),
        (json.dumps({"schema_version": SCHEMA_VERSION, "kind": "run"}),
         "a 'run' document by its 'kind', not a baseline"),
    ],
)
def test_a_bad_baseline_file_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)
    code, out, err = agmem("check", "--baseline", str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("agmem: error: ")
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to check: give --baseline FILE, or a budget"),
        (["--max-live-objects", "-1"], "--max-live-objects must be a count of 0 or more"),
        (["--max-peak-rss-growth", "lots"], "--max-peak-rss-growth: not a size: 'lots'"),
        (["--max-collected", "0", "--tolerance", "10"], "--tolerance must be a percentage"),
        (["--max-collected", "0", "--max-slowdown", "0.5"], "--max-slowdown must be a factor"),
        (["--max-collected", "0", "--workload", "no_such_module:f"], "no_such_module"),
    ],
)
def test_bad_options_are_refused_before_any_run(args: list[str], message: str) -> None:
    code, _, err = agmem("check", *args)
    assert code == 2
    assert message in err


def test_a_failing_workload_exits_3(tmp_path: Path) -> None:
    workload = tmp_path / "broken.py"
    workload.write_text("def step(i):\n    raise RuntimeError('boom in the workload')\n")
    code, _, err = agmem("check", "--workload", f"{workload}:step", "--max-collected", "0",
                         "--iterations", "5")
    assert code == 3
    assert "boom in the workload" in err


def test_the_console_script_exits_1_on_a_regression(weak_baseline: Path) -> None:
    # a real process, through main(): the exit code survives click's standalone mode
    process = subprocess.run(
        [sys.executable, "-m", "autograd_mem", "check", "--baseline", str(weak_baseline),
         "--mode", "strong", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == 1, process.stderr
    assert "FAIL:" in process.stdout and "live_variables_end" in process.stdout


def test_the_help_budget_example_passes_on_a_workload_that_does_not_leak() -> None:
    # given the budgets-only example that `agmem check --help` offers
    _, help_text, _ = agmem("check", "--help")
    example = next(
        line.split()[1:] for line in help_text.splitlines()
        if line.strip().startswith("agmem check --workload")
    )
    # when it is run as printed, in the default (weak) mode, on fewer iterations
    code, out, _ = agmem(*example, "--iterations", "20")
    # then a workload that leaks nothing passes: an example that always fails teaches nothing
    assert code == 0, out
    assert "PASS" in out


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", -3, "config.size must be a positive integer, got -3"),
        ("rng_seed", 2**40, "config.rng_seed must be at most 4,294,967,295"),
    ],
)
def test_a_baseline_with_an_impossible_configuration_names_the_file(
    weak_baseline: Path, tmp_path: Path, field: str, value: int, message: str
) -> None:
    # given a saved baseline whose configuration was edited into one no run can take
    document = json.loads(weak_baseline.read_text())
    document["config"][field] = value
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    # when it is checked
    code, out, err = agmem("check", "--baseline", str(path))
    # then exit 2 before any run, one line naming the file (not a child's traceback, exit 3)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"agmem: error: baseline {path}")
    assert message in err


def test_a_user_workload_keeping_memory_across_iterations_fails_on_retained_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a user workload's baseline, whose step frees what it makes
    monkeypatch.chdir(tmp_path)
    step = tmp_path / "job.py"
    step.write_text("kept = []\ndef step(i):\n    data = bytearray(10_000)\n")
    code, _, err = agmem("baseline", "save", "base.json", "--workload", "job.py:step",
                         "--iterations", "300", "--repeat", "1")
    assert code == 0, err
    # when the step keeps each 10 kB buffer (3 MB over 300 iterations)
    step.write_text("kept = []\ndef step(i):\n    kept.append(bytearray(10_000))\n")
    code, out, err = agmem("check", "--baseline", "base.json", "--format", "json",
                           "--no-explain-on-fail")
    # then retained memory regressed by about those 3 MB, and the collector was not gated
    assert code == 1, err
    document = json.loads(out)
    assert "retained_bytes" in document["regressed"]
    retained = next(r for r in document["rows"] if r["metric"] == "retained_bytes")
    assert 3_000_000 <= retained["change"] <= 3_200_000
    assert next(r for r in document["rows"] if r["metric"] == "gc_collected")["class"] == "info"
