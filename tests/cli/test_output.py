"""What a person sees at a glance: whole help lines, no padding in pipes, titled exports."""

from __future__ import annotations

import re
import shlex

import pytest

from autograd_mem.cli import SUMMARIES


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_piped_output_has_no_trailing_spaces(invoke, fake_measure, fmt):
    for command in (("run",), ("compare",)):
        result = invoke(*command, "--iterations", "100", "--format", fmt)

        assert result.exit_code == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) > 20
        assert [line for line in lines if line != line.rstrip()] == []


def test_a_table_written_to_a_file_has_no_trailing_spaces(invoke, fake_measure, tmp_path):
    invoke("compare", "--iterations", "100", "-o", str(tmp_path / "c.txt"))

    text = (tmp_path / "c.txt").read_text()
    assert "Verdict:" in text
    assert not re.search(r" +$", text, flags=re.MULTILINE)


def test_exports_are_titled_with_the_command_as_typed(invoke, fake_measure, tmp_path):
    # given arguments a shell would need quoted
    svg, html = tmp_path / "my chart.svg", tmp_path / "page.html"
    args = ["compare", "--iterations", "100", "--svg", str(svg), "--html", str(html)]

    result = invoke(*args)

    assert result.exit_code == 0, result.stderr
    typed = shlex.join(["agmem", *args])
    # the SVG's window title, with rich's no-break spaces for spaces
    title = re.search(r'class="terminal-\d+-title"[^>]*>([^<]*)<', svg.read_text()).group(1)
    assert title.replace("&#160;", " ").replace("&#x27;", "'").replace("&#39;", "'") == typed
    page = html.read_text()
    assert f"<title>{typed}</title>".replace("'", "&#x27;") in page


def test_the_html_page_carries_everything_it_shows(invoke, fake_measure, tmp_path):
    invoke("run", "--iterations", "100", "--html", str(tmp_path / "r.html"))

    page = (tmp_path / "r.html").read_text()
    assert '<meta name="viewport" content="width=device-width' in page
    # inline only: no file or address it would fetch, and a policy that forbids it
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page
    assert "Peak growth above baseline" in page


def test_main_help_shows_every_command_summary_whole(invoke):
    result = invoke("--help")

    commands = result.stdout.split("Commands:", 1)[1].split("Examples:", 1)[0]
    joined = " ".join(commands.split())
    for name, summary in SUMMARIES.items():
        assert f"{name} {summary}" in joined
    assert "..." not in commands


def test_baseline_help_does_not_cut_its_subcommands_either(invoke):
    result = invoke("baseline", "--help")

    assert "..." not in result.stdout.split("Commands:", 1)[1]
