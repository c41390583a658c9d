"""The graph as DOT text (the book's steps 25-26) and as a picture through graphviz."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import autograd_mem as am
from autograd_mem import functions as F
from autograd_mem.engine import REFERENCE_MODES
from autograd_mem.utils import GraphvizNotFoundError, get_dot_graph, plot_dot_graph

NODE = re.compile(r'^(\d+) \[label="([^"]*)", color=(orange|lightblue)')
EDGE = re.compile(r"^(\d+) -> (\d+)$")


def parse(dot: str) -> tuple[dict[int, tuple[str, str]], set[tuple[int, int]]]:
    lines = dot.splitlines()
    assert lines[0] == "digraph g {" and lines[-1] == "}"
    nodes, edges = {}, set()
    for line in lines[1:-1]:
        if m := NODE.match(line):
            nodes[int(m[1])] = (m[2], m[3])
        elif m := EDGE.match(line):
            edges.add((int(m[1]), int(m[2])))
        else:
            raise AssertionError(f"not a node or an edge: {line!r}")
    return nodes, edges


def goldstein(x, y):  # the book's step 24 function: a graph with shared inputs
    return (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)) * (
        30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    )


def walk(output: am.Variable) -> tuple[set[int], set[int], set[tuple[int, int]]]:
    """The graph's Variables, Functions and edges, read from the objects themselves."""
    variables, functions, edges = {id(output)}, set(), set()
    pending = [output.creator]
    while pending:
        f = pending.pop()
        if f is None or id(f) in functions:
            continue
        functions.add(id(f))
        for x in f.inputs:
            variables.add(id(x))
            edges.add((id(x), id(f)))
            pending.append(x.creator)
        for ref in f.outputs:
            if ref() is not None:
                edges.add((id(f), id(ref())))
    return variables, functions, edges


@pytest.mark.parametrize("mode", REFERENCE_MODES)
def test_dot_text_has_every_variable_function_and_edge_once(mode: str) -> None:
    with am.reference_mode(mode):
        x, y = am.Variable(np.array(1.0), name="x"), am.Variable(np.array(1.0), name="y")
        z = goldstein(x, y)
        z.name = "z"
        nodes, edges = parse(get_dot_graph(z, verbose=False))
        variables, functions, expected_edges = walk(z)
    assert {n for n, (_, color) in nodes.items() if color == "orange"} == variables
    assert {n for n, (_, color) in nodes.items() if color == "lightblue"} == functions
    assert edges == expected_edges
    assert nodes[id(x)] == ("x", "orange") and nodes[id(z)] == ("z", "orange")
    assert nodes[id(z.creator)] == ("Mul", "lightblue")


def test_verbose_labels_show_name_shape_and_dtype() -> None:
    x = am.Variable(np.ones((2, 3), dtype=np.float32), name="x")
    nodes, _ = parse(get_dot_graph(F.sum(x)))
    assert nodes[id(x)][0] == "x: (2, 3) float32"
    assert sorted(label for label, _ in nodes.values()) == [
        "() float32",
        "Sum",
        "x: (2, 3) float32",
    ]


def test_a_weak_output_already_freed_has_no_node() -> None:
    # given a Function of two outputs, one of which nobody keeps (weak mode frees it)
    class Split(am.Function):
        def forward(self, x):
            return x[:1], x[1:]

        def backward(self, g0, g1):
            raise AssertionError("not differentiated here")

    with am.reference_mode("weak"):
        kept = Split()(am.Variable(np.arange(3.0)))[0]
        nodes, edges = parse(get_dot_graph(kept))
    assert len(nodes) == 3 and len(edges) == 2  # input -> Split -> kept


def test_a_deep_chain_is_walked_without_recursion() -> None:
    x = am.Variable(np.array(1.0))
    y = x
    for _ in range(5000):
        y = y * 1.0
    nodes, edges = parse(get_dot_graph(y, verbose=False))
    assert len(nodes) == 5001 + 5000 + 5000  # variables, functions, constants 1.0
    assert len(edges) == 3 * 5000  # two inputs and one output per Mul


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_plot_writes_a_picture_that_dot_rendered(tmp_path) -> None:
    x = am.Variable(np.array(1.0), name="x")
    target = tmp_path / "graph.png"
    plot_dot_graph(x**2 + x, to_file=str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it
    # and the text itself is valid for dot, as an independent reader
    done = subprocess.run(
        ["dot", "-Tplain"], input=get_dot_graph(x**2), text=True, capture_output=True
    )
    assert done.returncode == 0 and done.stdout.startswith("graph ")


def test_without_graphviz_plot_says_how_to_install_it_and_writes_nothing(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "graph.png"
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        plot_dot_graph(am.Variable(np.array(1.0)) * 2, to_file=str(target))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_an_unknown_picture_format_is_refused_and_nothing_is_left(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="dot could not render"):
        plot_dot_graph(am.Variable(np.array(1.0)) * 2, to_file=str(tmp_path / "graph.nosuchformat"))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="suffix"):
        plot_dot_graph(am.Variable(np.array(1.0)) * 2, to_file=str(tmp_path / "graph"))


def test_model_plot_draws_the_models_graph(tmp_path, monkeypatch) -> None:
    # Model.plot runs the model and hands its output's graph to plot_dot_graph
    model = am.models.MLP((3, 2))
    seen = {}
    import autograd_mem.engine.models as engine_models

    monkeypatch.setattr(
        engine_models, "plot_dot_graph", lambda y, verbose, to_file: seen.update(y=y, to=to_file)
    )
    model.plot(np.ones((4, 5), dtype=np.float32), to_file="m.png")
    assert seen["to"] == "m.png" and seen["y"].shape == (4, 2)
