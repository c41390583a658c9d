"""``agmem baseline save``: a real save, refusals before running, and a save killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograd_mem._version import __version__, engine_revision
from autograd_mem.cli import cli
from autograd_mem.measure import runner
from autograd_mem.schema import saved as saved_file

SMALL = ["--iterations", "100", "--size", "1000"]
PREVIOUS = '{"previous": "a complete baseline"}\n'


def agmem(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_save_writes_a_baseline_of_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    # when a weak-mode seed configuration is saved with two runs
    code, out, err = agmem("baseline", "save", str(path), "--mode", "weak", "--repeat", "2",
                           *SMALL)
    # then the file holds the configuration, the environment and both runs' spread
    assert code == 0, err
    assert out == ""
    saved = saved_file.read_baseline(path)
    assert (saved.config.mode, saved.config.iterations, saved.config.size) == ("weak", 100, 1000)
    assert saved.runs == 2
    assert saved.metrics_min.peak_rss_growth_bytes <= saved.metrics_max.peak_rss_growth_bytes
    assert saved.environment.python_version == ".".join(map(str, sys.version_info[:3]))
    assert f"saved baseline {path} (weak mode, 2 runs)" in err


def test_the_default_is_three_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def refuse(config, **_):  # records the configuration, then stops before any run
        seen.append(config)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "measure", refuse)
    code, _, _ = agmem("baseline", "save", str(tmp_path / "base.json"))
    assert code == 130
    assert seen[0].repeat == 3
    assert not (tmp_path / "base.json").exists()
    code, out, _ = agmem("baseline", "save", "--help")
    assert "[default: 3]" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing-dir/base.json"], "directory"),
        (["{tmp}"], "is a directory"),
        (["{tmp}/base.json", "--size", "0"], "--size must be a positive integer"),
        (["{tmp}/base.json", "--workload", "nowhere_module:step"], "nowhere_module"),
    ],
)
def test_bad_input_is_refused_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("measured despite bad input")

    monkeypatch.setattr(runner, "measure", must_not_run)
    code, _, err = agmem("baseline", "save", *[a.format(tmp=tmp_path) for a in args])
    assert code == 2
    assert err.startswith("agmem: error: ") and message in err


def test_a_failed_run_leaves_the_previous_baseline(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_text(PREVIOUS)
    workload = tmp_path / "broken.py"
    workload.write_text("def step(i):\n    raise ValueError('broken step')\n")
    code, _, err = agmem("baseline", "save", str(path), "--update",
                         "--workload", f"{workload}:step", "--iterations", "3")
    assert code == 3
    assert "broken step" in err
    assert path.read_text() == PREVIOUS


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_killed_while_measuring_the_previous_baseline_is_intact(tmp_path: Path) -> None:
    # given a complete baseline and a save whose workload takes its time
    path = tmp_path / "base.json"
    path.write_text(PREVIOUS)
    started = tmp_path / "started"
    workload = tmp_path / "slow.py"
    workload.write_text(textwrap.dedent(f"""
        import pathlib, time
        def step(i):
            pathlib.Path({str(started)!r}).touch()
            time.sleep(0.05)
    """))
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd_mem", "baseline", "save", str(path), "--quiet", "--update",
         "--workload", f"{workload}:step", "--iterations", "2000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        # when the whole process group is killed while the workload runs
        wait_for(started.exists)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    # then the previous baseline is there, whole
    assert path.read_text() == PREVIOUS


# A child that saves a baseline whose write stalls after the temporary file is full
# and flushed, just before the rename: the riskiest moment to be killed.
STALLED_SAVE = """
import os, sys, time
from autograd_mem.measure import runner
from autograd_mem.cli import main
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Environment, Measurement, Metrics, RunResult

def measure(config, **_):
    metrics = Metrics(1, 2, 1, 2, None, 0, 0, 0, 0, (0, 0, 0), (0, 0, 0), (0, 0, 0), 0, 0,
                      0.0, 0.0, 0.1, 0.001)
    env = Environment("3", "CPython", "2", "Linux", ("0", "1", "2"), "generational", (700, 10, 10))
    return Measurement(config=config, environment=env, runs=(RunResult(metrics=metrics),))

def stall(fd):
    print("writing", flush=True)
    time.sleep(60)

runner.measure = measure
os.fsync = stall
sys.exit(main(["baseline", "save", sys.argv[1], "--quiet", "--update"]))
"""


@pytest.mark.parametrize("previous", [PREVIOUS, None])
def test_killed_mid_write_the_file_is_old_or_absent_never_half(
    tmp_path: Path, previous: str | None
) -> None:
    path = tmp_path / "base.json"
    if previous is not None:
        path.write_text(previous)
    process = subprocess.Popen(
        [sys.executable, "-c", STALLED_SAVE, str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # when the save is killed with its new content written but not yet renamed
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == "writing\n", process.stderr.read() if process.stderr else ""
        temporaries = list(tmp_path.glob(".base.json.*.tmp"))
        assert len(temporaries) == 1
        assert json.loads(temporaries[0].read_text())["kind"] == "baseline"
        process.kill()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # then the target is the previous complete content, or absent
    if previous is None:
        assert not path.exists()
    else:
        assert path.read_text() == previous


def test_an_existing_baseline_is_rewritten_only_with_update(tmp_path: Path) -> None:
    # given a baseline file already there
    path = tmp_path / "base.json"
    path.write_text(PREVIOUS)
    # when saved over without --update, it is refused before any run, and kept
    code, _, err = agmem("baseline", "save", str(path), "--repeat", "1", "--iterations", "50")
    assert code == 2
    assert err == f"agmem: error: baseline {path} exists: give --update to rewrite it (see " \
        "`agmem check` to compare against it)\n"
    assert path.read_text() == PREVIOUS
    # and with --update it is rewritten, recording where it came from
    code, _, err = agmem("baseline", "save", str(path), "--update", "--repeat", "1",
                         "--iterations", "50")
    assert code == 0, err
    document = json.loads(path.read_text())
    assert document["engine_revision"] == engine_revision()
    assert document["tool"]["version"] == __version__
    assert set(document["environment"]) >= {"python_version", "numpy_version", "gc_layout",
                                             "gc_threshold", "gc_generations"}
