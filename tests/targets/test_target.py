"""The one target type: a workload and a program answer the same questions, each its own way."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograd_mem.analysis.target_view import target_view
from autograd_mem.errors import UsageError, WorkloadError
from autograd_mem.schema.config import RunConfig
from autograd_mem.targets.target import ProgramTarget, WorkloadTarget, target_of
from autograd_mem.targets.workload_spec import BOOKKEEPING_BYTES_PER_ITERATION, floor_bytes


def test_a_config_without_a_program_is_its_workload() -> None:
    config = RunConfig(workload="seed", mode="strong", gc_policy="off", iterations=40)
    target = target_of(config)
    assert isinstance(target, WorkloadTarget)
    assert (target.name, target.title, target.label, target.short_label) == (
        "seed", "seed", "strong/off", "strong/off")
    assert target.parameters() == ["size 10,000", "depth 3"]
    assert target.floor_bytes() == floor_bytes(config) > 0
    assert target.bookkeeping_bytes() == 40 * BOOKKEEPING_BYTES_PER_ITERATION
    assert not target.traits.runs_once and not target.keeps_stdin
    assert not target.is_user_code and target.warning() is None


def test_a_users_function_is_user_code_with_no_floor_and_no_parameters() -> None:
    target = target_of(RunConfig(workload="pkg.loops:train"))
    assert target.is_user_code and target.floor_bytes() is None and target.parameters() == []
    with pytest.raises(WorkloadError, match=r"cannot find module 'pkg\.loops'"):
        target.check()


def test_a_config_with_a_program_is_the_program_as_typed() -> None:
    config = RunConfig(program=("tools/train.py", "--name", "run 2"), stdin=True)
    target = target_of(config)
    assert isinstance(target, ProgramTarget)
    assert target.title == "tools/train.py --name 'run 2'"
    assert (target.name, target.label, target.short_label) == (
        "tools/train.py", "tools/train.py", "train.py")
    assert target.traits.runs_once and target.traits.reports_children and target.keeps_stdin
    assert target.is_user_code and target.floor_bytes() is None
    assert target.bookkeeping_bytes() == 0 and target.parameters() == []
    with pytest.raises(UsageError, match=r"tools/train\.py"):
        target.check()  # no such script here


def test_a_module_program_is_named_as_python_takes_it() -> None:
    target = target_of(RunConfig(program=("-mhttp.server", "8000")))
    assert (target.name, target.title) == ("-m http.server", "-mhttp.server 8000")


def test_a_script_that_runs_nothing_is_warned_about(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("loop.py").write_text("def step(i):\n    return i\n")
    Path("main.py").write_text("print('hello')\n")
    assert "name it loop.py:step" in target_of(RunConfig(program=("loop.py",))).warning()
    assert target_of(RunConfig(program=("main.py",))).warning() is None


def test_the_reports_view_is_the_targets_answers() -> None:
    for config in (RunConfig(workload="rnn", unchain=False), RunConfig(program=("a/b.py",))):
        target, view = target_of(config), target_view(config)
        assert view.title == target.title and view.short_label == target.short_label
        assert list(view.parameters) == target.parameters()
        assert view.runs_once == target.traits.runs_once
        assert view.reports_children == target.traits.reports_children
    assert target_view(RunConfig(workload="rnn", unchain=False)).parameters == (
        "hidden 10", "bptt 30", "no unchain_backward")
