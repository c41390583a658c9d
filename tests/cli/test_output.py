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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--svg", "out.png"], "--svg writes SVG, but out.png names a PNG file: name it out.svg"),
        (["--html", "page.json"], "--html writes HTML, but page.json names a json file"),
        (["-o", "run.json", "--format", "table"],
         "--output run.json names a json file, but the report's format is table: "
         "use --format json"),
        (["-o", "run.md", "--format", "json"], "--output run.md names a markdown file"),
    ],
)
def test_an_output_whose_extension_disagrees_is_refused_before_any_run(
        invoke, fake_measure, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)

    result = invoke("run", "--iterations", "100", *args)

    assert result.exit_code == 2
    assert result.stderr == f"agmem: error: {message}" + result.stderr.split(message)[1]
    assert result.stderr.count("\n") == 1
    assert fake_measure.calls == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "first"), [("run.json", "{"), ("run.md", "## agmem run")])
def test_without_format_the_output_is_written_in_the_format_its_extension_names(
        invoke, fake_measure, tmp_path, name, first):
    result = invoke("run", "--iterations", "100", "-o", str(tmp_path / name))

    assert result.exit_code == 0, result.stderr
    assert (tmp_path / name).read_text().startswith(first)
