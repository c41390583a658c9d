"""A program's own ``autograd_mem.setup_done()``: the measured run notes when, and the explain
pass counts growth from there, through ``agmem run`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograd_mem import setup_done
from autograd_mem.cli import cli

pytestmark = pytest.mark.slow

PROGRAM = Path(__file__).resolve().parent.parent / "programs" / "setup_marked.py"
LEAK_LINE = 25  # kept.append(bytearray(32 * 1024))


def explained(*words: str) -> dict:
    result = CliRunner().invoke(
        cli, ["run", "--explain", "--format", "json", "--", str(PROGRAM), *words]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_setup_done_outside_agmem_does_nothing():
    assert setup_done() is None


def test_a_marked_setup_is_not_growth_and_the_leak_after_it_is():
    # given: 30,000 weights built, then setup_done(), then 100 bytearrays kept
    document = explained("--mark")
    # then: the mark is noted within the run, after the weights were built
    marked = document["metrics"]["setup_marked_seconds"]
    assert 0 < marked < document["metrics"]["wall_seconds"]
    # and: what grew is the leak alone, on its line; the weights are set-up
    growth = {row["type"]: row for row in document["explain"]["growth"]}
    assert "Weight" not in growth
    leak = growth["bytearray"]
    assert leak["end"] - leak["start"] == 100
    assert leak["allocated_at"]["line"] == LEAK_LINE
    assert document["explain"]["top_lines"][0]["line"] == LEAK_LINE


def test_without_the_mark_the_setup_counts_as_growth():
    document = explained()
    assert document["metrics"]["setup_marked_seconds"] is None
    growth = {row["type"]: row for row in document["explain"]["growth"]}
    assert growth["Weight"]["end"] - growth["Weight"]["start"] == 30_000
