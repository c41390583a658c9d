"""The comparison's ratios and verdict agree with the numbers, whichever way they go."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reporters.factory import MiB, make_measurement

from autograd_mem.analysis.compare import (
    compare,
    comparison_from_dict,
    comparison_to_dict,
    format_ratio,
    ratio,
)
from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.codec import SCHEMA_VERSION, dumps


def _pair(strong_growth: int, weak_growth: int, strong_collected: int = 12_792,
          weak_collected: int = 0):
    strong = make_measurement("strong", peak_growth_bytes=strong_growth, collected=strong_collected)
    weak = make_measurement("weak", peak_growth_bytes=weak_growth, collected=weak_collected)
    return compare([strong, weak])


def test_weak_better_verdict_names_the_factor_shown_as_the_ratio():
    # given strong grows 11.4 times as much as weak
    comparison = _pair(strong_growth=round(11.4 * 2 * MiB), weak_growth=2 * MiB)

    # then the ratio column and the verdict say the same 11.4x, in plain words
    assert format_ratio(comparison.ratios["weak"]["peak_rss_growth_bytes"]) == "11.4x"
    assert comparison.verdict == (
        "weak mode: 11.4x lower peak growth than strong, "
        "0 objects left to the collector vs 12,792"
    )
    assert comparison.verdicts[0].peak_growth_direction == "lower"


def test_weak_worse_verdict_says_higher():
    comparison = _pair(strong_growth=2 * MiB, weak_growth=6 * MiB, weak_collected=50)

    assert comparison.verdict.startswith("weak mode: 3.0x higher peak growth than strong")
    assert "50 objects left to the collector vs 12,792" in comparison.verdict
    assert format_ratio(comparison.ratios["weak"]["peak_rss_growth_bytes"]) == "0.33x"


def test_equal_growth_is_called_about_the_same_not_a_win():
    # given figures 5% apart: within what identical runs differ by
    comparison = _pair(strong_growth=20 * MiB, weak_growth=19 * MiB)

    assert comparison.verdicts[0].peak_growth_direction == "same"
    assert "about the same peak growth as strong (19.0 MiB vs 20.0 MiB)" in comparison.verdict


@pytest.mark.parametrize(
    ("strong_growth", "weak_growth", "expected"),
    [
        (5 * MiB, 0, "no peak growth vs 5.0 MiB for strong"),
        (0, 3 * MiB, "3.0 MiB peak growth vs none for strong"),
        (0, 0, "no peak growth, like strong"),
        (5 * MiB, -4096, "no peak growth vs 5.0 MiB for strong"),
    ],
)
def test_zero_growth_never_divides_by_zero(strong_growth, weak_growth, expected):
    comparison = _pair(strong_growth=strong_growth, weak_growth=weak_growth)

    assert expected in comparison.verdict
    assert "inf" not in comparison.verdict.lower()
    # a ratio that would divide by zero is absent, not infinite
    assert comparison.ratios["weak"]["gc_collected"] is None
    json.loads(dumps(comparison_to_dict(comparison)))  # and the JSON stays valid (no NaN/inf)


def test_with_the_collector_off_the_verdict_counts_what_stayed_alive():
    strong_off = make_measurement("strong", gc_policy="off", peak_growth_bytes=60 * MiB,
                                  live_variables_end=800)
    weak = make_measurement("weak", peak_growth_bytes=2 * MiB)

    comparison = compare([strong_off, weak])

    assert comparison.labels == ("strong/off", "weak")
    assert "30.0x lower peak growth than strong/off" in comparison.verdict
    assert "7 objects still alive at the end vs 1,599" in comparison.verdict


def test_each_further_mode_gets_its_own_verdict_line():
    modes = [make_measurement("strong", peak_growth_bytes=20 * MiB, collected=900),
             make_measurement("weak", peak_growth_bytes=2 * MiB),
             make_measurement("strong", gc_policy="off", peak_growth_bytes=80 * MiB)]

    comparison = compare(modes)

    lines = comparison.verdict.splitlines()
    assert [line.split(" mode:")[0] for line in lines] == ["weak", "strong/off"]
    assert "4.0x higher peak growth than strong" in lines[1]


def test_ratio_is_reference_over_mode_and_undefined_without_a_denominator():
    assert ratio(10, 4) == 2.5
    assert ratio(10, 0) is None
    assert ratio(None, 3) is None
    assert format_ratio(None) == "–"
    assert format_ratio(1234.0) == "1,234x"


def test_a_comparison_needs_two_measurements():
    with pytest.raises(ValueError, match="at least two"):
        compare([make_measurement("weak")])


def test_json_document_round_trips_and_recomputes_the_verdict():
    comparison = _pair(strong_growth=40 * MiB, weak_growth=2 * MiB)

    document = json.loads(dumps(comparison_to_dict(comparison)))

    assert document["kind"] == "comparison"
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["reference"] == "strong"
    assert [m["kind"] for m in document["measurements"]] == ["run", "run"]
    assert document["verdict"][0]["sentence"] == comparison.verdict
    assert comparison_from_dict(document) == comparison


def test_a_document_of_another_kind_is_refused():
    document = comparison_to_dict(_pair(strong_growth=4 * MiB, weak_growth=MiB))
    document["kind"] = "run"
    with pytest.raises(ResultFormatError, match="not a comparison"):
        comparison_from_dict(document)


@given(
    strong_growth=st.integers(min_value=-MiB, max_value=10**10),
    weak_growth=st.integers(min_value=-MiB, max_value=10**10),
)
def test_the_verdict_agrees_with_the_numbers_for_any_growth(strong_growth, weak_growth):
    verdict = _pair(strong_growth, weak_growth).verdicts[0]

    strong, weak = max(strong_growth, 0), max(weak_growth, 0)
    expected = ("none" if strong == weak == 0 else
                "same" if abs(strong - weak) <= 0.10 * max(strong, weak) else
                "lower" if weak < strong else "higher")
    assert verdict.peak_growth_direction == expected
    assert "inf" not in verdict.sentence and "nan" not in verdict.sentence
    if expected in ("lower", "higher") and strong and weak:
        factor = max(strong, weak) / min(strong, weak)
        assert f"{format_ratio(factor)} {expected} peak growth" in verdict.sentence


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.998, "1.0x"), (0.99, "0.99x"), (0.333, "0.33x"), (1.04, "1.0x"), (56.49, "56.5x"),
     (151.2, "151x"), (None, "–")],
)
def test_ratios_read_alike_on_either_side_of_1(value, text):
    assert format_ratio(value) == text
