"""``agmem compare`` of a loop that keeps growing and one that levels off, said in plain words.

The programs' own figures are the independent measure: the leaky one writes the bytes
it kept and how long its loop ran; agmem's slope, read from the RSS timeline after
setup, must agree with them.
"""

from __future__ import annotations

import json
import re

import pytest

from autograd_mem.analysis.compare import comparison_from_dict
from autograd_mem.schema.units import parse_size
from tests.cli.test_programs import agmem

pytestmark = pytest.mark.slow


def test_compare_says_which_loop_keeps_growing_after_its_setup(tmp_path):
    report = tmp_path / "leaky-rate"
    completed = agmem(
        "compare", "--format", "json",
        f"setup_then_loop.py --keep --report {report}", "setup_then_loop.py",
    )
    assert completed.returncode == 0, completed.stderr
    comparison = comparison_from_dict(json.loads(completed.stdout))
    leaky, fixed = comparison.labels
    sentence = comparison.after_setup
    assert sentence is not None
    found = re.fullmatch(
        rf"{re.escape(leaky)} keeps growing, \+(.+)/s after setup; {re.escape(fixed)} levels off",
        sentence,
    )
    assert found, sentence
    # the program's own rate: what it kept over the time its loop took
    kept = json.loads(report.read_text())
    true_rate = kept["kept_bytes"] / kept["loop_seconds"]
    assert parse_size(found.group(1)) == pytest.approx(true_rate, rel=0.25)
    # and the verdict the reports print starts with it
    assert comparison.verdict.splitlines()[0] == sentence
