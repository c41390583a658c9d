"""Reference cycles among garbage: strongly connected components, who owns what, and labelled paths.

The collector finds *unreachable* objects, not cycles: among them are the cycles that
reference counting could not free and everything those cycles kept alive. Read as a
graph (an edge for each reference), the cycles are its strongly connected components
(SCCs) with more than one object, or one object referring to itself; every other
garbage object hangs off one of them. All of it is iterative: a chain of 100,000
objects would overflow Python's stack under recursion.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograd_mem.cycles.labels import UNLABELLED, Labeller, Reading

Graph = list[list[int]]

# Types that are the interpreter's plumbing: a path starts at an object of another type
# when the cycle has one (``Leaky.me → Leaky``, not ``dict['me'] → Leaky.__dict__``).
_PLUMBING = frozenset({
    "dict", "list", "tuple", "set", "frozenset", "cell", "frame", "traceback",
    "method", "builtin_function_or_method", "code", "module", "type",
})


def strongly_connected(graph: Graph) -> list[list[int]]:
    """Tarjan's SCCs without recursion, in reverse topological order (a component comes
    after every component it refers to)."""
    count = len(graph)
    order = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(count):
        if order[root] >= 0:
            continue
        order[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        work = [(root, 0)]
        while work:
            node, position = work[-1]
            edges = graph[node]
            if position < len(edges):
                work[-1] = (node, position + 1)
                successor = edges[position]
                if order[successor] < 0:
                    order[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack[successor] = True
                    work.append((successor, 0))
                elif on_stack[successor] and order[successor] < low[node]:
                    low[node] = order[successor]
                continue
            work.pop()
            if work and low[node] < low[work[-1][0]]:
                low[work[-1][0]] = low[node]
            if low[node] == order[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def is_cycle(component: list[int], graph: Graph) -> bool:
    """More than one object, or one that refers to itself."""
    return len(component) > 1 or component[0] in graph[component[0]]


@dataclass
class Ownership:
    """Which cycle kept each garbage object alive.

    ``components`` in topological order (a component before everything it refers to);
    ``owner[c]`` is the index of the cyclic component that owns component ``c``: itself
    for a cycle, the first cycle that reaches it otherwise. A garbage object no cycle
    reaches (the collector's own traversal makes that rare) owns itself, as a component
    that is no cycle.
    """

    components: list[list[int]]
    cyclic: list[bool]
    owner: list[int]
    component_of: list[int]


def attribute(graph: Graph) -> Ownership:
    """Split the garbage into SCCs and give each non-cyclic one to the first cycle reaching it."""
    components = strongly_connected(graph)
    components.reverse()
    component_of = [0] * len(graph)
    for c, members in enumerate(components):
        for node in members:
            component_of[node] = c
    cyclic = [is_cycle(members, graph) for members in components]
    owner = [-1] * len(components)
    for c, members in enumerate(components):
        if cyclic[c] or owner[c] < 0:
            owner[c] = c
        for node in members:
            for successor in graph[node]:
                s = component_of[successor]
                if owner[s] < 0 and not cyclic[s]:
                    owner[s] = owner[c]
    return Ownership(components, cyclic, owner, component_of)


# --- a cycle's labelled edges --------------------------------------------------------------


def type_name(obj: Any) -> str:
    return type(obj).__name__


def type_key(obj: Any) -> str:
    """A type's full name: two classes called Node in two modules are two types."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass
class LabelledCycle:
    """One cycle's objects and the labelled edges among them.

    ``edges[i]`` lists ``(label, j)``: member ``i`` refers to member ``j`` as ``label``.
    ``see_through`` are members that are an instance's ``__dict__`` or a closure's
    tuple: their references are already their owner's, labelled by attribute name.
    """

    members: list[Any]
    edges: list[list[tuple[str, int]]]
    see_through: set[int]


def label_cycle(
    nodes: list[int], objects: Sequence[Any], graph: Graph, labeller: Labeller
) -> LabelledCycle:
    """Label every reference between the members (``objects[n]`` for ``n`` in ``nodes``).

    A reference that ``graph`` shows and no label names is :data:`UNLABELLED`.
    """
    local = {node: i for i, node in enumerate(nodes)}
    members = [objects[node] for node in nodes]
    by_id = {id(obj): i for i, obj in enumerate(members)}
    edges: list[list[tuple[str, int]]] = []
    see_through: set[int] = set()
    for i, obj in enumerate(members):
        reading = Reading(by_id)
        labeller.read(obj, reading)
        through = reading.through
        see_through.update(through)
        # An edge to its own see-through container (a function's ``.__closure__``)
        # would say again what the edges through it say.
        named = [edge for edge in reading.edges if edge[1] not in through] if through else (
            reading.edges
        )
        explained = {j for _, j in named}
        explained.update(through)
        for node in graph[nodes[i]]:
            j = local.get(node)
            if j is not None and j not in explained:
                named.append((UNLABELLED, j))
                explained.add(j)
        edges.append(named)
    return LabelledCycle(members, edges, see_through)


def shape_key(cycle: LabelledCycle) -> frozenset[tuple[str, str, str]]:
    """What makes two cycles "the same shape": the set of (type, label, type) edges.

    A set, not a multiset or a rotation of one path: a parent with three children and
    one with thirty, or a ring of 5 nodes and one of 500, are the same mistake, made
    the same way. List positions are therefore folded into ``[i]``; tuple positions
    stay, since a tuple's slots mean different things (``outputs[0]``).
    """
    triples: set[tuple[str, str, str]] = set()
    members = cycle.members
    for i, named in enumerate(cycle.edges):
        if i in cycle.see_through:
            continue
        source = members[i]
        source_key = type_key(source)
        fold = isinstance(source, list)
        for label, j in named:
            edge = "[i]" if fold and label[:1] == "[" else label
            triples.add((source_key, edge, type_key(members[j])))
    return frozenset(triples)


def cycle_types(cycle: LabelledCycle) -> tuple[str, ...]:
    """The types a cycle is made of, sorted, without its see-through containers."""
    names = {type_name(obj) for i, obj in enumerate(cycle.members) if i not in cycle.see_through}
    return tuple(sorted(names))


def _start(cycle: LabelledCycle, external_references: list[int]) -> int:
    """Where a path reads best from: a type of the user's before the interpreter's
    plumbing, then the object most referred to from outside the cycle (its entry)."""

    def rank(i: int) -> tuple[bool, int, str]:
        name = type_name(cycle.members[i])
        return (name in _PLUMBING, -external_references[i], name)

    candidates = [i for i in range(len(cycle.members)) if i not in cycle.see_through]
    return min(candidates or range(len(cycle.members)), key=rank)


def example_path(cycle: LabelledCycle, external_references: list[int]) -> list[tuple[Any, str]]:
    """A shortest cycle back to a chosen start, as ``(object, label of the edge leaving it)``."""
    start = _start(cycle, external_references)
    for label, target in cycle.edges[start]:
        if target == start:
            return [(cycle.members[start], label)]
    came_from: dict[int, tuple[int, str]] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for label, target in cycle.edges[node]:
            if target == start:
                hops = [(node, label)]
                while node != start:
                    node, edge_label = came_from[node]
                    hops.append((node, edge_label))
                hops.reverse()
                return [(cycle.members[i], edge_label) for i, edge_label in hops]
            if target not in came_from and target != start:
                came_from[target] = (node, label)
                queue.append(target)
    return []
