"""``agmem graph``: a picture of the graph a strong-mode cycle kept alive (issue 21).

One step of the workload runs in a fresh interpreter in strong mode with the collector
off; the graph drawn is what one collection then finds as garbage (``cycles.graph``),
written as DOT or rendered by graphviz's ``dot`` from the output file's suffix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from autograd_mem.cli.help import SectionedCommand
from autograd_mem.cli.options import config_from_options, field_option
from autograd_mem.engine.dot_graph import render_dot
from autograd_mem.errors import ExitCode, OutputError, RunFailedError, UsageError, exit_code_epilog
from autograd_mem.schema.codec import to_plain
from autograd_mem.schema.files import write_atomic
from autograd_mem.targets.workload_spec import check_workload

EPILOG = """\b
Examples:
  agmem graph                                 the seed workload's graph, graph.svg
  agmem graph --workload rnn --no-unchain -o rnn.png
  agmem graph --workload my_pkg.train:step -o step.dot   DOT text, no graphviz needed

""" + exit_code_epilog((ExitCode.OK, ExitCode.USAGE, ExitCode.RUN_FAILED))

_FORMATS = ("svg", "png", "pdf", "dot")


@click.command("graph", cls=SectionedCommand, epilog=EPILOG)
@field_option("--workload", name="workload", metavar="NAME|SPEC",
              help="Built-in workload or your own as package.module:function or "
              "path/to/file.py:function, called once with index 0.")
@field_option("--size", name="size", help="Elements per array (seed), samples (mlp).")
@field_option("--depth", name="depth", help="Functions chained (seed: square applied depth times).")
@click.option("--backward", is_flag=True, help="Call backward() on the step's output.")
@field_option("--batch-size", name="batch_size", help="Minibatch of train and cnn.")
@field_option("--hidden", name="hidden", help="Hidden width (train, rnn) or filters (cnn).")
@field_option("--bptt-length", name="bptt_length", help="rnn: steps between truncations.")
@click.option("--unchain/--no-unchain", "unchain", default=True, show_default=True,
              help="rnn: cut the graph with unchain_backward() at each truncation.")
@field_option("--seed", name="rng_seed", help="Seed of the workload's random numbers.")
@click.option("-o", "--output", "output", default="graph.svg", show_default=True,
              metavar="FILE", help="The picture: .svg, .png or .pdf (graphviz's dot), or .dot.")
def command(output: str, **options: Any) -> None:
    """Draw the graph one strong-mode step leaves to the cyclic collector.

    In strong mode each Function holds its outputs, so the graph a step built is kept
    alive by reference cycles after it returns. The picture shows those very objects,
    found among what the collector frees, not a graph built again.
    """
    suffix = Path(output).suffix[1:].lower()
    if suffix not in _FORMATS:
        raise UsageError(f"-o {output}: give the file a suffix of {', '.join(_FORMATS)} "
                         "(its format)")
    if suffix != "dot" and shutil.which("dot") is None:
        raise UsageError(
            f"graphviz's dot is needed to draw .{suffix} and is not on PATH: install graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; conda: "
            f"conda install graphviz), or write the DOT text with -o "
            f"{Path(output).with_suffix('.dot')}"
        )
    config = config_from_options(options, mode="strong")
    check_workload(config.workload)
    with tempfile.TemporaryDirectory(prefix="agmem-graph-") as scratch:
        dot_path = Path(scratch) / "graph.dot"
        found = _graph_in_fresh_interpreter(config, Path(scratch), dot_path)
        dot_text = dot_path.read_text(encoding="utf-8")
    if suffix == "dot":
        write_atomic(output, dot_text)  # its own OutputError names the file and the reason
    else:
        _render(dot_text, output)
    click.echo(f"agmem: drew {found['functions']} Functions of the graph one strong-mode step "
               f"of {config.workload} left to the collector ({found['garbage_objects']} "
               f"garbage objects) to {output}", err=True)


def _graph_in_fresh_interpreter(config: Any, scratch: Path, dot_path: Path) -> dict[str, int]:
    config_path = scratch / "config.json"
    config_path.write_text(json.dumps(to_plain(config)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "autograd_mem.cycles.graph", str(config_path), str(dot_path)],
        capture_output=True, text=True, check=False, cwd=os.getcwd(),
    )
    from autograd_mem.cycles.graph import NO_GRAPH

    if done.returncode == NO_GRAPH:
        raise UsageError(f"nothing to draw: two strong-mode steps of {config.workload} left no "
                         "graph to the collector (it builds none, or its graphs are still "
                         "reachable, as an rnn's hidden state keeps them until it is cut)")
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise RunFailedError(said[-1] if said else f"the step's interpreter ended with "
                             f"status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _render(dot_text: str, output: str) -> None:
    try:
        render_dot(dot_text, output)  # written beside and renamed over: never half a file
    except RuntimeError as exc:
        raise RunFailedError(str(exc)) from None
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
