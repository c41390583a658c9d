"""Tests for the workloads: spec parsing, the parent's side-effect-free check, steps and floors."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from autograd_mem.engine import census, reference_mode
from autograd_mem.errors import WorkloadError
from autograd_mem.schema.config import RunConfig
from autograd_mem.targets import workloads
from autograd_mem.targets.workload_spec import (
    check_workload,
    floor_bytes,
    load_user_function,
    make_step,
    parse_spec,
)


def test_builtins_parse_as_builtins():
    for name in workloads.names():
        assert parse_spec(name).builtin == name


@pytest.mark.parametrize(
    ("text", "kind"),
    [("pkg.mod:run", "module"), ("work.py:step", "path"), ("dir/work:step", "path")],
)
def test_user_specs_name_module_or_file(text, kind):
    spec = parse_spec(text)
    assert getattr(spec, kind) == text.rpartition(":")[0]
    assert spec.function == text.rpartition(":")[2]


@pytest.mark.parametrize("text", ["", "seeds", "mod:", ":run", "mod:1run", "bad name:run"])
def test_unknown_or_malformed_specs_are_refused(text):
    with pytest.raises(WorkloadError):
        parse_spec(text)


@pytest.fixture
def user_code(tmp_path):
    (tmp_path / "mywork.py").write_text("import os\nCOUNT = 0\ndef step(i):\n    pass\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("raise RuntimeError('not in the parent')\n")
    (tmp_path / "pkg" / "loops.py").write_text("if True:\n    def train(i):\n        return i\n")
    (tmp_path / "broken.py").write_text("def step(i)\n")
    return tmp_path


def test_check_finds_functions_without_running_user_code(user_code):
    # pkg/__init__.py raises: finding pkg.loops must not execute it
    assert check_workload("pkg.loops:train", cwd=str(user_code)).module == "pkg.loops"
    assert check_workload("mywork.py:step", cwd=str(user_code)).path == "mywork.py"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("missing.py:step", "workload file not found"),
        ("mywork.py:absent", "has no function 'absent'"),
        ("pkg.loops:absent", "has no function 'absent'"),
        ("nosuchmodule_xyz:run", "cannot find module"),
        ("pkg.nothere:run", "cannot find module"),
        ("broken.py:step", "cannot parse"),
    ],
)
def test_check_refuses_what_cannot_be_found(user_code, text, message):
    with pytest.raises(WorkloadError, match=message):
        check_workload(text, cwd=str(user_code))


def test_loading_a_file_workload_gives_its_function(user_code, monkeypatch):
    monkeypatch.chdir(user_code)
    step = load_user_function(parse_spec("mywork.py:step"))
    assert step(0) is None


def test_a_module_that_fails_to_import_is_a_workload_error(user_code, monkeypatch):
    monkeypatch.syspath_prepend(str(user_code))
    with pytest.raises(WorkloadError, match="RuntimeError"):
        load_user_function(parse_spec("pkg.loops:train"))


def test_seed_step_keeps_the_previous_graph_like_the_notebook_loop():
    # given a fresh seed step in weak mode
    config = RunConfig(size=100, depth=3)
    gc.collect()
    before = census.snapshot()[0]
    with reference_mode("weak"):
        step = make_step(config)
        for i in range(5):
            step(i)
        # then exactly one graph (depth + 1 Variables) outlives the iteration
        assert census.snapshot()[0] - before == config.depth + 1
        del step
    assert census.snapshot()[0] == before


def test_mlp_step_trains():
    # given the mlp on a small batch, when it takes SGD steps, then its weights change
    config = RunConfig(workload="mlp", size=64)
    with reference_mode("weak"):
        step = make_step(config)
        parameters = step.parameters
        before = [p.data.copy() for p in parameters]
        for i in range(20):
            step(i)
    assert any(not np.array_equal(b, p.data) for b, p in zip(before, parameters, strict=True))


def test_seed_floor_is_two_graphs_of_depth_plus_one_arrays():
    # the figure: 4 arrays of 80,000 bytes, twice
    assert floor_bytes(RunConfig(size=10_000, depth=3)) == 2 * 4 * 80_000


def test_floors_grow_with_size_and_backward_and_are_unknown_for_user_code():
    small, large = RunConfig(size=1_000), RunConfig(size=2_000)
    assert floor_bytes(large) == 2 * floor_bytes(small)
    assert floor_bytes(RunConfig(backward=True)) > floor_bytes(RunConfig())
    assert floor_bytes(RunConfig(workload="mlp", size=2_000)) > floor_bytes(
        RunConfig(workload="mlp", size=1_000)
    )
    assert floor_bytes(RunConfig(workload="mywork.py:step")) is None


@pytest.mark.parametrize(("typed", "meant"), [("seeed", "seed"), ("MLP", "mlp"), ("tran", "train")])
def test_a_misspelt_built_in_workload_gets_a_did_you_mean(typed, meant):
    with pytest.raises(WorkloadError, match=f"unknown workload '{typed}': did you mean '{meant}'"):
        parse_spec(typed)


def test_a_name_like_no_built_in_lists_what_a_workload_can_be():
    with pytest.raises(WorkloadError, match=r"unknown workload 'resnet' \(expected a built-in"):
        parse_spec("resnet")
