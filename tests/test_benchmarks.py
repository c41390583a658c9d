"""Every benchmark script answers --help with what it does, and runs nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=[path.name for path in BENCHMARKS])
def test_help_says_what_a_benchmark_does_without_running_it(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                          text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    first_line = script.read_text().split('"""')[1].splitlines()[0]
    # its description is its docstring's first line; nothing measured was printed
    assert " ".join(first_line.split()) in " ".join(done.stdout.split())
    assert "PASS" not in done.stdout and "FAIL" not in done.stdout
