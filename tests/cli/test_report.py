"""`agmem report`: a saved run or comparison rendered again, in every format, running nothing."""

from __future__ import annotations

import json
from pathlib import Path

from autograd_mem.schema.codec import SCHEMA_VERSION
from autograd_mem.schema.saved import MAX_RESULT_BYTES
from cli.test_real_runs import SMALL, agmem


def test_a_real_run_saved_as_json_renders_back_to_the_same_document(tmp_path: Path):
    # given a real run saved by the console script
    saved = tmp_path / "r.json"
    completed = agmem("run", "--mode", "strong", *SMALL, "--format", "json", "-o", str(saved))
    assert completed.returncode == 0, completed.stderr

    # when it is reported again as JSON
    again = agmem("report", str(saved), "--format", "json")

    # then the document is the same, byte for byte
    assert again.returncode == 0, again.stderr
    assert again.stdout == saved.read_text()


def test_a_saved_run_renders_as_the_run_report(invoke, fake_measure, tmp_path):
    saved = tmp_path / "r.json"
    invoke("run", "--mode", "strong", "--iterations", "100", "--format", "json", "-o", str(saved))
    direct = invoke("run", "--mode", "strong", "--iterations", "100")
    runs = len(fake_measure.calls)

    table = invoke("report", str(saved))
    markdown = invoke("report", str(saved), "--format", "markdown")

    assert table.exit_code == 0 and markdown.exit_code == 0, table.stderr + markdown.stderr
    assert len(fake_measure.calls) == runs  # nothing measured
    assert table.stdout == direct.stdout  # the very report the run printed
    assert markdown.stdout.startswith("## agmem run: seed · strong mode")


def test_a_saved_comparison_renders_with_its_labels_and_verdict(invoke, fake_measure, tmp_path):
    saved = tmp_path / "cmp.json"
    invoke("compare", "--iterations", "100", "--format", "json", "-o", str(saved))
    direct = invoke("compare", "--iterations", "100")

    again = invoke("report", str(saved), "--format", "json")
    table = invoke("report", str(saved))

    assert again.exit_code == 0, again.stderr
    assert again.stdout == saved.read_text()
    assert table.stdout == direct.stdout
    assert "Verdict: weak mode: 20.0x lower peak growth than strong" in table.stdout


def test_a_report_exports_svg_and_html_and_writes_a_file(invoke, fake_measure, tmp_path):
    saved = tmp_path / "r.json"
    invoke("run", "--iterations", "100", "--format", "json", "-o", str(saved))

    result = invoke("report", str(saved), "--svg", str(tmp_path / "r.svg"),
                    "--html", str(tmp_path / "r.html"), "-o", str(tmp_path / "r.txt"))

    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "r.svg").read_text().startswith("<svg")
    assert "<title>agmem report " in (tmp_path / "r.html").read_text()
    assert (tmp_path / "r.txt").read_text().startswith("agmem run  seed · weak mode")


def _refused(invoke, path: Path) -> str:
    result = invoke("report", str(path))
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agmem: error: ")
    return lines[0]


def test_other_documents_and_broken_files_are_refused_in_one_line(invoke, fake_measure,
                                                                  tmp_path):
    saved = tmp_path / "r.json"
    invoke("run", "--iterations", "100", "--format", "json", "-o", str(saved))
    document = json.loads(saved.read_text())
    invoke("baseline", "save", str(tmp_path / "base.json"), "--iterations", "100")

    cases = {
        "base.json": None,
        "newer.json": {**document, "schema_version": SCHEMA_VERSION + 1},
        "edited.json": {**document, "metrics": {**document["metrics"], "peak_rss_bytes": 1}},
        "list.json": [1, 2],
        "cut.json": "cut",
        "empty.json": "",
    }
    for name, content in cases.items():
        if content == "cut":
            (tmp_path / name).write_text(saved.read_text()[:200])
        elif isinstance(content, str):
            (tmp_path / name).write_text(content)
        elif content is not None:
            (tmp_path / name).write_text(json.dumps(content))

    assert ("a 'baseline' document, by its 'kind'; agmem report reads a saved run or "
            "comparison") in _refused(invoke, tmp_path / "base.json")
    assert f"written by a newer agmem (schema_version {SCHEMA_VERSION + 1}" in _refused(
        invoke, tmp_path / "newer.json")
    assert "edited.json.metrics.peak_rss_bytes is not what its runs measured" in _refused(
        invoke, tmp_path / "edited.json")
    assert "not an agmem result" in _refused(invoke, tmp_path / "list.json")
    assert "is truncated" in _refused(invoke, tmp_path / "cut.json")
    assert "is empty" in _refused(invoke, tmp_path / "empty.json")
    assert "result file not found" in _refused(invoke, tmp_path / "missing.json")
    assert "a directory" in _refused(invoke, tmp_path)


def test_the_size_read_is_capped(invoke, tmp_path):
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(MAX_RESULT_BYTES + 1)  # sparse: costs no disk

    assert "is too large to be a result (over 32 MiB" in _refused(invoke, big)


def test_a_comparison_keeps_the_version_of_the_agmem_that_wrote_it(invoke, fake_measure,
                                                                   tmp_path):
    saved = tmp_path / "cmp.json"
    invoke("compare", "--iterations", "100", "--format", "json", "-o", str(saved))
    document = json.loads(saved.read_text())
    document["tool"]["version"] = "0.0.1"
    saved.write_text(json.dumps(document, indent=2) + "\n")

    again = invoke("report", str(saved), "--format", "json")

    assert json.loads(again.stdout) == document
