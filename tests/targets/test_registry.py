"""The built-in workloads' registry: one module per workload, and nothing else to edit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autograd_mem
from autograd_mem.schema.config import RunConfig
from autograd_mem.targets import workloads
from autograd_mem.targets.workload_spec import floor_bytes, parameters_read, parse_spec

PACKAGE = Path(workloads.__file__).parent


def test_the_registry_is_exactly_the_packages_workload_modules() -> None:
    modules = {path.stem for path in PACKAGE.glob("*.py") if not path.stem.startswith("_")}
    assert set(workloads.names()) == modules
    assert workloads.names()[:2] == ("seed", "mlp")  # the notebook's loop is listed first


def test_every_name_is_a_builtin_with_a_floor_and_a_step() -> None:
    for name in workloads.names():
        config = RunConfig(workload=name, size=100, iterations=5)
        assert parse_spec(name).builtin == name
        assert floor_bytes(config) > 0
        assert callable(workloads.registry()[name].make_step(config))


@pytest.fixture
def extra_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Given a second folder on the package's path, the registry read afresh."""
    monkeypatch.setattr(workloads, "__path__", [*workloads.__path__, str(tmp_path)])
    workloads.registry.cache_clear()
    parse_spec.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    workloads.registry.cache_clear()
    parse_spec.cache_clear()
    for name in [m for m in sys.modules if m.startswith("autograd_mem.targets.workloads.")]:
        if name.rpartition(".")[2] not in {*workloads.names(), "_training"}:
            del sys.modules[name]


def test_a_module_that_declares_no_workload_is_refused(extra_module: Path) -> None:
    (extra_module / "forgotten.py").write_text("STEP = None\n")
    with pytest.raises(TypeError, match="forgotten declares no WORKLOAD"):
        workloads.registry()


def test_a_module_that_declares_one_is_a_builtin(extra_module: Path) -> None:
    (extra_module / "tiny.py").write_text(_TINY)
    assert workloads.names()[-1] == "tiny"
    config = RunConfig(workload="tiny", size=1_000)
    assert parameters_read(config) == ["cells 1,000"]
    assert floor_bytes(config) == 2 * 1_000 * 8


_TINY = textwrap.dedent('''
    """``tiny``: holds the last two arrays of ``size`` float64."""
    from autograd_mem.targets.workloads import Workload


    def _step(config):
        import numpy as np

        held = []

        def step(iteration):
            held.append(np.ones(config.size))
            del held[:-2]

        return step


    WORKLOAD = Workload(
        make_step=_step,
        floor_bytes=lambda config: 2 * config.size * 8,
        listed=99,
        parameters=lambda config: [f"cells {config.size:,}"],
    )
''')


def test_adding_one_module_to_a_copy_of_agmem_makes_a_workload_the_cli_runs(
    tmp_path: Path,
) -> None:
    """Given a copy of the package with one more module in targets/workloads and no other
    change, `agmem run --workload tiny` measures it in a child, with its floor and words."""
    copy = tmp_path / "site" / "autograd_mem"
    shutil.copytree(Path(autograd_mem.__file__).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "targets" / "workloads" / "tiny.py").write_text(_TINY)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}

    def agmem(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "autograd_mem", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)

    help_text = agmem("run", "--help").stdout
    assert "rnn, tiny)" in " ".join(help_text.split())
    ran = agmem("run", "--workload", "tiny", "--size", "5,000", "--iterations", "20",
                "--format", "json")
    assert ran.returncode == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["config"]["workload"] == "tiny"
    assert document["metrics"]["floor_bytes"] == 2 * 5_000 * 8
    table = agmem("run", "--workload", "tiny", "--size", "5,000", "--iterations", "20").stdout
    assert "tiny · " in table and "cells 5,000" in table
    # The installed agmem, without the module, refuses the name: the copy made the difference.
    refused = subprocess.run([sys.executable, "-m", "autograd_mem", "run", "--workload", "tiny"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "unknown workload 'tiny'" in refused.stderr
