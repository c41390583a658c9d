"""The graph a strong-mode cycle kept alive, as DOT: what ``agmem graph`` draws (issue 21).

In strong mode every Function holds its outputs and every output its creator, so when a
step returns, the graph it built is garbage that only the cyclic collector can free.
Two calls of the step are made with the collector off (the first call's graph may be
held by the loop's variable until the second replaces it), then one collection with
``gc.DEBUG_SAVEALL`` keeps everything it would have freed in ``gc.garbage``: the graph
drawn is made of those very objects, found as garbage, not rebuilt. Its output is the
Variable no other garbage Function took as input; where a step left several graphs, the
one with the most Functions is drawn.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class KeptGraph:
    """The largest graph one step left to the collector: its DOT text and its size."""

    dot: str
    functions: int  # Functions in the graph drawn
    garbage_objects: int  # everything the collection found, the graph drawn included
    graphs: int  # separate graphs (outputs) found in the garbage


def kept_graph(step: Callable[[int], object], index: int = 0) -> KeptGraph | None:
    """Call ``step(index)`` and ``step(index + 1)`` in strong mode; the largest graph the
    collector then finds, or None.

    None means no Variable with a creator was garbage: the step built no graph, or
    its graph did not end up in a cycle (weak mode, ``no_grad``, ``unchain``).
    """
    from autograd_mem.engine import Function, Variable, reference_mode
    from autograd_mem.engine.dot_graph import get_dot_graph

    was_enabled, debug = gc.isenabled(), gc.get_debug()
    gc.collect()  # what was garbage before the step is not its graph
    gc.disable()
    try:
        with reference_mode("strong"):
            # Two calls: a loop's variable (a built-in keeps its last output, as the
            # notebook's ``y`` does) holds the newest graph until the next one replaces it.
            step(index)
            step(index + 1)
        gc.set_debug(debug | gc.DEBUG_SAVEALL)
        gc.collect()
        garbage = list(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(debug)
        if was_enabled:
            gc.enable()
    functions = [o for o in garbage if isinstance(o, Function)]
    taken = {id(x) for f in functions for x in f.inputs}
    outputs = [o for o in garbage
               if isinstance(o, Variable) and o.creator is not None and id(o) not in taken]
    if not outputs:
        return None
    sizes = {id(output): _functions_of(output) for output in outputs}
    largest = max(outputs, key=lambda output: sizes[id(output)])
    return KeptGraph(get_dot_graph(largest, verbose=False), sizes[id(largest)], len(garbage),
                     len(outputs))


def _functions_of(output: object) -> int:
    """How many Functions ``output`` was computed through (each counted once)."""
    pending = [output.creator]  # type: ignore[attr-defined]
    seen = {id(pending[0])}
    while pending:
        function = pending.pop()
        for x in function.inputs:
            creator = x.creator
            if creator is not None and id(creator) not in seen:
                seen.add(id(creator))
                pending.append(creator)
    return len(seen)


def main(argv: list[str] | None = None) -> int:
    """The fresh interpreter's side of ``agmem graph``: ``CONFIG.json OUT.dot``.

    Writes the DOT text of the graph one strong-mode step left to the collector. Exit 0
    with it written; 4 when the step left no graph; 1 with one line on stderr when the
    step raised (its traceback is the user's own, and said as such).
    """
    import json
    import sys
    import traceback

    from autograd_mem.schema.codec import from_plain
    from autograd_mem.schema.config import RunConfig
    from autograd_mem.targets.workload_spec import make_step

    config_path, out_path = sys.argv[1:3] if argv is None else argv
    with open(config_path, encoding="utf-8") as handle:
        config = from_plain(RunConfig, json.load(handle), "config")
    try:
        graph = kept_graph(make_step(config))
    except Exception as exc:  # the user's step: its own error, said as such
        last = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"the workload raised {type(exc).__name__}: {exc} "
              f"({last.filename}:{last.lineno})", file=sys.stderr)
        return 1
    if graph is None:
        return NO_GRAPH
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write(graph.dot)
    print(json.dumps({"functions": graph.functions, "graphs": graph.graphs,
                      "garbage_objects": graph.garbage_objects}))
    return 0


NO_GRAPH = 4  # main's exit status when one step left no graph to the collector

if __name__ == "__main__":
    raise SystemExit(main())
