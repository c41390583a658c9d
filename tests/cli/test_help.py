"""Help grouped by section, ``agmem run script.py`` first, and no option a command ignores."""

from __future__ import annotations

import pytest


def _sections(text: str) -> list[str]:
    return [line[:-1] for line in text.splitlines() if line and not line[0].isspace()
            and line.endswith(":")]


def test_the_top_level_help_leads_with_running_a_script(invoke):
    text = invoke("--help").stdout

    description = text.split("Options:")[0]
    assert "agmem run script.py" in description
    commands = text.split("Commands:")[1].split("Examples:")[0].split()
    assert commands[0] == "run"
    examples = text.split("Examples:")[1].splitlines()
    assert examples[1].split()[:3] == ["agmem", "run", "train.py"]


@pytest.mark.parametrize(
    ("command", "sections"),
    [
        (["run"], ["What to run", "How to measure", "Output", "Other options"]),
        (["compare"], ["What to run", "How to measure", "Output", "Other options"]),
        (["check"], ["What to run", "How to measure", "Output", "Gate (what fails the check)",
                     "Other options"]),
        (["baseline", "save"], ["What to run", "How to measure", "Output", "Other options"]),
        (["report"], ["Output", "Other options"]),
    ],
)
def test_each_commands_options_are_grouped_by_section(invoke, command, sections):
    text = invoke(*command, "--help").stdout

    assert _sections(text)[:len(sections)] == sections
    # each option in its section: --explain measures, --html is output, --mode says what runs
    if "How to measure" in sections:
        measure = text.split("How to measure:")[1].split("Output:")[0]
        assert "--explain" in measure and "--html" not in measure
        assert "--mode" in text.split("What to run:")[1].split("How to measure:")[0]


def test_report_offers_no_progress_bar_it_does_not_have(invoke):
    quiet = invoke("report", "--help").stdout.split("--quiet")[1].split("\n  -")[0]
    assert "progress" not in quiet
    assert "progress bar" in invoke("run", "--help").stdout.split("--quiet")[1]
