"""Bad input: one line `agmem: error: …`, exit 2, and no run started."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograd_mem.cli.options import IntAtLeast, OneOf, check_writable
from autograd_mem.errors import UsageError


def _refused(result, fake_measure, message: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agmem: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert fake_measure.calls == []  # before any run
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "medium"], "unknown mode 'medium' for --mode (choose from strong, weak)"),
        (["--size", "0"], "--size must be a positive integer, got '0'"),
        (["--size", "ten"], "--size must be a positive integer, got 'ten'"),
        (["--size", "2.5"], "--size must be a positive integer, got '2.5'"),
        (["--iterations", "-5"], "--iterations must be a positive integer, got '-5'"),
        (["--depth", "0"], "--depth must be a positive integer, got '0'"),
        (["--repeat", "0"], "--repeat must be a positive integer, got '0'"),
        (["--seed", "-1"], "--seed must be an integer ≥ 0, got '-1'"),
        (["--gc", "sometimes"], "unknown collector policy 'sometimes' for --gc"),
        (["--sampler", "top"], "unknown sampler 'top' for --sampler"),
        (["--seed", "4294967296"], "--seed must be at most 4,294,967,295, got '4294967296'"),
        (["--sample-interval", "0"], "--sample-interval must be a finite number above 0, got '0'"),
        (["--sample-interval", "inf"], "--sample-interval must be a finite number above 0"),
        (["--format", "yaml"], "unknown format 'yaml' for --format"),
        (["--workload", "no_such_module_xyz:step"], "no_such_module_xyz"),
        (["--backward", "--no-grad"], "backward"),
    ],
)
def test_bad_run_options_are_refused_before_any_run(invoke, fake_measure, args, message):
    result = invoke("run", *args)

    _refused(result, fake_measure, message)


def test_a_workload_file_that_does_not_exist_is_refused(invoke, fake_measure, tmp_path):
    result = invoke("run", "--workload", f"{tmp_path / 'missing.py'}:step")

    _refused(result, fake_measure, "missing.py")


def test_output_in_a_missing_directory_is_refused(invoke, fake_measure, tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "out.json"

    result = invoke("run", "--output", str(target))

    _refused(result, fake_measure, "does not exist")


def test_output_that_is_a_directory_is_refused(invoke, fake_measure, tmp_path):
    result = invoke("run", "--svg", str(tmp_path))

    _refused(result, fake_measure, "is a directory, not a file")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_output_in_an_unwritable_directory_is_refused(invoke, fake_measure):
    # /proc refuses new files even to root, for whom permission bits mean nothing
    result = invoke("compare", "--html", "/proc/agmem-report.html")

    _refused(result, fake_measure, "--html '/proc/agmem-report.html' cannot be written")


@pytest.mark.parametrize(
    ("modes", "message"),
    [
        ("strong", "--modes needs at least two modes to compare"),
        ("strong,medium", "unknown mode 'medium' in --modes"),
        ("strong,weak/sometimes", "unknown collector policy 'sometimes' in --modes item"),
        ("weak,weak", "--modes lists weak more than once"),
        ("weak/auto,weak", "--modes lists weak more than once"),
    ],
)
def test_bad_modes_are_refused_before_any_run(invoke, fake_measure, modes, message):
    result = invoke("compare", "--modes", modes)

    _refused(result, fake_measure, message)


def test_click_usage_errors_also_exit_2(invoke, fake_measure):
    result = invoke("run", "--frobnicate")

    assert result.exit_code == 2
    assert "--frobnicate" in result.stderr
    assert fake_measure.calls == []


def test_param_types_accept_what_they_should():
    assert IntAtLeast(1).convert("10_000", None, None) == 10_000
    assert IntAtLeast(0).convert(0, None, None) == 0
    assert OneOf(("strong", "weak"), "mode").convert("Strong", None, None) == "strong"
    with pytest.raises(UsageError, match="value must be a positive integer"):
        IntAtLeast(1).convert(True, None, None)


def test_a_writable_path_passes_and_leaves_no_trace(tmp_path):
    check_writable(tmp_path / "report.svg", "--svg")

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--unknown"], "No such option '--unknown'"),
        (["run", "--mode", "strong", "--unknown", "x.py"], "No such option '--unknown'"),
        (["baseline", "save", "b.json", "--sizes", "5"], "No such option '--sizes'"),
        (["compare", "--mode", "strong"], "No such option '--mode'"),
        (["baseline", "save"], "Missing argument 'FILE'"),
        (["check", "--baseline"], "Option '--baseline' requires an argument"),
        (["nosuch"], "No such command 'nosuch'"),
        (["--bogus"], "No such option '--bogus'"),
    ],
)
def test_clicks_own_usage_errors_are_one_agmem_line_too(invoke, fake_measure, args, message):
    # when click itself refuses the command line (an option or argument it does not know)
    result = invoke(*args)

    # then the user sees agmem's one line and exit 2, not click's usage block
    _refused(result, fake_measure, message)


def test_agmem_alone_still_shows_the_help(invoke):
    result = invoke()

    assert result.exit_code == 2
    assert "Usage: agmem" in result.output
    assert "Exit codes:" in result.output
