"""`agmem compare`: modes side by side, one scale, a verdict that agrees with the table."""

from __future__ import annotations

import json

from autograd_mem.analysis.compare import comparison_from_dict
from autograd_mem.schema.config import RunConfig


def test_defaults_compare_strong_then_weak(invoke, fake_measure):
    result = invoke("compare")

    assert result.exit_code == 0, result.stderr
    assert fake_measure.configs == [RunConfig(mode="strong"), RunConfig(mode="weak")]


def test_modes_with_collector_variants_and_shared_options(invoke, fake_measure):
    result = invoke("compare", "--modes", "strong,weak,strong/off,weak/off",
                    "--iterations", "100", "--size", "2000", "--repeat", "2")

    assert result.exit_code == 0, result.stderr
    assert [c.label for c in fake_measure.configs] == ["strong", "weak", "strong/off", "weak/off"]
    assert {(c.iterations, c.size, c.repeat) for c in fake_measure.configs} == {(100, 2000, 2)}
    # one ratio column per mode compared with the reference, each named
    assert "strong ÷" in result.stdout and "weak/off" in result.stdout
    assert len(result.stdout.split("mode:")) == 4  # a verdict line per compared mode


def test_gc_option_applies_to_modes_that_name_no_policy(invoke, fake_measure):
    invoke("compare", "--gc", "off", "--modes", "strong,weak/auto")

    assert [c.label for c in fake_measure.configs] == ["strong/off", "weak"]


def test_table_has_both_modes_the_ratio_both_timelines_and_the_verdict(invoke, fake_measure):
    result = invoke("compare", "--iterations", "200")

    out = result.stdout
    assert "agmem compare" in out
    assert "Peak growth above baseline" in out
    assert "+40.0 MiB" in out and "+2.0 MiB" in out
    assert "20.0x" in out  # strong ÷ weak peak growth, the figure the verdict quotes
    assert "Variables per iteration, one scale" in out
    assert out.count("peak growth +") == 2  # one strip per mode
    assert "weak mode: 20.0x lower peak growth than strong, " \
           "0 objects left to the collector vs 12,792" in " ".join(out.split())


def test_json_format_is_a_comparison_document_only(invoke, fake_measure):
    result = invoke("compare", "--format", "json", "--iterations", "100")

    document = json.loads(result.stdout)
    assert document["kind"] == "comparison"
    comparison = comparison_from_dict(document)
    assert comparison.labels == ("strong", "weak")
    assert document["verdict"][0]["sentence"] == comparison.verdict


def test_markdown_format_leads_with_the_verdict(invoke, fake_measure):
    result = invoke("compare", "--format", "markdown", "--iterations", "100")

    assert "**Verdict:** weak mode: 20.0x lower peak growth than strong" in result.stdout
    assert "| Metric | strong | weak | strong ÷ weak |" in result.stdout


def test_svg_export_contains_the_verdict(invoke, fake_measure, tmp_path):
    svg = tmp_path / "compare.svg"

    invoke("compare", "--svg", str(svg), "--iterations", "100", "--quiet")

    text = svg.read_text()
    assert text.lstrip().startswith("<svg")
    assert "Verdict" in text and "lower&#160;peak&#160;growth" in text


def test_interrupt_exits_130_and_leaves_no_output(invoke, fake_measure, tmp_path):
    fake_measure.raises = KeyboardInterrupt()
    target = tmp_path / "compare.json"

    result = invoke("compare", "--format", "json", "--output", str(target))

    assert result.exit_code == 130
    assert "agmem: interrupted" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_explains_the_ratio_and_exit_codes(invoke):
    result = invoke("compare", "--help")

    text = " ".join(result.stdout.split())
    assert "--modes MODE[/GC],..." in text
    assert 'ratios read "reference ÷ variant"' in text
    assert "Exit codes:" in text


def test_group_help_and_version(invoke):
    assert "Examples:" in invoke("--help").stdout
    assert invoke("--version").stdout.startswith("agmem, version ")
