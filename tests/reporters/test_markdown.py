"""Markdown reports: the same rows as the table, verdict first, chart in a code block."""

from __future__ import annotations

from autograd_mem.analysis.compare import compare
from autograd_mem.reporters.markdown import render_comparison, render_run
from reporters.factory import MiB, make_measurement


def test_run_as_markdown():
    text = render_run(make_measurement("weak", explain=False))

    assert text.startswith("## agmem run: seed · weak mode · gc auto")
    assert "| Metric | Value |\n|---|---:|" in text
    assert "| Peak growth above baseline | +2.0 MiB |" in text
    assert "```text" in text and "iteration →" in text


def test_comparison_as_markdown_with_spreads_and_the_explain_section():
    c = compare([make_measurement("strong", peak_growth_bytes=[40 * MiB, 42 * MiB],
                                  collected=100, explain=True),
                 make_measurement("weak", peak_growth_bytes=[2 * MiB, 2 * MiB])])

    text = render_comparison(c)

    assert text.index("**Verdict:** weak mode:") < text.index("| Metric |")
    assert "| Metric | strong | weak | strong ÷ weak |" in text
    assert "| Peak growth above baseline | +40.0 MiB (+40.0 – +42.0) | +2.0 MiB | 20.0x |" in text
    assert "### What the collector found in strong mode" in text
    assert "`Variable.creator → Square.outputs → list[0] → Variable`" in text
