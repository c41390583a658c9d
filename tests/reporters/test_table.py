"""The rich table reports: headings, units, spreads, the explain pass and the verdict."""

from __future__ import annotations

import dataclasses

import pytest
from rich.console import Console

from autograd_mem.analysis.compare import compare
from autograd_mem.reporters.table import render_comparison, render_run
from reporters.factory import MiB, make_measurement


def _text(renderable, width: int = 120) -> str:
    console = Console(width=width, color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def test_run_report_sections_and_human_units():
    m = make_measurement("strong", peak_growth_bytes=40 * MiB, collected=12_792,
                         iterations=1_000)

    text = _text(render_run(m))

    assert "agmem run  seed · strong mode · gc auto · size 10,000 · depth 3 · 1,000 iterations" \
        in text
    for heading in ("Memory", "Collector", "Time", "RSS and live Variables per iteration"):
        assert heading in text
    assert "Peak RSS (VmHWM)" in text and "70.0 MiB" in text
    assert "Floor (arrays needed)" in text and "625.0 KiB" in text
    assert "Peak growth ÷ floor" in text and "65.5x" in text
    assert "12,792" in text
    assert "Collector pause, total" in text and "7.00 ms" in text
    assert "Time per iteration" in text and "500.0 µs" in text
    assert "What the collector found" not in text  # no explain pass asked


def test_repeats_show_median_and_spread_with_the_unit_once():
    m = make_measurement("strong", peak_growth_bytes=[40 * MiB, 42 * MiB, 39 * MiB])

    text = _text(render_run(m))

    assert "+40.0 MiB" in text and "(+39.0 – +42.0)" in text
    assert "median of 3 runs (min – max)" in text


def test_explain_panel_lists_garbage_and_the_cycle():
    m = make_measurement("strong", collected=500, explain=True)

    text = _text(render_run(m))

    assert "What the collector found (--explain)" in text
    assert "Variable.creator → Square.outputs → list[0] → Variable" in text
    assert "made at workloads.py:42 in step" in text
    assert "hint: the engine in strong mode: use weak mode" in text


def test_comparison_has_ratio_column_timelines_and_the_verdict_last():
    c = compare([make_measurement("strong", peak_growth_bytes=40 * MiB, collected=12_792),
                 make_measurement("weak", peak_growth_bytes=2 * MiB)])

    text = _text(render_comparison(c))

    assert "strong ÷" in text
    growth_line = next(line for line in text.splitlines() if "Peak growth above" in line)
    assert growth_line.split()[-4:] == ["MiB", "+2.0", "MiB", "20.0x"]
    assert "Variables per iteration, one scale" in text
    assert text.rstrip().splitlines()[-1].strip() == (
        "Verdict: weak mode: 20.0x lower peak growth than strong, "
        "0 objects left to the collector vs 12,792"
    )


def test_four_modes_fit_120_columns_without_cutting_a_figure():
    modes = [make_measurement("strong", peak_growth_bytes=[40 * MiB, 41 * MiB], collected=9),
             make_measurement("weak", peak_growth_bytes=[2 * MiB, 2 * MiB]),
             make_measurement("strong", gc_policy="off", peak_growth_bytes=[80 * MiB] * 2),
             make_measurement("weak", gc_policy="off", peak_growth_bytes=[MiB] * 2)]

    text = _text(render_comparison(compare(modes)), width=120)

    assert "…" not in text
    assert all(len(line) <= 120 for line in text.splitlines())


def _four_modes():
    return compare([make_measurement("strong", peak_growth_bytes=40 * MiB, collected=9),
                    make_measurement("weak", peak_growth_bytes=620 * 1024),
                    make_measurement("strong", gc_policy="off", peak_growth_bytes=80 * MiB),
                    make_measurement("weak", gc_policy="off", peak_growth_bytes=620 * 1024)])


@pytest.mark.parametrize("width", [80, 100])
def test_four_modes_from_80_columns_are_one_table_with_each_ratio_under_its_figure(width):
    # given four modes and three ratios: about 120 columns side by side
    text = _text(render_comparison(_four_modes()), width=width)

    # then one table, no figure cut, no line overflowing
    assert text.count("Peak RSS (VmHWM)") == 1
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines())
    lines = text.splitlines()
    growth = next(i for i, line in enumerate(lines) if "Peak growth above" in line)
    assert lines[growth].split()[-8:] == ["+40.0", "MiB", "+620.0", "KiB", "+80.0", "MiB",
                                          "+620.0", "KiB"]
    # and under each figure but the reference's, the reference divided by it
    assert lines[growth + 1].split() == ["÷", "66.1x", "÷", "0.5x", "÷", "66.1x"]
    assert "÷: strong ÷ the variant, under its figure" in text


def test_below_80_columns_the_variants_go_on_in_a_second_table_rather_than_cut():
    text = _text(render_comparison(_four_modes()), width=60)

    assert "…" not in text
    assert all(len(line) <= 60 for line in text.splitlines())
    for figure in ("+40.0 MiB", "+620.0 KiB", "+80.0 MiB", "strong/off", "weak/off"):
        assert figure in text
    # every table keeps its row titles, so each figure can be read against its metric
    assert text.count("Peak RSS (VmHWM)") >= 2


def test_two_modes_in_80_columns_stay_in_one_table():
    c = compare([make_measurement("strong", peak_growth_bytes=40 * MiB, collected=9),
                 make_measurement("weak", peak_growth_bytes=2 * MiB)])

    text = _text(render_comparison(c), width=80)

    assert text.count("Peak RSS (VmHWM)") == 1
    assert "strong ÷" in text


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        ("mlp", "agmem run  mlp · weak mode · gc auto · 10,000 samples · 200 iterations"),
        ("loop.py:step", "agmem run  loop.py:step · weak mode · gc auto · 200 iterations"),
    ],
)
def test_the_header_names_only_what_the_workload_reads(workload: str, expected: str) -> None:
    # given a measurement of mlp (no depth) or of a user's function (neither size nor depth)
    m = make_measurement("weak")
    m = dataclasses.replace(m, config=dataclasses.replace(m.config, workload=workload))
    # then the header describes it without options the workload ignores
    assert expected in _text(render_run(m))


def test_a_mode_keeps_its_colour_whatever_its_position() -> None:
    # given weak measured alone, and weak after strong
    from autograd_mem.reporters.chart import render_timelines

    alone = render_timelines([make_measurement("weak")])
    second = render_timelines([make_measurement("strong"), make_measurement("weak")])

    def title_style(text, label):
        start = text.plain.index(label)
        return next(str(span.style) for span in text.spans if span.start == start)

    # then weak's title is drawn in the same colour both times, and not in strong's
    assert title_style(alone, "weak") == title_style(second, "weak") != title_style(
        second, "strong"
    )


def _without_engine_objects(measurement):
    """The same measurement as if its workload had made no engine object (a user's code)."""
    return dataclasses.replace(
        measurement,
        runs=tuple(
            dataclasses.replace(r, metrics=dataclasses.replace(
                r.metrics, live_variables_end=0, live_functions_end=0,
                max_live_variables=0, max_live_functions=0))
            for r in measurement.runs
        ),
    )


def test_live_engine_rows_only_when_the_workload_used_the_engine():
    # given one run that made engine objects and one that never did (a user's own code)
    engine = make_measurement("weak")
    plain = _without_engine_objects(engine)

    # then the census rows show only for the first: zeros would read as "nothing alive"
    assert "Live Variables at the end" in _text(render_run(engine))
    assert "Live Variables" not in _text(render_run(plain))


def test_a_workload_without_engine_objects_is_not_headed_by_a_reference_mode():
    engine = make_measurement("weak")
    plain = _without_engine_objects(engine)
    assert "weak mode" in _text(render_run(engine))
    assert "weak mode" not in _text(render_run(plain))
    assert "gc auto" in _text(render_run(plain))
