"""The report page, opened in a real headless Chromium: what it shows against the JSON's figures.

Each page is made by the command line from a real run, beside that run's ``--format
json`` document: the JSON is the independent measure, the page must show its values.
The browser comes from Debian's ``chromium`` package (``.ci/run`` installs it); without
it these tests skip, saying so in one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, chromium, find_chromium
from click.testing import CliRunner

from autograd_mem.cli import cli

PROGRAMS = Path(__file__).parent.parent / "programs"
WIDTHS = (1400, 800)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium not installed (apt-get install chromium): browser tests skipped")
    with chromium(executable) as opened:
        yield opened


def _agmem(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args), prog_name="agmem", catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _made(tmp_path_factory: pytest.TempPathFactory, name: str, command: str,
          *args: str) -> tuple[Path, Any]:
    """The page and the JSON document of one command, run once for the module."""
    folder = tmp_path_factory.mktemp(name)
    page, document = folder / f"{name}.html", folder / f"{name}.json"
    # agmem's options before the rest: a program's own arguments come after its script.
    _agmem(command, "--format", "json", "-o", str(document), "--html", str(page), "--quiet",
           *args)
    return page, json.loads(document.read_text())


@pytest.fixture(scope="module")
def compare_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return _made(tmp_path_factory, "compare", "compare", "--modes", "strong,weak",
                 "--iterations", "400", "--size", "2000", "--explain")


@pytest.fixture(scope="module")
def program_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    script = PROGRAMS / "leaky_script.py"
    return _made(tmp_path_factory, "program", "run", str(script), "--n", "3000", "--kib", "16")


def _open(browser: Browser, page: Path, width: int = 1400) -> None:
    browser.open(page, width=width)
    assert browser.evaluate("document.documentElement.dataset.ready") == "true"
    assert browser.errors() == []
    # The page itself and nothing else: no script, style, font or image from anywhere.
    assert browser.requests() == [page.resolve().as_uri()]


def _centre(browser: Browser, selector: str, index: int = 0) -> tuple[float, float]:
    box = browser.evaluate(
        f"(() => {{ const r = document.querySelectorAll({selector!r})[{index}]"
        ".getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    return box[0], box[1]


def _scroll_to_timeline(browser: Browser) -> None:
    browser.evaluate("document.querySelector('.charts').scrollIntoView({block: 'start'})")


def _plot_box(browser: Browser) -> dict[str, float]:
    return browser.evaluate(
        "(() => { const r = document.querySelector('svg.chart rect.plot').getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })()"
    )


def _number(text: str) -> int:
    return int(text.replace(",", "").split()[0])


def _tip_rows(browser: Browser) -> list[dict[str, str]]:
    return browser.evaluate(
        "[...document.querySelectorAll('.tooltip:not([hidden]) .tip-row')].map(r => ({"
        "variant: r.dataset.variant, at: r.querySelector('.at').textContent,"
        "rss: r.querySelector('.rss').dataset.bytes,"
        "live_at: r.querySelector('.live-at')?.textContent ?? null,"
        "variables: r.querySelector('.variables')?.textContent ?? null}))"
    )


def _range(browser: Browser) -> list[float]:
    text = browser.evaluate("document.querySelector('.range').textContent")
    return [float(n.replace(",", "")) for n in re.findall(r"[\d,.]+", text)[:2]]


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_the_compare_page_loads_alone_and_fits_the_window(browser, compare_page, width):
    page, _ = compare_page
    _open(browser, page, width)
    # Nothing wider than the window: no stray horizontal scrollbar.
    assert browser.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.slow
def test_hover_shows_the_documents_samples(browser, compare_page):
    page, document = compare_page
    _open(browser, page)
    _scroll_to_timeline(browser)
    plot = _plot_box(browser)
    by_label = dict(zip(document["labels"], document["measurements"], strict=True))
    seen = 0
    for fraction in (0.05, 0.3, 0.55, 0.8, 0.97):
        browser.mouse("mouseMoved", plot["left"] + fraction * (plot["right"] - plot["left"]),
                      (plot["top"] + plot["bottom"]) / 2)
        rows = _tip_rows(browser)
        assert {row["variant"] for row in rows} == set(document["labels"])
        for row in rows:
            timeline = by_label[row["variant"]]["timeline"]
            samples = set(zip(timeline["iteration"], timeline["rss_bytes"], strict=True))
            assert (_number(row["at"].removeprefix("sample at iteration ")),
                    int(row["rss"])) in samples
            record = by_label[row["variant"]]["per_iteration"]
            live = dict(zip(record["iteration"], record["live_variables"], strict=True))
            assert live[_number(row["live_at"].removeprefix("iteration "))] == _number(
                row["variables"])
            seen += 1
    assert seen == 10


@pytest.mark.slow
def test_collection_marks_are_the_documents_collections(browser, compare_page):
    page, document = compare_page
    _open(browser, page)
    for label, measurement in zip(document["labels"], document["measurements"], strict=True):
        marks = browser.evaluate(
            f"document.querySelectorAll('.gc-mark[data-variant=\"{label}\"]').length")
        assert marks == len(measurement["gc_buckets"]["start_seconds"])
    buckets = document["measurements"][0]["gc_buckets"]
    # one mark per bucket of collections: its oldest generation collected, what it freed
    strong = [
        {"generation": max(g for g, count in enumerate(counts) if count), "collected": collected}
        for counts, collected in zip(buckets["collections"], buckets["collected"], strict=True)
    ]
    assert strong, "the strong run must collect for this test to mean anything"
    _scroll_to_timeline(browser)
    last = len(strong) - 1
    browser.mouse("mouseMoved", *_centre(browser, '.gc-mark[data-variant="strong"]', last))
    shown = browser.evaluate(
        "(() => { const c = document.querySelector('.tooltip:not([hidden]) .collection');"
        " return {index: c.dataset.index, generation: c.querySelector('.generation').textContent,"
        " collected: c.querySelector('.collected').textContent}; })()"
    )
    assert int(shown["index"]) == last
    assert shown["generation"] == str(strong[last]["generation"])
    assert _number(shown["collected"]) == strong[last]["collected"]
    # A click pins the collection, with a link to the shapes --explain found.
    browser.mouse("mousePressed", *_centre(browser, '.gc-mark[data-variant="strong"]', last),
                  button="left", clickCount=1)
    browser.mouse("mouseReleased", *_centre(browser, '.gc-mark[data-variant="strong"]', last),
                  button="left", clickCount=1)
    link = browser.evaluate("document.querySelector('.details a').getAttribute('href')")
    assert browser.evaluate(f"!!document.querySelector({link!r})")


@pytest.mark.slow
def test_wheel_zooms_drag_pans_and_reset_restores(browser, compare_page):
    page, document = compare_page
    _open(browser, page)
    _scroll_to_timeline(browser)
    iterations = document["measurements"][0]["config"]["iterations"]
    assert _range(browser) == [0, iterations]
    plot = _plot_box(browser)
    middle = ((plot["left"] + plot["right"]) / 2, (plot["top"] + plot["bottom"]) / 2)
    browser.mouse("mouseWheel", *middle, deltaX=0, deltaY=-400)
    low, high = _range(browser)
    assert 0 < high - low < iterations / 2
    browser.mouse("mousePressed", *middle, button="left", clickCount=1)
    for step in (1, 2, 3):  # a drag is many moves: the last one decides
        browser.mouse("mouseMoved", middle[0] + 70 * step, middle[1], button="left", buttons=1)
    browser.mouse("mouseReleased", middle[0] + 210, middle[1], button="left", clickCount=1)
    panned = _range(browser)
    # dragged right by 210 px: the view moved left by 210 px' worth of iterations
    per_pixel = (high - low) / (plot["right"] - plot["left"])
    assert panned[0] == pytest.approx(max(0, low - 210 * per_pixel), abs=2)
    assert panned[1] - panned[0] == pytest.approx(high - low, abs=1)
    browser.evaluate("[...document.querySelectorAll('button')].find(b => "
                     "b.textContent === 'Reset zoom').click()")
    assert _range(browser) == [0, iterations]


@pytest.mark.slow
def test_variants_hide_and_take_their_own_scale(browser, compare_page):
    page, _ = compare_page
    _open(browser, page)
    count = "document.querySelectorAll('polyline.series').length"
    charts = "document.querySelectorAll('svg.chart').length"
    assert browser.evaluate(count) == 4  # RSS and live objects, for each of two variants
    browser.evaluate("document.querySelector('input[data-variant=\"weak\"]').click()")
    assert browser.evaluate(count) == 2
    browser.evaluate("document.querySelector('input[data-variant=\"weak\"]').click()")
    browser.evaluate("document.querySelector('input[name=\"scale\"][value=\"each\"]').click()")
    assert browser.evaluate(charts) == 2


@pytest.mark.slow
def test_the_keyboard_reaches_the_timeline(browser, compare_page):
    page, _ = compare_page
    _open(browser, page)
    for _ in range(12):  # tab until the chart has the focus: it is in the tab order
        browser.key("Tab")
        if browser.evaluate("document.activeElement.classList.contains('charts')"):
            break
    else:
        pytest.fail("the timeline is not reachable with Tab")
    browser.key("ArrowRight")
    assert _tip_rows(browser)
    before = _range(browser)
    browser.key("+")
    after = _range(browser)
    assert after[1] - after[0] < before[1] - before[0]


@pytest.mark.slow
def test_the_explain_panel_lists_every_shape(browser, compare_page):
    page, document = compare_page
    _open(browser, page)
    shapes = document["measurements"][0]["explain"]["shapes"]
    rows = browser.evaluate(
        "[...document.querySelector('#explain-strong table.shapes').querySelectorAll('tbody tr')]"
        ".map(r => r.children[1].textContent)")
    assert [_number(text) for text in rows] == [shape["objects"] for shape in shapes]
    # each shape's bytes, exact under the pointer: the most held at once, and freed in all
    held = browser.evaluate(
        "[...document.querySelector('#explain-strong table.shapes').querySelectorAll('tbody tr')]"
        ".map(r => [r.children[2].title, r.children[3].title])")
    assert held == [[f"{s['bytes_held_at_most']:,} B", f"{s['bytes_freed_total']:,} B"]
                    for s in shapes]
    # and nothing the document holds is shown as an object's name rather than its content
    assert "[object" not in browser.evaluate("document.body.innerText")


@pytest.mark.slow
def test_a_programs_page_runs_on_the_clock(browser, program_page):
    page, document = program_page
    _open(browser, page)
    assert browser.evaluate("document.querySelectorAll('.gc-mark').length") == len(
        document["gc_buckets"]["start_seconds"])
    _scroll_to_timeline(browser)
    plot = _plot_box(browser)
    browser.mouse("mouseMoved", (plot["left"] + plot["right"]) / 2,
                  (plot["top"] + plot["bottom"]) / 2)
    (row,) = _tip_rows(browser)
    rss_by_second = {}
    for seconds, rss in zip(document["timeline"]["seconds"], document["timeline"]["rss_bytes"],
                            strict=True):
        rss_by_second.setdefault(round(seconds, 2), set()).add(rss)
    assert row["at"].startswith("sample at ")
    assert int(row["rss"]) in {rss for values in rss_by_second.values() for rss in values}


def test_the_page_escapes_what_could_end_its_script(tmp_path):
    # A label, a path or a hint could hold "</script>": the data must not end the element.
    from autograd_mem.reporters.page import render_data

    text = render_data({"heading": "x", "variants": [], "header": ["</script><b>"]}, "t")
    assert "</script><b>" not in text
    assert text.count("</script>") == 2  # the data's element and the script's


@pytest.fixture(scope="module")
def check_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("check")
    page, document = folder / "check.html", folder / "check.json"
    result = CliRunner().invoke(cli, [
        "check", "--max-collected", "0", "--mode", "strong", "--iterations", "400",
        "--size", "1000", "--format", "json", "-o", str(document), "--html", str(page), "-q",
    ], prog_name="agmem", catch_exceptions=False)
    assert result.exit_code == 1, result.output  # strong mode leaves cycles: over budget
    return page, json.loads(document.read_text())


@pytest.mark.slow
def test_a_check_page_shows_every_rows_verdict(browser, check_page):
    page, document = check_page
    _open(browser, page)
    shown = browser.evaluate(
        "[...document.querySelectorAll('table.metrics tbody tr:not(.section)')].map(r => "
        "[r.children[0].textContent, r.lastElementChild.textContent])")
    # grouped by how each is judged, as in the terminal: the same rows, in another order
    assert sorted(shown) == sorted([row["metric"], row["verdict"]] for row in document["rows"])
    assert ["gc_collected", "over budget"] in shown
    assert browser.evaluate("document.querySelector('.verdict').classList.contains('fail')")
    assert browser.evaluate("document.querySelector('.verdict').textContent").endswith(
        document["summary"])


@pytest.mark.slow
def test_dark_scheme_and_print_keep_the_page_readable(browser, compare_page):
    page, _ = compare_page
    background = "getComputedStyle(document.documentElement).backgroundColor"
    text = "getComputedStyle(document.body).color"
    try:
        browser.send("Emulation.setEmulatedMedia", features=[
            {"name": "prefers-color-scheme", "value": "dark"}])
        _open(browser, page)
        assert (browser.evaluate(background), browser.evaluate(text)) == (
            "rgb(20, 24, 29)", "rgb(227, 231, 236)")
        browser.send("Emulation.setEmulatedMedia", media="print")
        # printed: black on white, whatever the scheme; no controls; the charts stay
        assert (browser.evaluate(background), browser.evaluate(text)) == (
            "rgb(255, 255, 255)", "rgb(0, 0, 0)")
        assert browser.evaluate("getComputedStyle(document.querySelector('.controls')).display"
                                ) == "none"
        assert browser.evaluate("document.querySelector('svg.chart').getBoundingClientRect()"
                                ".height") > 100
    finally:
        browser.send("Emulation.setEmulatedMedia", media="", features=[])


# A suite of three tests: one leaves self-referencing objects to the collector.
SUITE = """
class Node:
    def __init__(self):
        self.me = self
        self.payload = bytearray(32 * 1024)


def test_leaks():
    for _ in range(5):
        Node()


def test_clean():
    assert sum(range(10)) == 45


def test_grows():
    kept = [bytearray(256 * 1024)]
    assert kept
"""


@pytest.fixture
def pytest_page(pytester: pytest.Pytester, tmp_path: Path) -> tuple[Path, Any]:
    """``pytest --agmem --agmem-html``'s page, beside the session's ``--agmem-json``."""
    pytester.makepyfile(test_suite=SUITE)
    figures, page = tmp_path / "suite.json", tmp_path / "suite.html"
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "--agmem",
                                "--agmem-json", str(figures), "--agmem-html", str(page))
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"agmem: page of 3 test(s) written to {page}"])
    return page, json.loads(figures.read_text())


def _test_ids(browser: Browser) -> list[str]:
    return browser.evaluate("[...document.querySelectorAll('tr.test')].map(r => r.dataset.nodeid)")


@pytest.mark.slow
def test_the_pytest_page_sorts_filters_and_opens_a_tests_cycles(browser, pytest_page):
    page, document = pytest_page
    _open(browser, page)
    tests = {test["nodeid"]: test["figures"] for test in document["tests"]}
    assert sorted(_test_ids(browser)) == sorted(tests)
    # sorted by peak growth, largest first, then the other way round
    browser.evaluate("document.querySelector('button.sort[data-key=\"peak_growth_bytes\"]').click()")
    by_growth = sorted(tests, key=lambda nodeid: tests[nodeid]["peak_growth_bytes"])
    assert _test_ids(browser) in (by_growth, by_growth[::-1])
    first = _test_ids(browser)
    browser.evaluate("document.querySelector('button.sort[data-key=\"peak_growth_bytes\"]').click()")
    assert _test_ids(browser) == first[::-1]
    # filtered by name
    browser.evaluate("const f = document.querySelector('input[type=search]'); f.value = 'leak';"
                     "f.dispatchEvent(new Event('input'))")
    (leaky,) = _test_ids(browser)
    assert leaky.endswith("test_leaks")
    # its cycles open under its row: every shape the JSON holds for it
    browser.evaluate("document.querySelector('tr.test button.open').click()")
    objects = browser.evaluate(
        "[...document.querySelectorAll('tr.test-detail:not([hidden]) table.shapes tbody tr')]"
        ".map(r => r.children[1].textContent)")
    assert [_number(text) for text in objects] == [s["objects"] for s in tests[leaky]["shapes"]]
    assert tests[leaky]["shapes"], "the leaking test must leave a cycle for this to mean much"
