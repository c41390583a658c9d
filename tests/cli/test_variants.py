"""`agmem compare` of variants: workloads, saved runs, and both, under readable labels."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from autograd_mem.analysis.compare import comparison_from_dict
from autograd_mem.cli.compare import unique_labels
from autograd_mem.schema.run import measurement_from_dict
from cli.test_real_runs import agmem

# A leaking step: every call leaves a self-referencing 80 KB holder for the collector.
LEAKY = """\
import numpy as np

class Holder:
    def __init__(self):
        self.me = self
        self.data = np.ones(10_000)

def step(i):
    Holder()
"""
CLEAN = """\
import numpy as np

def step(i):
    np.ones(10_000).sum()
"""


@pytest.fixture
def workloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``leaky.py`` and ``clean.py`` in a fresh directory, which is the working one."""
    (tmp_path / "leaky.py").write_text(LEAKY)
    (tmp_path / "clean.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_two_workloads_are_measured_and_compared_in_plain_words(workloads):
    # given a leaking step and a clean one, measured for real through the console script,
    # for enough calls that the young generation's threshold (700; 2,000 from 3.13) is
    # passed twice: one Holder is one allocation the collector counts
    iterations = 2 * gc.get_threshold()[0] + 100
    completed = agmem("compare", "--workload", "leaky.py:step", "--workload", "clean.py:step",
                      "--iterations", str(iterations), "--format", "json", cwd=workloads)

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    comparison = comparison_from_dict(document)
    leaky, clean = comparison.measurements
    # then each variant is its workload, in one mode, under its short name
    assert comparison.labels == ("leaky.py:step", "clean.py:step")
    assert [m.config.workload for m in comparison.measurements] == ["leaky.py:step",
                                                                     "clean.py:step"]
    assert {m.config.mode for m in comparison.measurements} == {"weak"}
    # and the figures are the ones an independent measure expects: the leaky step's
    # holders go to the collector, the clean step's never do
    assert leaky.metrics.gc_collected >= gc.get_threshold()[0] and clean.metrics.gc_collected == 0
    assert leaky.metrics.peak_rss_growth_bytes > 10 * clean.metrics.peak_rss_growth_bytes
    # and the verdict names the variants and quotes the table's figures
    verdict = comparison.verdict
    assert verdict.startswith("clean.py:step: ")
    assert "lower peak growth than leaky.py:step" in verdict
    assert f"0 objects left to the collector vs {leaky.metrics.gc_collected:,}" in verdict
    assert document["ratio"] == "reference ÷ variant"


def test_the_table_heads_columns_and_ratios_with_the_labels(invoke, fake_measure, workloads):
    result = invoke("compare", "--workload", "leaky.py:step", "--workload", "clean.py:step",
                    "--iterations", "100")

    assert result.exit_code == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "leaky.py:step ÷" in result.stdout  # the ratio's heading, over two lines
    assert out.count("peak growth +") == 2
    assert "Verdict: clean.py:step: about the same peak growth as leaky.py:step" in out


def test_modes_with_several_workloads_measure_the_cross_product(invoke, fake_measure, workloads):
    result = invoke("compare", "leaky.py:step", "--workload", "clean.py:step",
                    "--modes", "strong,weak", "--iterations", "100", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert [(c.workload, c.mode) for c in fake_measure.configs] == [
        ("leaky.py:step", "strong"), ("leaky.py:step", "weak"),
        ("clean.py:step", "strong"), ("clean.py:step", "weak"),
    ]
    assert json.loads(result.stdout)["labels"] == [
        "leaky.py:step strong", "leaky.py:step weak", "clean.py:step strong", "clean.py:step weak"
    ]


def test_one_workload_still_compares_its_modes(invoke, fake_measure, workloads):
    result = invoke("compare", "--workload", "leaky.py:step", "--iterations", "100")

    assert result.exit_code == 0, result.stderr
    assert [(c.workload, c.label) for c in fake_measure.configs] == [
        ("leaky.py:step", "strong"), ("leaky.py:step", "weak")]
    assert "weak mode: " in " ".join(result.stdout.split())


def test_equal_short_names_are_told_apart_by_their_directories(invoke, fake_measure, workloads):
    for folder in ("before", "after"):
        (workloads / folder).mkdir()
        (workloads / folder / "train.py").write_text(CLEAN)

    result = invoke("compare", "--workload", "before/train.py:step",
                    "--workload", "after/train.py:step", "--iterations", "100",
                    "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["labels"] == ["before/train.py:step", "after/train.py:step"]


def test_unique_labels_grow_only_where_they_clash():
    assert unique_labels(["a/x/t.py:f", "b/x/t.py:f", "c/u.py:f", "seed"]) == [
        "a/x/t.py:f", "b/x/t.py:f", "u.py:f", "seed"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--workload", "leaky.py:step", "--workload", "./leaky.py:step"),
         "variant leaky.py:step is given more than once"),
        (("--workload", "leaky.py:step", "--modes", "strong"),
         "--modes needs at least two modes to compare one workload"),
        (("leaky.py:step --fast", "clean.py:step"), "a workload takes no arguments"),
        (("leaky.py:step", "'unclosed"), "cannot split"),
        (("leaky.py:step", "missing.py"), "program not found: missing.py"),
        (("missing.json",), "result file not found: missing.json"),
    ],
)
def test_bad_variants_are_one_line_and_exit_2(invoke, fake_measure, workloads, argv, message):
    result = invoke("compare", *argv)

    assert result.exit_code == 2
    assert result.stderr.startswith("agmem: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fake_measure.calls == []


def test_program_variants_carry_their_own_arguments(invoke, fake_measure, workloads):
    (workloads / "train.py").write_text("print('training')\n")

    result = invoke("compare", "train.py --fix --name 'run 2'", "train.py", "--format", "json")

    assert result.exit_code == 0, result.stderr
    programs = [config.program for config, _ in fake_measure.calls]
    assert programs == [("train.py", "--fix", "--name", "run 2"), ("train.py",)]
    assert json.loads(result.stdout)["labels"] == ["train.py --fix --name 'run 2'", "train.py"]


def test_a_missing_program_variant_is_refused_before_anything_runs(invoke, fake_measure):
    result = invoke("compare", "missing.py --fix", "seed")

    assert result.exit_code == 2
    assert "program not found: missing.py" in result.stderr
    assert fake_measure.calls == []


def _save_run(invoke, path: Path, *args: str) -> dict:
    result = invoke("run", *args, "--iterations", "100", "--format", "json", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    return json.loads(path.read_text())


def test_two_saved_runs_are_compared_as_saved_without_running(invoke, fake_measure, workloads):
    before = _save_run(invoke, workloads / "before.json", "--mode", "strong")
    after = _save_run(invoke, workloads / "after.json", "--mode", "weak")
    runs_so_far = len(fake_measure.calls)

    result = invoke("compare", "before.json", "after.json", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert len(fake_measure.calls) == runs_so_far  # nothing measured
    document = json.loads(result.stdout)
    assert document["labels"] == ["before.json", "after.json"]
    # the measurements are the saved documents, figure for figure
    assert document["measurements"] == [before, after]
    assert document["verdict"][0]["sentence"].startswith(
        "after.json: 20.0x lower peak growth than before.json")


def test_a_saved_run_against_a_workload_measured_now(invoke, fake_measure, workloads):
    saved = _save_run(invoke, workloads / "before.json", "--mode", "strong")

    result = invoke("compare", "before.json", "--workload", "clean.py:step",
                    "--iterations", "100", "--format", "json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["labels"] == ["before.json", "clean.py:step"]
    assert document["measurements"][0] == saved
    assert measurement_from_dict(document["measurements"][1]).config.workload == "clean.py:step"
    assert fake_measure.configs[-1].workload == "clean.py:step"


def test_a_saved_comparison_is_not_a_variant(invoke, fake_measure, workloads):
    result = invoke("compare", "--format", "json", "-o", "cmp.json")
    assert result.exit_code == 0, result.stderr

    refused = invoke("compare", "cmp.json", "cmp.json")

    assert refused.exit_code == 2
    assert "cmp.json is a saved comparison, not a run: render it with `agmem report cmp.json`" \
        in refused.stderr


def test_modes_cannot_remeasure_a_saved_run(invoke, fake_measure, workloads):
    _save_run(invoke, workloads / "before.json")

    result = invoke("compare", "before.json", "clean.py:step", "--modes", "strong,weak")

    assert result.exit_code == 2
    assert "before.json is saved as it was measured" in result.stderr


def test_a_variant_is_split_like_a_shell_line_so_quotes_keep_a_spaced_name(invoke, fake_measure,
                                                                            workloads):
    _save_run(invoke, workloads / "my run.json", "--mode", "strong")
    _save_run(invoke, workloads / "other.json")

    result = invoke("compare", "'my run.json'", "other.json", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["labels"] == ["my run.json", "other.json"]


def test_measurement_options_are_refused_when_nothing_is_measured(invoke, fake_measure,
                                                                 workloads):
    _save_run(invoke, workloads / "a.json", "--mode", "strong")
    _save_run(invoke, workloads / "b.json")

    result = invoke("compare", "a.json", "b.json", "--iterations", "500")

    assert result.exit_code == 2
    assert "--iterations applies to variants measured now" in result.stderr


def test_saved_runs_from_two_interpreters_say_which_ran_where(invoke, fake_measure, workloads):
    _save_run(invoke, workloads / "a.json", "--mode", "strong")
    document = _save_run(invoke, workloads / "b.json")
    document["environment"]["python_version"] = "3.12.1"
    (workloads / "b.json").write_text(json.dumps(document, indent=2) + "\n")

    result = invoke("compare", "a.json", "b.json")

    assert result.exit_code == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "a.json: CPython 3.11.7" in out and "b.json: CPython 3.12.1" in out
