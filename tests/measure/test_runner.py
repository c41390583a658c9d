"""Tests for the runner: real measurements in fresh children, their figures, and every fault."""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from autograd_mem.errors import RunFailedError, UsageError, WorkloadError
from autograd_mem.measure import outcome, runner
from autograd_mem.probes import gc_probe, rss
from autograd_mem.schema.config import RunConfig

# The acceptance figures: seed at size 10,000 and depth 3 holds 4 arrays of
# 80,000 bytes per iteration; at 200 iterations with the collector off, strong mode
# keeps every graph.
ITERATIONS = 200
GRAPH_VARIABLES = 4
GRAPH_BYTES = 4 * 80_000


def seed(mode: str, gc_policy: str, **changes: object) -> RunConfig:
    return RunConfig(mode=mode, gc_policy=gc_policy, iterations=ITERATIONS, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def strong_off():
    return runner.measure(seed("strong", "off", explain=True))


@pytest.fixture(scope="module")
def weak_off():
    return runner.measure(seed("weak", "off", explain=True))


@pytest.fixture(scope="module")
def strong_auto():
    return runner.measure(seed("strong", "auto", repeat=3, tracemalloc=True))


def test_strong_mode_without_the_collector_keeps_every_graph(strong_off):
    metrics = strong_off.metrics
    assert metrics.live_variables_end == ITERATIONS * GRAPH_VARIABLES
    assert metrics.gc_collections == (0, 0, 0)
    expected = ITERATIONS * GRAPH_BYTES
    assert abs(metrics.peak_rss_growth_bytes - expected) <= 0.15 * expected
    assert strong_off.representative.peak_rss_source == "VmHWM"


def test_weak_mode_without_the_collector_keeps_one_graph_at_the_floor(weak_off):
    metrics = weak_off.metrics
    assert metrics.live_variables_end <= GRAPH_VARIABLES
    assert metrics.floor_bytes == 2 * GRAPH_BYTES
    # weak mode stays near the floor (RSS moves by whole pages, hence the slack below it)
    assert 0.9 * metrics.floor_bytes <= metrics.peak_rss_growth_bytes <= 3 * metrics.floor_bytes


def test_explain_finds_graphs_in_strong_garbage_and_none_in_weak(strong_off, weak_off):
    strong = strong_off.explain
    assert strong is not None
    # with the collector off, no collection ran in the window: the one after it found
    # every graph, still waiting for the collector
    assert strong.collections == 0 and strong.garbage_objects == 0
    waiting = strong.waiting
    assert waiting.cycles > 0
    # every graph but the last, which the step still holds when the window ends
    assert strong.array_bytes_held == (ITERATIONS - 1) * GRAPH_BYTES
    # the notebook's cycle, held directly: output Variable -> creator -> outputs -> itself
    assert strong.example_cycle == ("Variable", "Square", "tuple", "Variable")
    # only the graphs' own objects: none of agmem's bookkeeping is reported as garbage
    assert {t for shape in waiting.shapes for t in shape.types} == {"Square", "Variable", "tuple"}
    assert sum(shape.objects for shape in waiting.shapes) == waiting.garbage_objects
    assert waiting.garbage_objects >= (ITERATIONS - 1) * GRAPH_VARIABLES
    weak = weak_off.explain
    assert weak is not None
    assert dict(weak.garbage_by_type) == {}
    assert weak.collections == 0 and weak.waiting.garbage_objects == 0
    assert weak.example_cycle == ()


def test_explain_pass_does_not_touch_the_main_runs_figures(strong_off):
    # one explain report per measurement, on the representative run only
    assert [r.explain is not None for r in strong_off.runs] == [True]
    assert strong_off.metrics.gc_collected == 0


def test_the_collector_frees_strong_graphs_when_on(strong_auto):
    metrics = strong_auto.metrics
    assert metrics.gc_collected > 0
    buckets = strong_auto.gc_buckets
    metrics = strong_auto.representative.metrics  # the run whose series the top level holds
    # every collection is in a bucket, and the buckets add up to the exact totals
    per_generation = [sum(column) for column in zip(*buckets.collections, strict=True)]
    assert per_generation == list(metrics.gc_collections)
    assert sum(buckets.collected) == metrics.gc_collected
    assert max(buckets.pause_seconds_max) == metrics.gc_max_pause_seconds
    assert metrics.live_variables_end < ITERATIONS * GRAPH_VARIABLES
    longest = strong_auto.gc_longest_pauses
    assert 0 < len(longest) <= min(sum(metrics.gc_collections), 32)
    assert max(e.pause_seconds for e in longest) == metrics.gc_max_pause_seconds
    for event in longest:
        assert 0 <= event.iteration < ITERATIONS
        assert event.pause_seconds >= 0


def test_repeats_give_identical_counts_and_close_rss(strong_auto):
    runs = strong_auto.runs
    assert len(runs) == 3

    def counts(m):
        return (
            m.live_variables_end,
            m.live_functions_end,
            m.max_live_variables,
            m.gc_collections,
            m.gc_collected_per_generation,
            m.tracemalloc_peak_bytes,
            m.tracemalloc_current_bytes,
        )

    assert len({counts(r.metrics) for r in runs}) == 1
    growths = [r.metrics.peak_rss_growth_bytes for r in runs]
    median = statistics.median(growths)
    assert all(abs(g - median) <= 0.05 * median for g in growths)
    # the measurement reports the median and the spread of each metric
    assert strong_auto.metrics_min.peak_rss_growth_bytes == min(growths)
    assert strong_auto.metrics_max.peak_rss_growth_bytes == max(growths)
    assert strong_auto.metrics.peak_rss_growth_bytes in growths


def test_mlp_trains_in_a_child_with_its_floor():
    metrics = runner.measure(RunConfig(workload="mlp", size=1_000, iterations=50)).metrics
    assert metrics.floor_bytes is not None
    assert metrics.peak_rss_growth_bytes >= 0.9 * metrics.floor_bytes
    assert metrics.max_live_variables > metrics.live_variables_end > 0


# The child's measure() in a fresh interpreter, gc.get_stats() read around its window
# (before the window's own set-up collection, which the readings therefore include), so
# the per-generation counts the child reports can be checked against the collector's.
CHILD_WITH_STATS_DELTA = """
import dataclasses, gc, json, sys
from autograd_mem.measure import workload_pass as child
from autograd_mem.probes import gc_probe
from autograd_mem.schema.config import RunConfig

readings = []
run_window = child.run_window

def read():
    reading = gc_probe.new_stats_reading()
    gc_probe.read_stats_into(reading)
    return gc_probe.stats_of(reading)

def kept_window(*args, **kwargs):
    before = read()
    window = run_window(*args, **kwargs)
    readings.append(gc_probe.stats_delta(before, read()))
    return window

child.run_window = kept_window
document = child.measure(RunConfig(**json.loads(sys.argv[1])))
print(json.dumps({"metrics": dataclasses.asdict(document.run.metrics), "delta": readings[0]}))
"""


def test_child_callbacks_agree_with_get_stats_over_the_same_span():
    # given the child's measurement of strong/auto, run in a fresh interpreter
    config = dataclasses.asdict(seed("strong", "auto"))
    out = subprocess.run(
        [sys.executable, "-c", CHILD_WITH_STATS_DELTA, json.dumps(config)],
        capture_output=True, text=True, check=True,
    )
    document = json.loads(out.stdout)
    # then the per-generation counts it reports are the collector's own deltas
    layout = gc_probe.detect_layout()
    counts, collected, uncollectable = document["delta"]
    # less the window's one set-up collection, a full one, which found nothing new: the
    # child had just collected
    counts[-1] -= 1
    metrics = document["metrics"]
    assert metrics["gc_collections"] == list(layout.fold(counts))
    assert metrics["gc_collected_per_generation"] == list(layout.fold(collected))
    assert metrics["gc_uncollectable_per_generation"] == list(layout.fold(uncollectable))
    assert sum(metrics["gc_collections"]) > 0


def test_timeline_aligns_samples_with_iterations(tmp_path, monkeypatch):
    # given a user workload slow enough for many 10 ms samples
    (tmp_path / "slow.py").write_text(
        "import time\nimport numpy as np\nblocks = []\n"
        "def step(i):\n    blocks.append(np.ones(100_000))\n    time.sleep(0.004)\n"
    )
    monkeypatch.chdir(tmp_path)
    measurement = runner.measure(RunConfig(workload="slow.py:step", iterations=60))
    timeline = measurement.timeline
    # then samples lie within the workload, in order, each tagged with its iteration
    assert len(timeline.seconds) >= 5
    assert list(timeline.seconds) == sorted(timeline.seconds)
    assert list(timeline.iteration) == sorted(timeline.iteration)
    assert all(0 <= i < 60 for i in timeline.iteration)
    assert timeline.rss_bytes[-1] > timeline.rss_bytes[0]
    assert measurement.metrics.floor_bytes is None
    assert timeline.seconds[-1] <= measurement.metrics.wall_seconds


def test_a_timeline_starts_at_0_and_ends_at_the_end_with_the_childs_own_readings():
    # given a run much shorter than the sampling interval (10 ms): no parent sample in it
    measurement = runner.measure(RunConfig(mode="weak", size=100, iterations=20,
                                           sample_interval_seconds=0.5))
    timeline, metrics = measurement.timeline, measurement.metrics
    # then the timeline still starts at iteration 0, 0 s, with the baseline RSS the
    # child read, and ends at the last iteration with the RSS it read at the end
    assert (timeline.seconds[0], timeline.iteration[0]) == (0.0, 0)
    assert timeline.rss_bytes[0] == timeline.rss_bytes_min[0] == metrics.baseline_rss_bytes
    assert timeline.iteration[-1] == 19
    assert timeline.rss_bytes[-1] == metrics.end_rss_bytes
    assert timeline.seconds[-1] == pytest.approx(metrics.wall_seconds)


def test_memory_profiler_sampler_and_optional_probes(tmp_path, monkeypatch):
    config = RunConfig(
        iterations=50, size=1_000, sampler="memory_profiler", tracemalloc=True, uss=True
    )
    metrics = runner.measure(config).metrics
    assert metrics.tracemalloc_peak_bytes is not None and metrics.tracemalloc_peak_bytes > 0
    assert metrics.uss_end_bytes is not None and metrics.uss_end_bytes > 0


def test_workload_output_stays_out_of_stdout(tmp_path, monkeypatch, capfd):
    (tmp_path / "chatty.py").write_text("def step(i):\n    print('hello from the workload')\n")
    monkeypatch.chdir(tmp_path)
    runner.measure(RunConfig(workload="chatty.py:step", iterations=5))
    assert "hello from the workload" not in capfd.readouterr().out


def test_progress_reports_each_run(tmp_path, monkeypatch):
    (tmp_path / "slow.py").write_text("import time\ndef step(i):\n    time.sleep(0.01)\n")
    monkeypatch.chdir(tmp_path)
    seen: list[runner.Progress] = []
    config = RunConfig(workload="slow.py:step", iterations=30, repeat=2)
    runner.measure(config, on_progress=seen.append)
    assert {p.run_index for p in seen} == {0, 1}
    # (an update before the sampler's first reading has no RSS yet: None, not 0)
    assert all(p.runs_total == 2 and (p.rss_bytes is None or p.rss_bytes > 0) for p in seen)
    assert any(p.rss_bytes is not None for p in seen)


# --- bad input and faults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "medium"}, "unknown mode"),
        ({"gc_policy": "sometimes"}, "unknown collector policy"),
        ({"sampler": "guess"}, "unknown sampler"),
        ({"size": 0}, "size must be a positive integer"),
        ({"depth": 0}, "depth must be a positive integer"),
        ({"iterations": -1}, "iterations must be a positive integer"),
        ({"repeat": 0}, "repeat must be a positive integer"),
        ({"sample_interval_seconds": 0}, "sample_interval_seconds must be a finite number"),
        ({"backward": True, "no_grad": True}, "cannot be combined"),
    ],
)
def test_bad_values_are_refused_before_any_run(changes, message):
    with pytest.raises(UsageError, match=message):
        runner.validate(RunConfig(**changes))  # type: ignore[arg-type]


def test_unknown_workload_is_refused():
    with pytest.raises(WorkloadError, match="unknown workload 'sead'"):
        runner.measure(RunConfig(workload="sead"))


def test_missing_function_is_refused_before_any_run(tmp_path, monkeypatch):
    (tmp_path / "work.py").write_text("def other(i):\n    pass\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkloadError, match="has no function 'step'"):
        runner.measure(RunConfig(workload="work.py:step"))


def test_unimportable_module_is_a_workload_error_from_the_child(tmp_path, monkeypatch):
    # given a module the parent finds but that fails when the child imports it
    (tmp_path / "needs_missing.py").write_text(
        "import no_such_dependency_xyz\ndef step(i):\n    pass\n"
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkloadError, match="no_such_dependency_xyz") as caught:
        runner.measure(RunConfig(workload="needs_missing:step", iterations=5))
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "source",
    ["def step():\n    pass\n", "def step(i, j):\n    pass\n", "step = 3\n"],
    ids=["no-argument", "two-arguments", "not-callable"],
)
def test_a_function_that_cannot_take_the_iteration_index_is_a_workload_error(
    tmp_path, monkeypatch, source
):
    # given a workload whose function cannot be called as function(iteration_index)
    (tmp_path / "work.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    # when it is measured, then one line says so (exit 2), not the workload's traceback
    with pytest.raises(WorkloadError, match=r"work\.py:step") as caught:
        runner.measure(RunConfig(workload="work.py:step", iterations=5))
    assert caught.value.exit_code == 2
    assert "Traceback" not in (caught.value.detail or "")
    assert caught.value.message not in (caught.value.detail or "")


def test_a_function_with_defaults_or_star_args_is_a_valid_workload(tmp_path, monkeypatch):
    (tmp_path / "work.py").write_text("def step(*args, scale=2):\n    pass\n")
    monkeypatch.chdir(tmp_path)
    measurement = runner.measure(RunConfig(workload="work.py:step", iterations=5))
    assert measurement.metrics.wall_seconds > 0


def test_exception_inside_the_workload_fails_the_run_with_its_traceback(tmp_path, monkeypatch):
    (tmp_path / "bad.py").write_text("def step(i):\n    if i == 2:\n        1 / 0\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunFailedError, match="ZeroDivisionError") as caught:
        runner.measure(RunConfig(workload="bad.py:step", iterations=10))
    assert caught.value.exit_code == 3
    assert caught.value.detail is not None and "1 / 0" in caught.value.detail


def test_child_killed_by_a_signal_names_it(tmp_path, monkeypatch):
    (tmp_path / "dies.py").write_text(
        "import os, signal, sys\n"
        "def step(i):\n    print('about to die', file=sys.stderr)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    monkeypatch.chdir(tmp_path)
    # (the kernel's OOM count did not move, so the OOM killer is not blamed)
    killed = r"killed by SIGKILL \(sent by the program itself or by another process"
    with pytest.raises(RunFailedError, match=killed) as caught:
        runner.measure(RunConfig(workload="dies.py:step", iterations=5))
    assert caught.value.detail is not None and "about to die" in caught.value.detail


def test_floor_above_available_memory_is_refused_unless_forced(monkeypatch):
    # given a machine that (as the runner is told) has 100 kB available
    monkeypatch.setattr(rss, "available_memory_bytes", lambda: 100_000)
    config = RunConfig(iterations=5, size=10_000)
    # then the seed's 640 kB floor is refused before any child starts
    with pytest.raises(UsageError, match="floor"):
        runner.measure(config)
    # and forcing runs it anyway
    assert runner.measure(config, force=True).metrics.live_variables_end == 4


def test_huge_floor_is_refused_on_this_machine():
    with pytest.raises(UsageError, match="floor"):
        runner.measure(RunConfig(size=10**13, iterations=1))


def test_interrupt_kills_and_reaps_the_child(tmp_path, monkeypatch):
    (tmp_path / "forever.py").write_text("import time\ndef step(i):\n    time.sleep(1)\n")
    monkeypatch.chdir(tmp_path)

    def interrupt(progress: runner.Progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.measure(RunConfig(workload="forever.py:step", iterations=100), on_progress=interrupt)
    children = psutil.Process().children(recursive=True)
    assert not [c for c in children if "autograd_mem.measure.child" in " ".join(c.cmdline())]


def test_no_result_file_is_left_behind(tmp_path, monkeypatch):
    # the scratch directory of a failed child is removed with its half-results
    (tmp_path / "bad.py").write_text("def step(i):\n    raise ValueError('no')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(RunFailedError):
        runner.measure(RunConfig(workload="bad.py:step", iterations=3))
    assert list(Path(tmp_path / "scratch").iterdir()) == []


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"backward": True, "depth": 1},
        {"no_grad": True},
        {"workload": "mlp"},
        {"workload": "mlp", "no_grad": True},
    ],
    ids=["seed", "seed-backward-depth-1", "seed-no-grad", "mlp", "mlp-no-grad"],
)
def test_floor_never_exceeds_what_the_iterations_really_allocated(changes):
    # given a built-in workload traced by tracemalloc, which numpy tells of every buffer
    config = RunConfig(size=2_000, iterations=20, tracemalloc=True, **changes)  # type: ignore[arg-type]
    # when it is measured
    metrics = runner.measure(config).metrics
    # then its floor, a lower bound on what the iterations keep alive at their peak,
    # is at most the peak of what they allocated (the trace starts with the iterations,
    # after the workload's own data and parameters were made)
    assert metrics.tracemalloc_peak_bytes is not None
    assert 0 < metrics.floor_bytes <= metrics.tracemalloc_peak_bytes


def test_agmem_bookkeeping_is_not_counted_as_the_workloads_growth():
    # given a workload that keeps almost nothing (two graphs of 8-byte arrays) run for
    # many iterations, for which agmem keeps 24 bytes per iteration of its own
    iterations = 100_000
    config = RunConfig(size=1, iterations=iterations, mode="weak", gc_policy="off")
    # when it is measured
    metrics = runner.measure(config).metrics
    # then the peak growth is the workload's few pages, far below even one of agmem's
    # per-iteration columns (8 bytes per iteration), which predate the baseline
    assert 0 <= metrics.peak_rss_growth_bytes < 8 * iterations
    assert metrics.end_rss_bytes - metrics.baseline_rss_bytes < 8 * iterations



def test_iterations_whose_records_cannot_fit_are_refused_before_any_child_starts(tmp_path):
    # given a user workload (no floor) asked for 10**12 iterations: 300 TB of records
    (tmp_path / "noop.py").write_text("def step(i):\n    pass\n")
    config = RunConfig(workload=str(tmp_path / "noop.py") + ":step", iterations=10**12)
    # then the runner refuses it in one line naming the records and --force
    with pytest.raises(UsageError, match=r"per-iteration records.*--force"):
        runner.measure(config)


def test_seeds_numpy_cannot_take_are_refused():
    with pytest.raises(UsageError, match="rng_seed must be at most 4,294,967,295"):
        runner.validate(RunConfig(rng_seed=2**32))


def test_the_runner_does_not_import_the_child() -> None:
    code = (
        "import sys, autograd_mem.measure.runner; "
        "print('autograd_mem.measure.child' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_progress_counts_the_iterations_the_child_has_finished(tmp_path, monkeypatch):
    # given a workload that writes the index of the iteration it is starting to a file
    # (eight digits written in place: a reader never sees the file emptied)
    (tmp_path / "paced.py").write_text(
        "import os, time\n"
        "fd = os.open('started', os.O_WRONLY | os.O_CREAT)\n"
        "def step(i):\n"
        "    os.pwrite(fd, b'%08d' % i, 0)\n"
        "    time.sleep(0.01)\n"
    )
    monkeypatch.chdir(tmp_path)
    readings: list[tuple[int | None, int]] = []

    def on_progress(update: runner.Progress) -> None:
        done = update.iterations_done  # read first: the file can only be further on
        marker = tmp_path / "started"
        started = int(marker.read_text() or -1) if marker.exists() else -1
        readings.append((done, started))

    # when it runs 60 iterations with a progress callback
    runner.measure(RunConfig(workload="paced.py:step", iterations=60), on_progress=on_progress)

    # then each reading counts finished iterations: never more than have started, never
    # going back, and some taken mid-run
    counts = [done for done, _ in readings]
    assert all(isinstance(done, int) for done in counts)
    assert counts == sorted(counts)
    assert all(done <= started + 1 for done, started in readings)
    assert any(0 < done < 60 for done in counts)
    assert max(counts) <= 60


# The child's main with its explain pass broken on purpose: agmem's own failure inside
# the child must reach the user as one line, never as the child's traceback.
CHILD_WITH_A_BROKEN_PROBE = """
import json, sys
from autograd_mem.measure import child
from autograd_mem.cycles import explain

def broken(self):
    raise RuntimeError("the probe broke") from KeyError("why")

explain.ExplainPass.report = broken
sys.exit(child.main(["explain", sys.argv[1], sys.argv[2]]))
"""


def test_agmems_own_failure_in_the_child_is_one_line(tmp_path):
    # given the explain pass of a tiny seed run, whose probe raises
    config = tmp_path / "config.json"
    config.write_text(json.dumps(dataclasses.asdict(RunConfig(iterations=3, size=10))))
    result = tmp_path / "result.json"
    completed = subprocess.run(
        [sys.executable, "-c", CHILD_WITH_A_BROKEN_PROBE, str(config), str(result)],
        capture_output=True, text=True,
    )
    document = json.loads(result.read_text())
    # then the child says so in its exit code and document, and the runner in one line
    assert completed.returncode == 6
    assert document["status"] == "internal-error"
    with pytest.raises(RunFailedError) as raised:
        outcome.raise_for_failure(
            completed.returncode, outcome.read_child_result(result), completed.stderr,
            outcome.OomEvidence(0, 0),
        )
    assert raised.value.message == (
        "agmem failed inside the measured child: the probe broke (KeyError: 'why') "
        "(a bug in agmem)"
    )
    assert raised.value.detail is None
