"""Tests for the explain probe's pieces that need no child: the cycle search and type groups."""

from __future__ import annotations

import gc

import numpy as np

from autograd_mem.engine import Variable, reference_mode
from autograd_mem.functions import square
from autograd_mem.probes.explain import find_cycle, type_group


class Box:
    def __init__(self) -> None:
        self.items: list[object] = []


def test_find_cycle_returns_the_chain_of_types_back_to_the_start():
    # given box -> list -> box, plus a dangling list
    box = Box()
    box.items.append(box)
    # (the instance dict is a hop of its own where the interpreter materialises it)
    members = {id(o): o for o in (box, box.items, box.__dict__)}
    # then the chain names each hop and repeats the start
    chain = find_cycle(box, members)
    assert chain[0] == chain[-1] == "Box"
    assert "list" in chain


def test_find_cycle_is_empty_when_the_start_is_not_on_a_cycle():
    leaf = Box()
    holder = [leaf]
    assert find_cycle(leaf, {id(leaf): leaf, id(holder): holder}) == ()


def test_strong_mode_graph_is_a_cycle_through_its_function():
    with reference_mode("strong"):
        y = square(Variable(np.ones(3)))
    members = {}
    pending = [y]
    # the graph's objects, found by following referents from y
    while pending:
        obj = pending.pop()
        if id(obj) in members or isinstance(obj, np.ndarray):
            continue
        members[id(obj)] = obj
        pending.extend(r for r in gc.get_referents(obj) if not isinstance(r, type))
    chain = find_cycle(y, members)
    assert chain[0] == chain[-1] == "Variable"
    assert "Square" in chain
    assert type_group(y.creator) == "Function"
    assert type_group(y) == "Variable"
    assert type_group([]) == "list"
