"""A program's report sets its setup apart from its growth, in the table and in Markdown."""

from __future__ import annotations

import dataclasses
import io
import re

from rich.console import Console

from autograd_mem.reporters import markdown, table
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Measurement, Timeline
from reporters.factory import ENVIRONMENT, MiB, make_run


def program_run(rate_bytes_per_second: float) -> Measurement:
    """A program climbing 200 MiB in its first second, then at ``rate`` for 9 seconds."""
    seconds = [i / 100 for i in range(1001)]
    rss = [30 * MiB + int(200 * MiB * min(t, 1.0) + rate_bytes_per_second * max(t - 1.0, 0))
           for t in seconds]
    run = dataclasses.replace(
        make_run(peak_growth_bytes=230 * MiB, collected=0, iterations=1),
        timeline=Timeline(seconds=tuple(seconds), rss_bytes=tuple(rss)),
    )
    run = dataclasses.replace(run, metrics=dataclasses.replace(run.metrics, wall_seconds=10.0))
    return Measurement(
        config=RunConfig(program=("train.py",)), environment=ENVIRONMENT, runs=(run,)
    )


def rendered_table(measurement: Measurement) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(table.render(measurement))
    return out.getvalue()


def test_a_growing_program_says_so_with_its_slope_after_setup():
    text = rendered_table(program_run(2 * MiB))
    assert "Setup apart from growth" in text
    climbed = re.search(r"RSS climbed during setup +\+([\d.]+) MiB", text)
    assert climbed and 196 <= float(climbed.group(1)) <= 200  # within the band of the line
    assert "keeps growing, +2.0 MiB/s" in text
    assert "keeps growing, +2.0 MiB/s" in markdown.render(program_run(2 * MiB))


def test_a_program_that_levels_off_says_so():
    text = rendered_table(program_run(0))
    assert "levels off" in text and "keeps growing" not in text


def test_a_workload_has_no_setup_section():
    from reporters.factory import make_measurement

    assert "Setup apart from growth" not in rendered_table(make_measurement())


def test_the_page_shows_the_same_setup_rows_and_the_comparisons_setup_verdict():
    from autograd_mem.analysis.compare import compare
    from autograd_mem.reporters import page_data

    growing, level = program_run(2 * MiB), program_run(0)
    run_view = page_data.view(growing)
    [setup] = [section["rows"] for section in run_view["table"]["sections"]
               if section["title"] == "Setup apart from growth"]
    shown = {row["title"]: row["cells"][0] for row in setup}
    assert "keeps growing, +2.0 MiB/s" in shown["After setup"]
    # a comparison's verdict on the page starts with the same line as the terminal's
    comparison = compare([growing, level], ["growing", "level"])
    assert comparison.after_setup is not None
    assert page_data.view(comparison)["verdict"][0] == comparison.after_setup
