"""The computational graph as graphviz DOT text, and as a picture (the book's steps 25-26).

``get_dot_graph`` walks from an output Variable to every Function and Variable it
was computed from, as DeZero's does: Variables are orange ellipses (name, and with
``verbose`` shape and dtype), Functions blue boxes named by class, edges run from
inputs to Functions to outputs. A weak-mode output already freed has no node.

``plot_dot_graph`` hands the text to graphviz's ``dot`` program. graphviz is not a
Python package and agmem does not depend on it: when ``dot`` is missing, the error
says how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from autograd_mem.engine.atomic_file import replacing
from autograd_mem.engine.core import Function, Variable

INSTALL_HINT = (
    "graphviz's 'dot' program is not on PATH: install graphviz "
    "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz), or render the text of get_dot_graph() elsewhere"
)


class GraphvizNotFoundError(RuntimeError):
    """``plot_dot_graph`` needs graphviz's ``dot`` program, and it is not installed."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_var(v: Variable, verbose: bool) -> str:
    label = "" if v.name is None else v.name
    if verbose and v.data is not None:
        label += (": " if v.name is not None else "") + f"{v.shape} {v.dtype}"
    return f"{id(v)} [label={_quote(label)}, color=orange, style=filled]\n"


def _dot_func(f: Function) -> str:
    lines = [
        f"{id(f)} [label={_quote(type(f).__name__)}, color=lightblue, style=filled, shape=box]\n"
    ]
    lines += [f"{id(x)} -> {id(f)}\n" for x in f.inputs]
    outputs = [ref() for ref in f.outputs]  # a weakref, or the Variable itself (strong)
    lines += [f"{id(f)} -> {id(y)}\n" for y in outputs if y is not None]
    return "".join(lines)


def get_dot_graph(output: Variable, verbose: bool = True) -> str:
    """DOT text of every Function and Variable ``output`` was computed from.

    Each Function appears once, however many paths lead to it; the walk is
    iterative, so a graph thousands of ops deep does not hit the recursion limit.
    """
    text = [_dot_var(output, verbose)]
    pending = [] if output.creator is None else [output.creator]
    seen = {id(f) for f in pending}
    while pending:
        f = pending.pop()
        text.append(_dot_func(f))
        for x in f.inputs:
            text.append(_dot_var(x, verbose))
            creator = x.creator
            if creator is not None and id(creator) not in seen:
                seen.add(id(creator))
                pending.append(creator)
    return "digraph g {\n" + "".join(text) + "}"


def render_dot(dot_text: str, to_file: str | os.PathLike[str]) -> Path:
    """Render DOT text to ``to_file`` with graphviz, its format taken from the suffix.

    The picture is written beside ``to_file`` and renamed over it, so a failed
    render never leaves a half-written file. Raises ``GraphvizNotFoundError`` (with
    how to install graphviz) when ``dot`` is missing, ``ValueError`` when the file
    name has no suffix, and ``RuntimeError`` with dot's own message when it fails.
    """
    target = Path(to_file)
    file_format = target.suffix[1:]
    if not file_format:
        raise ValueError(
            f"{target}: give the picture a suffix (.png, .svg, .pdf) to name its format"
        )
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFoundError(INSTALL_HINT)
    with replacing(target) as partial:
        done = subprocess.run(
            [dot, f"-T{file_format}", "-o", partial],
            input=dot_text,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            message = done.stderr.strip().splitlines()
            reason = message[-1] if message else f"exit status {done.returncode}"
            raise RuntimeError(f"dot could not render {target}: {reason}")
    return target


def plot_dot_graph(output: Variable, verbose: bool = True, to_file: str = "graph.png") -> Any:
    """Draw ``output``'s graph into ``to_file`` (DeZero's ``plot_dot_graph``).

    Returns an IPython image when IPython is importable (the picture then shows in
    a notebook, as DeZero's does), else the path written.
    """
    path = render_dot(get_dot_graph(output, verbose), to_file)
    try:
        # Optional: only notebooks have it, and only they can show the picture inline.
        from IPython import display
    except ImportError:
        return path
    return display.Image(filename=str(path))


__all__ = ["GraphvizNotFoundError", "get_dot_graph", "plot_dot_graph", "render_dot"]
