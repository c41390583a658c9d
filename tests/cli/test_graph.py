"""``agmem graph``: the picture of a graph a strong-mode cycle kept alive (issue 21)."""

from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import pytest

STEP = """
import numpy as np
import autograd_mem as am
from autograd_mem.engine import ops

def step(i):
    y = am.Variable(np.ones(4))
    for _ in range(3):
        y = ops.square(y)
    return ops.exp(y)

def quiet(i):
    with am.no_grad():
        step(i)

def broken(i):
    raise ValueError("no data")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "job.py").write_text(STEP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _functions_the_collector_finds() -> int:
    """The same step's Functions, counted among the garbage in this interpreter."""
    sys.path.insert(0, ".")
    try:
        import job  # type: ignore[import-not-found]

        from autograd_mem.engine import Function, reference_mode

        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        with reference_mode("strong"):
            job.step(0)
        gc.collect()
        found = sum(isinstance(o, Function) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        sys.path.remove(".")
        sys.modules.pop("job", None)
    return found


def test_the_dot_text_holds_the_graph_the_collector_found(invoke, project):
    result = invoke("graph", "--workload", "job.py:step", "-o", "g.dot")

    assert result.exit_code == 0, result.stderr
    dot = (project / "g.dot").read_text()
    assert dot.startswith("digraph g {") and dot.count("shape=box") == 4
    assert dot.count('label="Square"') == 3 and dot.count('label="Exp"') == 1
    functions = _functions_the_collector_finds()
    assert functions == 4
    assert f"drew {functions} Functions" in result.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_a_png_is_drawn_by_graphviz(invoke, project):
    result = invoke("graph", "--workload", "job.py:step", "-o", "g.png")

    assert result.exit_code == 0, result.stderr
    assert (project / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_graphviz_a_picture_is_refused_with_how_to_install_it(invoke, project,
                                                                     monkeypatch):
    monkeypatch.setenv("PATH", str(project))  # no dot here
    result = invoke("graph", "--workload", "job.py:step", "-o", "g.svg")

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "apt-get install graphviz" in line and "-o g.dot" in line
    assert not (project / "g.svg").exists()


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("--workload", "job.py:quiet", "-o", "g.dot"), 2, "nothing to draw"),
        (("--workload", "job.py:broken", "-o", "g.dot"), 3, "the workload raised ValueError: "
                                                            "no data"),
        (("--workload", "job.py:step", "-o", "g.txt"), 2, "give the file a suffix"),
        (("--workload", "job.py:absent", "-o", "g.dot"), 2, "absent"),
    ],
)
def test_what_cannot_be_drawn_is_one_line(invoke, project, args, code, said):
    result = invoke("graph", *args)

    assert result.exit_code == code
    [line] = result.stderr.splitlines()
    assert line.startswith("agmem: error: ") and said in line
    assert not (project / "g.dot").exists()
