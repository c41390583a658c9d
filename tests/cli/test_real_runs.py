"""Real measured runs, through CliRunner and through the installed `agmem` console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_mem.analysis.compare import comparison_from_dict, format_ratio
from autograd_mem.schema.run import measurement_from_dict

SMALL = ("--iterations", "50", "--size", "1000")


def agmem_command() -> list[str]:
    """The console script of the interpreter running the tests (a venv's bin/), else -m."""
    beside = Path(sys.executable).with_name("agmem")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("agmem")
    return [found] if found else [sys.executable, "-m", "autograd_mem"]


def agmem(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*agmem_command(), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**os.environ, "COLUMNS": "120"})


def test_run_json_carries_the_real_measurement(invoke):
    # given the strong graph with the collector off: nothing frees the cycles
    result = invoke("run", "--mode", "strong", "--gc", "off", "--format", "json", *SMALL)

    assert result.exit_code == 0, result.stderr
    measurement = measurement_from_dict(json.loads(result.stdout))
    assert measurement.config.label == "strong/off"
    assert measurement.metrics.live_variables_end == 4 * 50  # depth 3: x and 3 outputs
    assert measurement.metrics.gc_collected == 0


def test_console_script_compare_on_defaults_gives_a_verdict_that_matches_its_numbers():
    completed = agmem("compare", "--format", "json")

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""  # not a terminal: no progress bar, no message
    document = json.loads(completed.stdout)
    comparison = comparison_from_dict(document)
    strong, weak = comparison.measurements
    assert (strong.config.mode, weak.config.mode) == ("strong", "weak")
    # the notebook's point: the weak graph leaves the collector nothing to do
    assert weak.metrics.gc_collected == 0 < strong.metrics.gc_collected
    assert weak.metrics.peak_rss_growth_bytes < strong.metrics.peak_rss_growth_bytes
    sentence = document["verdict"][0]["sentence"]
    assert sentence == comparison.verdict
    factor = strong.metrics.peak_rss_growth_bytes / max(weak.metrics.peak_rss_growth_bytes, 1)
    if weak.metrics.peak_rss_growth_bytes > 0:
        assert f"{format_ratio(factor)} lower peak growth than strong" in sentence
    assert f"vs {strong.metrics.gc_collected:,}" in sentence


def test_console_script_table_report(tmp_path):
    completed = agmem("compare", *SMALL, "--svg", "c.svg", cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for text in ("agmem compare", "strong ÷", "Peak growth above baseline",
                 "Variables per iteration, one scale", "Verdict: weak mode:"):
        assert text in out
    assert re.search(r"\d+\.\d (KiB|MiB)", out)  # sizes in binary units
    assert "wrote SVG export to c.svg" in completed.stderr
    assert "Verdict" in (tmp_path / "c.svg").read_text()


def test_a_workload_that_raises_exits_3_with_its_error_and_writes_nothing(invoke, tmp_path):
    workload = tmp_path / "boom.py"
    workload.write_text("def step(i):\n    raise RuntimeError('the workload broke')\n")
    target = tmp_path / "out.json"

    result = invoke("run", "--workload", f"{workload}:step", "--output", str(target), *SMALL)

    assert result.exit_code == 3
    assert result.stderr.startswith("agmem: error: ")
    assert "the workload broke" in result.stderr
    assert not target.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_console_script_exit_code_for_bad_input():
    completed = agmem("run", "--size", "0")

    assert completed.returncode == 2
    assert completed.stderr == "agmem: error: --size must be a positive integer, got '0'\n"
