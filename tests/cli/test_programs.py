"""Whole programs through the installed console script: ``agmem run|baseline save|check PROGRAM``.

Each test runs the real ``agmem`` in ``tests/programs`` on a fixture whose memory is
known by construction (a script that makes N cycles of K KiB, workers that each fill
M MiB), and checks agmem's figures against that, or against a second measure taken
independently while agmem runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from autograd_mem.analysis.compare import comparison_from_dict, format_ratio
from autograd_mem.schema.run import measurement_from_dict
from tests.cli.test_real_runs import agmem_command

PROGRAMS = Path(__file__).parent.parent / "programs"
KIB, MIB = 1024, 1024 * 1024


def agmem(
    *args: str, cwd: Path = PROGRAMS, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*agmem_command(), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, "COLUMNS": "120"},
                          stdin=subprocess.DEVNULL)


def run_json(*args: str) -> tuple[dict, subprocess.CompletedProcess[str]]:
    completed = agmem("run", "--format", "json", *args)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout), completed


def fixture_line(stderr: str) -> dict:
    """The ``agmem-fixture:`` line the program printed, shown on agmem's stderr as it came."""
    [line] = [line for line in stderr.splitlines() if line.startswith("agmem-fixture: ")]
    return json.loads(line.removeprefix("agmem-fixture: "))


# --- a script with arguments that leaks cycles --------------------------------------------


def test_a_leaking_script_runs_unchanged_with_its_arguments_and_its_cycles_are_found():
    # given a script that makes 200 self-referencing nodes of 64 KiB each (on 3.10 the
    # collector may run once or twice before it ends: argparse's objects count too)
    document, completed = run_json("--explain", "leaky_script.py", "--n", "200", "--kib", "64")

    # then it ran as __main__ with its own argv, its output on agmem's stderr only
    seen = fixture_line(completed.stderr)
    assert seen["name"] == "__main__" and seen["argv"][1:] == ["--n", "200", "--kib", "64"]
    assert seen["cwd"] == str(PROGRAMS)
    assert "made 12800 KiB in 200 steps" in completed.stderr
    measurement = measurement_from_dict(document)
    assert measurement.config.program == ("leaky_script.py", "--n", "200", "--kib", "64")
    assert measurement.exit_status == 0 and document["runs"][0]["exit_status"] == 0
    # and every buffer the collector did not free was still held at the end: each object
    # it collected freed at most one buffer
    collected = measurement.metrics.gc_collected
    assert measurement.metrics.peak_rss_growth_bytes >= (200 - collected) * 64 * KIB
    assert measurement.metrics.retained_bytes >= (200 - collected) * 64 * KIB
    # and the explain pass found exactly the 200 cycles the script made: those the
    # collector freed as it ran, and those still waiting for it when the script ended
    explained = measurement.explain
    nodes = [s for s in (*explained.shapes, *explained.waiting.shapes) if "Node" in s.types]
    assert sum(shape.cycles for shape in nodes) == 200
    for shape in nodes:
        assert shape.allocated_at is not None
        assert shape.allocated_at.file.endswith("leaky_script.py")


def test_with_the_collector_off_every_buffer_the_script_made_is_growth():
    # (the bound above is loose when the collector ran: here it cannot, and growth and
    # retained bytes are the 200 x 64 KiB made, plus at most the 1 MiB that argparse and
    # the interpreter's own allocations take)
    document, _ = run_json("--gc", "off", "leaky_script.py", "--n", "200", "--kib", "64")

    metrics = measurement_from_dict(document).metrics
    made = 200 * 64 * KIB
    assert metrics.gc_collected == 0
    assert made <= metrics.peak_rss_growth_bytes < made + 1024 * KIB
    assert made <= metrics.retained_bytes < made + 1024 * KIB


def test_the_fixed_script_holds_one_buffer_at_a_time_and_leaves_no_cycle():
    document, _ = run_json("--explain", "leaky_script.py", "--n", "200", "--kib", "64", "--fix")

    measurement = measurement_from_dict(document)
    assert measurement.metrics.peak_rss_growth_bytes < 200 * 64 * KIB / 4
    explained = measurement.explain
    assert not [s for s in (*explained.shapes, *explained.waiting.shapes) if "Node" in s.types]


def test_the_table_reads_in_seconds_and_shows_the_command_as_typed():
    completed = agmem("run", "-q", "leaky_script.py", "--n", "20", "--kib", "16")

    assert completed.returncode == 0, completed.stderr
    table = completed.stdout
    assert "agmem run  leaky_script.py --n 20 --kib 16 · gc auto · exit status 0" in table
    assert "Wall time (the program's run)" in table and "per iteration" not in table
    assert "time →" in table and "iteration →" not in table
    assert "RSS over time, in seconds" in table
    assert "Peak RSS of child processes (sampled)" in table
    assert "Floor" not in table  # a program has no analytical floor
    assert completed.stderr == ""  # --quiet: the program's output stays in the log


# --- a -m module ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "module", "spec"),
    [(["-m", "leakpkg.run"], "leakpkg.run", "leakpkg.run"),
     (["-mleakpkg"], "leakpkg", "leakpkg.__main__")],
)
def test_a_module_runs_as_python_m_runs_it_and_its_cycles_are_found(words, module, spec):
    document, completed = run_json("--explain", *words, "--n", "30")

    seen = fixture_line(completed.stderr)
    assert seen["main_spec"] == spec and seen["argv"][1:] == ["--n", "30"]
    assert seen["path0"] == str(PROGRAMS)
    measurement = measurement_from_dict(document)
    assert measurement.config.program == ("-m", module, "--n", "30")
    # the 30 dicts pointing at themselves die with main()'s list: 30 cycles
    explained = measurement.explain
    [shape] = [s for s in (*explained.shapes, *explained.waiting.shapes) if s.types == ("dict",)]
    assert shape.cycles == 30


# --- a script that exits with status 3 ------------------------------------------------------


def test_a_failing_program_passes_its_status_on_with_the_tail_of_its_stderr_and_a_report():
    completed = agmem("run", "-q", "exit3.py")

    assert completed.returncode == 3
    assert "agmem: error: the program exited with status 3: exit3.py" in completed.stderr
    # its stderr's last lines, not its stdout
    assert "exit3: the data is corrupt\nexit3: giving up" in completed.stderr
    assert "writes to stdout first" not in completed.stderr
    assert "exit status 3" in completed.stdout  # the report is still shown


def test_a_quiet_failing_program_that_wrote_nothing_to_stderr_is_not_said_to_have_shown_it(
    tmp_path,
):
    # given a program that reports on stdout and exits 1 (as linters do)
    (tmp_path / "lint.py").write_text("import sys\nprint('lint: 1 problem')\nsys.exit(1)\n")
    completed = agmem("run", "-q", str(tmp_path / "lint.py"))

    assert completed.returncode == 1  # the program's own status, passed on
    assert "(it wrote nothing to stderr)" in completed.stderr
    assert "(its output is above)" not in completed.stderr


def test_a_failing_programs_json_carries_its_exit_status_and_its_output_is_not_repeated():
    completed = agmem("run", "--format", "json", "exit3.py")

    assert completed.returncode == 3
    document = json.loads(completed.stdout)
    assert document["runs"][0]["exit_status"] == 3
    # shown once, as it came, with the error saying where
    assert completed.stderr.count("exit3: giving up") == 1
    assert "(its output is above)" in completed.stderr


def test_usage_errors_around_programs_are_one_line():
    cases = {
        ("run", "--workload", "mlp", "leaky_script.py"): "--workload sets a workload's run",
        ("run", "--iterations", "5", "--", "leaky_script.py"): "--iterations sets a workload's run",
        ("run", "--stdin"): "--stdin gives a program agmem's stdin, and no program was given",
        ("run", "missing.py"): "program not found: missing.py",
        ("run", "-m", "nosuchpkg_xyz"): "cannot find module 'nosuchpkg_xyz'",
        ("run", "--", "--modee"): "no such option: --modee",
    }
    for args, message in cases.items():
        completed = agmem(*args)
        assert completed.returncode == 2, (args, completed.stderr)
        assert completed.stderr.count("\n") == 1 and message in completed.stderr, args


# --- worker processes -----------------------------------------------------------------------


def _watch_workers(agmem_process: subprocess.Popen[str], peaks: list[int], done: threading.Event):
    """An independent measure: psutil's own walk of the tree under agmem's measured child,
    summing the RSS of the child's descendants (the workers) every 5 ms."""
    root = psutil.Process(agmem_process.pid)
    while not done.is_set():
        try:
            measured = [
                p for p in root.children() if "autograd_mem.measure.child" in " ".join(p.cmdline())
            ]
            total = 0
            for measured_child in measured:
                for worker in measured_child.children(recursive=True):
                    total += worker.memory_info().rss
            peaks.append(total)
        except psutil.Error:
            pass
        time.sleep(0.005)


def test_worker_processes_are_measured_with_the_program():
    # given a program whose two workers each fill 50 MiB and hold it for 0.6 s
    command = [*agmem_command(), "run", "--format", "json", "workers.py", "--mib", "50",
               "--hold", "0.6"]
    process = subprocess.Popen(command, cwd=PROGRAMS, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    peaks: list[int] = []
    done = threading.Event()
    watcher = threading.Thread(target=_watch_workers, args=(process, peaks, done))
    watcher.start()
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        done.set()
        watcher.join()
    assert process.returncode == 0, stderr
    metrics = measurement_from_dict(json.loads(stdout)).metrics
    # then the report holds the workers' 100 MiB (less a sampling margin)...
    assert metrics.children_peak_rss_bytes >= 90 * MIB
    # ... as the independent walk saw them, within 15%
    independent = max(peaks)
    assert 0.85 * independent <= metrics.children_peak_rss_bytes <= 1.15 * independent
    assert metrics.tree_peak_rss_bytes >= metrics.children_peak_rss_bytes
    timeline = json.loads(stdout)["timeline"]
    assert max(timeline["children_rss_bytes"]) == metrics.children_peak_rss_bytes


def test_workers_die_with_the_program_on_timeout():
    # given workers (default start method) that would hold their memory for a minute
    completed = agmem("run", "--timeout", "3", "workers.py", "--mib", "5", "--hold", "60")

    assert completed.returncode == 3
    assert "timed out after 3 s" in completed.stderr
    pids = [int(p) for p in re.findall(r"worker (\d+) ready", completed.stderr)]
    assert len(pids) == 2
    # then none of them outlived agmem (a zombie waiting for init to reap it is dead)
    time.sleep(0.2)
    for pid in pids:
        alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        assert not alive, pid


# --- baseline save and check ----------------------------------------------------------------


def test_a_programs_baseline_is_saved_and_checked(tmp_path):
    shutil.copy(PROGRAMS / "leaky_script.py", tmp_path)
    shutil.copy(PROGRAMS / "_report.py", tmp_path)
    base = tmp_path / "base.json"
    saved = agmem("baseline", "save", str(base), "--repeat", "1", "-q", "leaky_script.py",
                  "--n", "50", cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    assert json.loads(base.read_text())["config"]["program"] == ["leaky_script.py", "--n", "50"]

    checked = agmem("check", "--baseline", str(base), cwd=tmp_path)

    assert checked.returncode == 0, checked.stderr
    assert "agmem: checking program leaky_script.py --n 50, named by baseline" in checked.stderr
    assert "leaky_script.py --n 50 · gc auto · exit status 0" in checked.stdout
    assert "PASS" in checked.stdout


def test_a_baselines_program_outside_this_tree_runs_only_when_named(tmp_path):
    base = tmp_path / "base.json"
    script = str(PROGRAMS / "leaky_script.py")
    saved = agmem("baseline", "save", str(base), "--repeat", "1", "-q", script, "--n", "10")
    assert saved.returncode == 0, saved.stderr

    refused = agmem("check", "--baseline", str(base), cwd=tmp_path)
    named = agmem("check", "--baseline", str(base), "-q", script, "--n", "10", cwd=tmp_path)

    assert refused.returncode == 2
    assert "lies outside the current directory" in refused.stderr
    assert named.returncode == 0, named.stderr


def test_a_budget_catches_a_program_leaving_cycles_to_the_collector():
    # 2,000 nodes: enough allocations for the collector to run, and find cycles
    completed = agmem("check", "--max-collected", "0", "-q", "leaky_script.py", "--n", "2000",
                      "--kib", "1")

    assert completed.returncode == 1, completed.stderr
    assert "gc_collected" in completed.stdout and "over budget" in completed.stdout


# --- a comparison of two scripts ------------------------------------------------------------


def test_two_scripts_compare_side_by_side_with_a_verdict_in_their_own_words():
    # given the training pair that differs in one line, the reference mode
    completed = agmem("compare", "--format", "json", "train_leaky.py --steps 100",
                      "train_fixed.py --steps 100")

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""  # not a terminal; a compared program's output stays in its log
    document = json.loads(completed.stdout)
    assert document["labels"] == ["train_leaky.py --steps 100", "train_fixed.py --steps 100"]
    comparison = comparison_from_dict(document)
    leaky, fixed = comparison.measurements
    assert leaky.config.program == ("train_leaky.py", "--steps", "100")
    # strong graphs are cycles: the collector frees them; weak graphs die by refcount
    assert fixed.metrics.gc_collected < leaky.metrics.gc_collected
    assert fixed.metrics.peak_rss_growth_bytes < leaky.metrics.peak_rss_growth_bytes
    factor = leaky.metrics.peak_rss_growth_bytes / fixed.metrics.peak_rss_growth_bytes
    sentence = document["verdict"][0]["sentence"]
    assert sentence.startswith(
        f"train_fixed.py --steps 100: {format_ratio(factor)} lower peak growth than "
        "train_leaky.py --steps 100"
    )
    assert f"vs {leaky.metrics.gc_collected:,}" in sentence


def test_modules_compare_after_a_double_dash_and_a_failing_variant_exits_3():
    modules = agmem("compare", "-q", "--", "-m leakpkg.run --n 10", "-m leakpkg --n 20")
    failing = agmem("compare", "-q", "leaky_script.py --n 5", "exit3.py")

    assert modules.returncode == 0, modules.stderr
    assert "-m leakpkg.run --n 10" in modules.stdout and "-m leakpkg --n 20" in modules.stdout
    assert failing.returncode == 3
    # not shown as it came (a comparison keeps its programs' output): the tail says why
    assert "exit3: giving up" in failing.stderr


def test_comparing_scripts_that_only_define_step_suggests_file_step(invoke, fake_measure,
                                                                     tmp_path, monkeypatch):
    # given the README's before.py and after.py: each defines step and runs nothing
    monkeypatch.chdir(tmp_path)
    for name in ("before.py", "after.py"):
        (tmp_path / name).write_text("def step(i):\n    return [i]\n")

    result = invoke("compare", "before.py", "after.py")

    assert result.exit_code == 0
    for name in ("before.py", "after.py"):
        assert f"warning: {name} defines step() but runs nothing" in result.stderr
        assert f"name it {name}:step" in result.stderr
    # and a script that runs its code gets no such warning
    (tmp_path / "runs.py").write_text("def step(i):\n    return [i]\nstep(0)\n")
    assert "warning" not in invoke("run", "runs.py").stderr
