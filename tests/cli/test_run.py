"""`agmem run`: options reach the measurement, and every format reports it."""

from __future__ import annotations

import json

from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import measurement_from_dict


def test_every_workload_option_reaches_the_measured_config(invoke, fake_measure):
    # when every workload option is given
    result = invoke(
        "run", "--mode", "strong", "--gc", "off", "--workload", "mlp", "--size", "500",
        "--depth", "2", "--iterations", "30", "--backward", "--repeat", "2",
        "--sampler", "memory_profiler", "--sample-interval", "0.005", "--tracemalloc",
        "--uss", "--explain", "--seed", "7", "--force", "--quiet",
    )

    # then the runner is asked for exactly that configuration, forced
    assert result.exit_code == 0, result.stderr
    assert fake_measure.calls == [(
        RunConfig(workload="mlp", mode="strong", size=500, depth=2, iterations=30,
                  backward=True, no_grad=False, gc_policy="off", repeat=2,
                  sampler="memory_profiler", sample_interval_seconds=0.005,
                  tracemalloc=True, uss=True, explain=True, rng_seed=7),
        True,
    )]


def test_defaults_measure_the_seed_in_weak_mode(invoke, fake_measure):
    result = invoke("run")

    assert result.exit_code == 0
    assert fake_measure.configs == [RunConfig()]


def test_table_report_shows_headings_units_and_the_collector(invoke, fake_measure):
    result = invoke("run", "--mode", "strong", "--iterations", "200")

    assert result.exit_code == 0
    out = result.stdout
    for heading in ("agmem run", "Memory", "Collector", "Time",
                    "RSS and live Variables per iteration"):
        assert heading in out
    assert "Peak growth above baseline" in out and "+40.0 MiB" in out
    assert "Objects collected, total" in out and "12,792" in out
    assert "Collections (gen 0/1/2)" in out
    assert "200 iterations" in out


def test_repeat_shows_the_spread(invoke, fake_measure):
    result = invoke("run", "--repeat", "3", "--iterations", "100")

    assert "median of 3 runs (min – max)" in result.stdout


def test_explain_report_names_the_cycle(invoke, fake_measure):
    result = invoke("run", "--mode", "strong", "--explain", "--iterations", "100")

    assert "What the collector found" in result.stdout
    # the path may wrap at the terminal's width; each hop stays whole
    assert "Variable.creator →" in result.stdout and "Square.outputs →" in result.stdout
    assert "40.0 MiB" in result.stdout


def test_json_format_puts_only_the_document_on_stdout(invoke, fake_measure):
    result = invoke("run", "--format", "json", "--iterations", "100")

    document = json.loads(result.stdout)  # nothing but the JSON
    assert document["kind"] == "run"
    assert measurement_from_dict(document).config == RunConfig(iterations=100)


def test_markdown_format(invoke, fake_measure):
    result = invoke("run", "--format", "markdown", "--iterations", "100")

    assert result.stdout.startswith("## agmem run: seed · weak mode")
    assert "| Metric | Value |" in result.stdout


def test_output_file_takes_the_report_instead_of_stdout(invoke, fake_measure, tmp_path):
    target = tmp_path / "run.json"

    result = invoke("run", "--format", "json", "--output", str(target), "--iterations", "100")

    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"wrote json report to {target}" in result.stderr
    assert measurement_from_dict(json.loads(target.read_text())).config.iterations == 100
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary left


def test_table_to_a_file_is_plain_text(invoke, fake_measure, tmp_path):
    target = tmp_path / "run.txt"

    invoke("run", "-o", str(target), "--iterations", "100", "--quiet")

    text = target.read_text()
    assert "Peak growth above baseline" in text
    assert "\x1b[" not in text  # no colour codes in a file


def test_svg_and_html_exports_contain_the_report(invoke, fake_measure, tmp_path):
    svg, html = tmp_path / "run.svg", tmp_path / "run.html"

    result = invoke("run", "--svg", str(svg), "--html", str(html), "--iterations", "100")

    assert result.exit_code == 0
    assert "Peak growth above baseline" in result.stdout  # the table still goes to stdout
    assert svg.read_text().lstrip().startswith("<svg")
    assert "live&#160;Variables&#160;per&#160;iteration" in svg.read_text()
    assert "<html" in html.read_text() and "Peak growth above baseline" in html.read_text()


def test_quiet_says_nothing_on_stderr(invoke, fake_measure, tmp_path):
    result = invoke("run", "-q", "--output", str(tmp_path / "r.txt"))

    assert result.stderr == ""


def test_help_shows_examples_and_exit_codes(invoke):
    result = invoke("run", "--help")

    assert result.exit_code == 0
    for text in ("--mode", "--workload", "--format", "--svg", "Examples:", "Exit codes:", "130"):
        assert text in result.stdout
