"""The terminal RSS timeline: one scale for every strip, collections where they happened."""

from __future__ import annotations

import dataclasses

from rich.console import Console

from autograd_mem.reporters.chart import (
    Timelines,
    chart_title,
    collections_by_column,
    growth_by_column,
    live_variables_by_column,
    render_timelines,
)
from autograd_mem.schema.run import GcEvent, Timeline
from reporters.factory import MiB, make_measurement


def _strip_rows(text: str, label: str, height: int = 5) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(label))
    return [line.split("┤", 1)[1] for line in lines[start + 1 : start + 1 + height]]


def test_both_strips_share_one_scale():
    # given strong grows 40 MiB and weak 2 MiB
    strong = make_measurement("strong", peak_growth_bytes=40 * MiB, collected=100)
    weak = make_measurement("weak", peak_growth_bytes=2 * MiB)

    text = render_timelines([strong, weak], width=40).plain

    # then both axes top out at the larger growth, and weak stays on the bottom row
    assert text.count("+40.0 MiB ┤") == 2
    weak_rows = _strip_rows(text, "weak")
    assert all(row.strip() == "" for row in weak_rows[:-1])
    # 2 MiB of 40 MiB over 5 rows of 8 eighths: 2 eighths, "▂", along the whole strip
    assert set(weak_rows[-1].replace(" ◂ floor", "").strip()) == {"▂"}
    assert "█" in _strip_rows(text, "strong")[0]


def test_growth_is_bucketed_by_iteration_and_held_between_samples():
    m = make_measurement("strong", iterations=100)
    baseline = m.metrics.baseline_rss_bytes
    run = dataclasses.replace(
        m.runs[0],
        timeline=Timeline(seconds=(0.0, 0.1, 0.2), rss_bytes=(baseline + 10, baseline + 30,
                                                              baseline - 5),
                          iteration=(-1, 10, 90)),
    )
    m = dataclasses.replace(m, runs=(run,))

    columns = growth_by_column(m, 10)

    # before the first sample: nothing; a sample under the baseline counts as 0 growth
    assert columns == [None, 30, 30, 30, 30, 30, 30, 30, 30, 0]


def test_collections_are_marked_with_the_oldest_generation_of_their_column():
    m = make_measurement("strong", iterations=100)
    events = (GcEvent(0, 5, 0, 1e-4, 12, 0.0), GcEvent(2, 50, 0, 1e-3, 15, 0.0),
              GcEvent(1, 9, 0, 1e-4, 95, 0.0))
    m = dataclasses.replace(m, runs=(dataclasses.replace(m.runs[0], gc_events=events),))

    assert collections_by_column(m, 10) == [None, 2, None, None, None, None, None, None, None, 1]


def test_a_run_too_fast_for_the_sampler_says_so():
    m = make_measurement("weak", iterations=50)
    m = dataclasses.replace(m, runs=(dataclasses.replace(m.runs[0], timeline=Timeline()),))

    text = render_timelines([m], width=40).plain

    assert "no RSS sample in the 500.00 ms the iterations took" in text
    assert "(one every 10.00 ms): run more iterations for one" in text


def test_the_renderable_fits_the_console():
    m = make_measurement("strong", peak_growth_bytes=8 * MiB, collected=10)
    for width in (60, 80, 160):
        console = Console(width=width, file=None, record=True)
        with console.capture() as capture:
            console.print(Timelines([m]))
        assert max(len(line) for line in capture.get().splitlines()) <= width


def test_live_variables_share_one_scale_topped_by_the_census_high_water_mark():
    strong = make_measurement("strong", peak_growth_bytes=40 * MiB, collected=100)
    weak = make_measurement("weak", peak_growth_bytes=2 * MiB)

    lines = render_timelines([strong, weak], width=40).plain.splitlines()

    # the top row of each live strip is labelled with the higher high-water mark (200)
    tops = [line for line in lines if line.startswith("      200 ┤")]
    assert len(tops) == 2
    strong_top, weak_top = (line.split("┤", 1)[1] for line in tops)
    assert "█" in strong_top  # the strong graph piles Variables up to the mark
    assert weak_top.strip() == ""  # 4 live Variables of 200 stay on the bottom row


def test_live_variables_by_column_takes_the_most_alive_in_each_column():
    m = make_measurement("strong", collected=10, iterations=100)

    columns = live_variables_by_column(m, 4)

    # 4 more each iteration, cut back every 50: each column of 25 iterations ends higher
    assert columns == [100, 200, 100, 200]


def test_a_long_axis_label_keeps_every_strip_aligned():
    # given a run whose growth reads "+1,023.5 MiB", a label wider than "+34.5 MiB"
    weak = make_measurement("weak", peak_growth_bytes=1023 * MiB + MiB // 2)

    lines = render_timelines([weak], width=40).plain.splitlines()

    # then every row of the chart puts its axis mark in the same column
    axis_rows = [line for line in lines if "┤" in line]
    assert any(line.lstrip().startswith("+1,023.5 MiB ┤") for line in axis_rows)
    assert len({line.index("┤") for line in axis_rows}) == 1
    corner = next(line for line in lines if "└" in line)
    assert corner.index("└") == axis_rows[0].index("┤")


def test_the_footnote_is_wrapped_by_the_console_not_by_hard_line_breaks():
    # given a chart in a 60-column terminal
    m = make_measurement("strong", peak_growth_bytes=8 * MiB, collected=10)
    console = Console(width=60, file=None, record=True)

    with console.capture() as capture:
        console.print(Timelines([m]))

    # then the footnote's lines fill the width: none but the last stops short
    lines = capture.get().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("RSS: growth"))
    footnote = [line.rstrip() for line in lines[start:]]
    assert len(footnote) >= 2
    assert all(len(line) > 60 - len(" allocator,") for line in footnote[:-1])


def test_a_workload_without_variables_draws_no_empty_live_rows():
    # given a user workload that never builds a Variable: the census reads 0 throughout
    measurement = make_measurement("weak", live_variables_end=0)
    run = measurement.runs[0]
    silent = dataclasses.replace(
        run,
        metrics=dataclasses.replace(run.metrics, max_live_variables=0),
        per_iteration=dataclasses.replace(
            run.per_iteration, live_variables=(0,) * len(run.per_iteration.live_variables)
        ),
    )
    measurement = dataclasses.replace(measurement, runs=(silent,))
    # when its timeline is drawn
    text = render_timelines([measurement]).plain
    # then it renders (no division by zero), the collections row straight under the RSS
    lines = text.splitlines()
    assert "live Var" not in text and "live Variable" not in text
    assert lines[6].lstrip().startswith("gc ┤")


def _gc_row(text: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith("gc ┤"))


def test_the_gc_row_marks_collections_with_symbols_not_generation_numbers():
    # given young collections only (generation 0), the commonest case
    m = make_measurement("strong", iterations=100)
    events = tuple(GcEvent(0, 5, 0, 1e-4, i, 0.0) for i in range(0, 100, 10))
    m = dataclasses.replace(m, runs=(dataclasses.replace(m.runs[0], gc_events=events),))

    text = render_timelines([m], width=10).plain

    # then the row shows a mark per collected stretch, never a "0" that reads as "none"
    row = _gc_row(text).split("┤", 1)[1]
    assert row == "•" * 10
    assert "0" not in row
    # and the legend says what the marks are
    assert "• gen 0 ◆ gen 1 ■ gen 2" in " ".join(text.split())


def test_older_generations_get_bigger_marks():
    m = make_measurement("strong", iterations=100)
    events = (GcEvent(0, 5, 0, 1e-4, 5, 0.0), GcEvent(1, 9, 0, 1e-4, 55, 0.0),
              GcEvent(2, 50, 0, 1e-3, 95, 0.0))
    m = dataclasses.replace(m, runs=(dataclasses.replace(m.runs[0], gc_events=events),))

    row = _gc_row(render_timelines([m], width=10).plain).split("┤", 1)[1]

    assert row == "•    ◆   ■"


def test_a_lone_flat_run_of_small_growth_is_not_drawn_as_a_full_block():
    # given a healthy run: RSS rose 84 KiB at once and stayed there, no floor known
    m = make_measurement("weak", peak_growth_bytes=84 * 1024, floor_bytes=None)

    text = render_timelines([m], width=20).plain
    rows = _strip_rows(text, "weak")

    # then the scale is at least a MiB, said on the axis, and the line stays a sliver
    assert "+1.0 MiB ┤" in text
    assert all(row.strip() == "" for row in rows[:-1])
    assert set(rows[-1].strip()) == {"▃"}  # 84 KiB of 1 MiB over 40 eighths: 3 eighths


def test_a_lone_run_with_a_floor_points_at_it_on_the_absolute_scale():
    # given 600 KiB of growth over a 300 KiB floor
    m = make_measurement("weak", peak_growth_bytes=600 * 1024, floor_bytes=300 * 1024)

    lines = render_timelines([m], width=20).plain.splitlines()

    floor_rows = [line for line in lines if line.endswith("◂ floor")]
    assert len(floor_rows) == 1
    # 300 KiB of 1 MiB over 5 rows: the second row from the bottom
    rss_rows = [line for line in lines if "┤" in line][:5]
    assert rss_rows.index(floor_rows[0]) == 3


def test_a_shorter_run_ends_where_its_iterations_end_on_a_shared_axis():
    # given a run of 100 iterations drawn beside one of 200
    short = make_measurement("weak", peak_growth_bytes=2 * MiB, iterations=100)
    long = make_measurement("strong", peak_growth_bytes=4 * MiB, iterations=200)

    text = render_timelines([long, short], width=20, labels=["long", "short"]).plain

    # then the short strip fills the first half of the axis only
    bottom = _strip_rows(text, "short")[-1]
    assert bottom[:10].strip() != "" and bottom[10:].replace("◂ floor", "").strip() == ""
    assert "iteration → 200" in text


def test_the_title_names_the_live_variables_only_where_there_are_some():
    engine = make_measurement("strong", collected=10)
    plain = make_measurement("weak", live_variables_end=0)
    plain = dataclasses.replace(plain, runs=(dataclasses.replace(
        plain.runs[0],
        metrics=dataclasses.replace(plain.runs[0].metrics, max_live_variables=0),
        per_iteration=dataclasses.replace(
            plain.runs[0].per_iteration,
            live_variables=(0,) * len(plain.runs[0].per_iteration.live_variables)),
    ),))

    assert chart_title([engine]) == "RSS and live Variables per iteration"
    assert chart_title([plain]) == "RSS per iteration"
    assert chart_title([plain, plain]) == "RSS per iteration, one scale"
