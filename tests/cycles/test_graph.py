"""The graph a strong-mode cycle kept alive, found as garbage and drawn as DOT (issue 21)."""

from __future__ import annotations

import numpy as np

import autograd_mem as am
from autograd_mem.cycles.graph import kept_graph
from autograd_mem.engine import ops as F


def chain(depth: int):
    def step(i: int) -> None:
        y = am.Variable(np.ones(3))
        for _ in range(depth):
            y = F.square(y)
        y = F.exp(y)

    return step


def test_the_graph_one_step_left_is_drawn_with_every_function_it_made():
    graph = kept_graph(chain(4))
    assert graph is not None
    # 4 squares and an exp, each once, and their 6 Variables
    assert graph.functions == 5 and graph.graphs == 2  # (one a call)
    assert graph.dot.startswith("digraph g {")
    assert graph.dot.count('label="Square"') == 4 and graph.dot.count('label="Exp"') == 1
    assert graph.dot.count("shape=box") == 5


def test_of_two_graphs_the_larger_is_drawn():
    def step(i: int) -> None:
        chain(2)(i)
        chain(7)(i)

    graph = kept_graph(step)
    assert graph is not None and graph.graphs == 4 and graph.functions == 8


def test_a_step_that_builds_no_graph_has_none():
    def step(i: int) -> None:
        with am.no_grad():
            chain(3)(i)

    assert kept_graph(step) is None


def test_the_collector_is_left_as_it_was():
    import gc

    debug, enabled = gc.get_debug(), gc.isenabled()
    kept_graph(chain(2))
    assert gc.get_debug() == debug and gc.isenabled() == enabled and gc.garbage == []
