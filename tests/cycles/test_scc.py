"""The graph side of cycle forensics: SCCs, who owns what, shapes and example paths."""

from __future__ import annotations

import functools
import types

from autograd_mem.cycles import payload
from autograd_mem.cycles import scc as cycles
from autograd_mem.cycles.labels import UNLABELLED, Labeller, Reading


def test_strongly_connected_components_come_after_what_they_refer_to():
    # given 0 -> 1 <-> 2 -> 3 (self-loop) and 4 alone
    graph = [[1], [2], [1, 3], [3], []]
    components = [sorted(c) for c in cycles.strongly_connected(graph)]
    assert sorted(map(tuple, components)) == [(0,), (1, 2), (3,), (4,)]
    position = {tuple(c): i for i, c in enumerate(components)}
    assert position[(3,)] < position[(1, 2)] < position[(0,)]
    assert cycles.is_cycle([3], graph) and cycles.is_cycle([1, 2], graph)
    assert not cycles.is_cycle([0], graph)


def test_a_chain_and_a_ring_of_a_hundred_thousand_need_no_recursion():
    size = 100_000
    chain = [[i + 1] for i in range(size - 1)] + [[]]
    assert len(cycles.strongly_connected(chain)) == size
    ring = [[(i + 1) % size] for i in range(size)]
    (component,) = cycles.strongly_connected(ring)
    assert len(component) == size


def test_garbage_off_a_cycle_belongs_to_the_first_cycle_that_reaches_it():
    # given cycle A = {0, 1} -> tail 2 -> 3, and cycle B = {4} (self) -> 3
    graph = [[1], [0, 2], [3], [], [4, 3]]
    ownership = cycles.attribute(graph)
    owner_of = [ownership.owner[ownership.component_of[n]] for n in range(5)]
    a, b = owner_of[0], owner_of[4]
    assert a != b and owner_of[1] == a and owner_of[2] == a
    # 3 is reached by both: it goes to whichever comes first in topological order
    assert owner_of[3] in (a, b)
    assert ownership.cyclic[a] and ownership.cyclic[b]


def labelled(*objects: object) -> cycles.LabelledCycle:
    found = list(objects)
    graph = payload.scan(found, None).graph
    return cycles.label_cycle(list(range(len(found))), found, graph, Labeller())


class Parent:
    def __init__(self, children: int) -> None:
        self.children = [Child(self) for _ in range(children)]


class Child:
    def __init__(self, parent: Parent) -> None:
        self.parent = parent


def family(children: int) -> list[object]:
    parent = Parent(children)
    return [parent, parent.children, *parent.children]


def test_the_shape_ignores_how_many_children_a_list_holds():
    assert cycles.shape_key(labelled(*family(2))) == cycles.shape_key(labelled(*family(7)))
    assert cycles.cycle_types(labelled(*family(3))) == ("Child", "Parent", "list")


def test_the_shape_tells_attributes_apart():
    class A:
        pass

    first, second = A(), A()
    first.x = first
    second.y = second
    assert cycles.shape_key(labelled(first)) != cycles.shape_key(labelled(second))


def test_the_example_path_starts_at_a_user_type_and_names_each_edge():
    members = family(2)
    cycle = labelled(*members)
    path = cycles.example_path(cycle, [0] * len(members))
    assert [(type(obj).__name__, label) for obj, label in path][:2] == [
        ("Child", ".parent"), ("Parent", ".children"),
    ]
    assert path[2][1] in ("[0]", "[1]")


def test_an_instance_dict_and_a_closure_tuple_are_seen_through():
    def outer() -> types.FunctionType:
        def inner() -> object:
            return inner

        return inner

    function = outer()
    assert function.__closure__ is not None
    cell = function.__closure__[0]
    cycle = labelled(function, function.__closure__, cell)
    assert cycle.see_through == {1}
    assert cycle.edges[0] == [(".__closure__['inner']", 2)]
    assert cycle.edges[2] == [(".cell_contents", 0)]


def test_a_reference_nothing_names_is_marked_unlabelled():
    # a list iterator refers to its list, by no attribute Python shows
    items: list[object] = []
    iterator = iter(items)
    items.append(iterator)
    cycle = labelled(items, iterator)
    assert cycle.edges[0] == [("[0]", 1)]
    assert cycle.edges[1] == [(UNLABELLED, 0)]


def test_members_of_c_types_and_bound_methods_are_named():
    class Box:
        pass

    box = Box()
    box.callback = functools.partial(print, box)
    reading = Reading({id(box.callback.args): 0})
    Labeller().read(box.callback, reading)
    assert reading.edges == [(".args", 0)]
    method_owner = Box()
    method_owner.hook = method_owner.__init__
    cycle = labelled(method_owner, method_owner.hook)
    assert cycle.edges[0] == [(".hook", 1)]
    assert cycle.edges[1] == [(".__self__", 0)]
