"""Tests for the collector probe: layout detection, and the recorder against gc.get_stats()."""

from __future__ import annotations

import gc
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_mem.probes import gc_probe

GC_PROBE_SCRIPT = Path(gc_probe.__file__)


@pytest.mark.parametrize(
    ("version", "layout", "labels"),
    [
        ((3, 10, 13), "generational", ("0", "1", "2")),
        ((3, 13, 0), "generational", ("0", "1", "2")),
        ((3, 14, 0), "incremental", ("young", "old")),
        ((3, 14, 4), "incremental", ("young", "old")),
        ((3, 14, 5), "generational", ("0", "1", "2")),
        ((3, 15, 0), "generational", ("0", "1", "2")),
    ],
)
def test_layout_follows_the_version_on_gil_builds(version, layout, labels):
    # given a GIL build of this version, when detected, then the documented layout
    detected = gc_probe.detect_layout((*version, "final", 0), gil_disabled=False)
    assert (detected.name, detected.labels) == (layout, labels)


@pytest.mark.parametrize("version", [(3, 13, 0), (3, 14, 2), (3, 14, 6)])
def test_free_threaded_builds_have_no_generations(version):
    detected = gc_probe.detect_layout(version, gil_disabled=True)
    assert detected.name == "free-threaded"
    assert detected.labels == ()
    assert detected.fold((5, 1, 1)) == ()


def test_incremental_layout_counts_increments_and_full_collections_as_old():
    # given raw generation counts 0: young, 1: increment, 2: full
    incremental = gc_probe.detect_layout((3, 14, 1), gil_disabled=False)
    # then the increment and the full collection both count under "old"
    assert incremental.fold((7, 2, 1)) == (7, 3)
    assert [incremental.slot(g) for g in (0, 1, 2)] == [0, 1, 1]


def test_running_interpreter_is_detected_from_its_own_build():
    detected = gc_probe.detect_layout()
    assert len(detected.labels) in (0, 2, 3)
    assert detected == gc_probe.detect_layout(sys.version_info)


class Node:
    pass


def _make_cycles(count: int) -> None:
    for _ in range(count):
        a, b = Node(), Node()
        a.other, b.other = b, a


def test_recorder_counts_equal_get_stats_deltas():
    # given a recorder around code that makes cyclic garbage
    gc.collect()
    recorder = gc_probe.GcRecorder()
    with recorder:
        _make_cycles(20_000)
    # then its per-generation counts are the collector's own
    from_stats = gc_probe.stats_delta(recorder.stats_before, recorder.stats_after)
    assert recorder.per_raw_generation() == from_stats
    assert sum(from_stats[0]) > 0
    assert all(c.pause_seconds >= 0 for c in recorder.longest())
    assert sum(sum(b.collections) for b in recorder.buckets()) == sum(from_stats[0])


def test_recorder_ignores_collections_outside_its_block():
    recorder = gc_probe.GcRecorder()
    gc.collect()
    with recorder:
        pass
    gc.collect()
    assert recorder.longest() == [] and recorder.buckets() == []
    assert gc_probe.stats_delta(recorder.stats_before, recorder.stats_after)[0] == (0, 0, 0)


def test_iteration_at_names_the_iteration_in_progress():
    ends = [1.0, 2.0, 3.0]
    assert gc_probe.iteration_at(ends, 0.5) == 0
    assert gc_probe.iteration_at(ends, 1.0) == 1  # iteration 0 ended at 1.0
    assert gc_probe.iteration_at(ends, 2.5) == 2


def _pyenv_interpreters() -> list[str]:
    pyenv = shutil.which("pyenv")
    root = os.environ.get("PYENV_ROOT", "")
    if not root and pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    if not root:
        return []
    found = sorted(glob.glob(os.path.join(root, "versions", "3.1[0-9]*", "bin", "python3")))
    return found


@pytest.mark.parametrize("python", _pyenv_interpreters() or [sys.executable])
def test_detection_and_recorder_hold_on_each_installed_interpreter(python):
    # given another interpreter, when the probe runs there as a script (stdlib only)
    out = subprocess.run([python, str(GC_PROBE_SCRIPT)], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    # then the callbacks agree with get_stats and the layout matches the version
    assert report["collections_from_callbacks"] == report["collections_from_stats"]
    assert report["collected_from_callbacks"] == report["collected_from_stats"]
    assert sum(report["collections_from_callbacks"]) > 0
    major, minor, micro = (int(p) for p in report["version"].split(".")[:3])
    expected = gc_probe.detect_layout((major, minor, micro), gil_disabled=False)
    assert report["layout"] == expected.name
    if (major, minor) == (3, 13):
        assert report["threshold"][0] == 2000  # 3.13 raised the young threshold


@pytest.mark.parametrize("released", [False, True])
def test_a_released_recorder_is_freed_by_reference_counting(released: bool) -> None:
    # given a recorder that watched a (trivial) window, with the collector paused
    gc.collect()
    gc.disable()
    try:
        recorder = gc_probe.GcRecorder()
        recorder.start()
        recorder.stop()
        if released:
            recorder.release()
        # when its last reference goes
        del recorder
        # then, released, it leaves no cycle for the collector (an explain pass would
        # otherwise report agmem's own recorder among the workload's garbage)
        left_to_the_collector = gc.collect()
    finally:
        gc.enable()
    assert (left_to_the_collector == 0) is released


@pytest.mark.parametrize(("version", "gil_disabled"), [((3, 13, 0), False), ((3, 14, 1), False),
                                                     ((3, 13, 0), True)])
def test_every_detected_layout_has_the_labels_a_document_reader_accepts(version, gil_disabled):
    # (gc_probe imports nothing of agmem, so the schema keeps its own table: held equal here)
    from autograd_mem.schema.run import GC_LABELS

    layout = gc_probe.detect_layout(version, gil_disabled=gil_disabled)
    assert GC_LABELS[layout.name] == layout.labels
