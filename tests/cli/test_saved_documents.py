"""Any saved file: `report`, `compare` and `check` render it or refuse it in one line (issue 17).

Hypothesis builds valid documents (a run, a comparison, a baseline, from figures it
draws), changes one thing in each (a field deleted, a value of another type, NaN or
infinity, a negative or huge number, a list cut short, an unknown generation, nesting
100,000 levels deep), and hands the file to the command that reads that kind. The
property: the command either renders it (exit 0) or exits 2 with one line that names
the file and the field it refused; never a traceback, never another exit code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reporters.factory import MiB, make_measurement

from autograd_mem.analysis.compare import compare, comparison_to_dict
from autograd_mem.schema import baseline as baseline_document
from autograd_mem.schema.run import measurement_to_dict

DEEP = "__deep__"  # stands for a value nested 100,000 levels deep, spliced into the text
DELETE = object()

# One change each: what a hand edit, a bad merge or a hostile file can do to a value.
MUTATIONS: dict[str, Callable[[Any], Any]] = {
    "delete": lambda v: DELETE,
    "nan": lambda v: float("nan"),
    "infinity": lambda v: float("-inf"),
    "negative": lambda v: -1,
    "huge": lambda v: 10**30,
    "fraction": lambda v: 0.5,
    "text": lambda v: "x",
    "null": lambda v: None,
    "true": lambda v: True,
    "object": lambda v: {"a": 1},
    "list": lambda v: [1, 2],
    "cut short": lambda v: v[:-1] if isinstance(v, list) and v else [],
    "unknown generation": lambda v: "3" if isinstance(v, str) else 7,
    "deep": lambda v: DEEP,
}


@st.composite
def measurements(draw: st.DrawFn, mode: str | None = None) -> Any:
    repeat = draw(st.integers(1, 3))
    return make_measurement(
        mode or draw(st.sampled_from(["strong", "weak"])),
        peak_growth_bytes=draw(st.lists(st.integers(0, 64 * MiB), min_size=repeat,
                                        max_size=repeat)),
        collected=draw(st.integers(0, 50_000)),
        iterations=draw(st.integers(2, 300)),
        explain=draw(st.booleans()),
    )


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(kind, document): a valid document of one of the kinds agmem reads back."""
    kind = draw(st.sampled_from(["run", "comparison", "baseline"]))
    if kind == "run":
        return kind, measurement_to_dict(draw(measurements()))
    if kind == "comparison":
        pair = [draw(measurements("strong")), draw(measurements("weak"))]
        return kind, comparison_to_dict(compare(pair))
    measured = draw(measurements())
    baseline = baseline_document.from_measurement(measured, created_at="2026-12-08T00:00:00+00:00")
    return kind, baseline_document.to_dict(baseline)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the document (three items of each list at most)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):
            found += _paths(value, (*prefix, i))
    return found


def _mutated(document: dict[str, Any], path: tuple[Any, ...], change: str) -> str:
    """The document's text with the value at ``path`` changed."""
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    new = MUTATIONS[change](parent[path[-1]])
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    text = json.dumps(document)  # NaN and Infinity as Python's json writes them
    return text.replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000)


def _command(kind: str, path: Path, tmp_path: Path) -> list[str]:
    if kind == "baseline":
        return ["check", "--baseline", str(path), "--quiet"]
    if kind == "run":  # a saved run is read by report and by compare alike
        other = tmp_path / "other.json"
        other.write_text(json.dumps(measurement_to_dict(make_measurement("weak"))))
        return ["compare", str(path), str(other)]
    return ["report", str(path)]


# Deterministic in CI (the same 600 documents each run); AGMEM_FUZZ_EXAMPLES=N explores N
# new ones, at random, as was done before each stop.
EXPLORE = int(os.environ.get("AGMEM_FUZZ_EXAMPLES", "0"))


@settings(max_examples=EXPLORE or 600, derandomize=not EXPLORE, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(documents(), st.data())
def test_a_changed_document_renders_or_is_refused_in_one_line_naming_the_field(
    invoke: Callable[..., Any], fake_measure: Any, tmp_path: Path,
    kind_and_document: tuple[str, dict[str, Any]], data: st.DataObject,
) -> None:
    kind, document = kind_and_document
    path = data.draw(st.sampled_from(_paths(document)), label="path")
    change = data.draw(st.sampled_from(sorted(MUTATIONS)), label="change")
    saved = tmp_path / "saved.json"
    saved.write_text(_mutated(document, path, change))

    result = invoke(*_command(kind, saved, tmp_path))

    # (1 is check's verdict on a baseline it read: a rendered report)
    event(f"{kind} exit {result.exit_code}")
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 2:
        [line] = result.stderr.splitlines()
        assert line.startswith(f"agmem: error: {'baseline' if kind == 'baseline' else 'result'} "
                               f"{saved}")
        named = [str(step) for step in path if isinstance(step, str)]
        assert any(name in line for name in named) or "nested too deeply" in line, (path, line)
    else:
        assert result.stdout.strip(), "rendered nothing"


@pytest.mark.parametrize("kind", ["run", "comparison", "baseline"])
def test_every_valid_document_renders(invoke: Callable[..., Any], fake_measure: Any,
                                      tmp_path: Path, kind: str) -> None:
    # (the property above would hold if every file were refused: each kind renders intact)
    measured = [make_measurement("strong", explain=True), make_measurement("weak")]
    document = {
        "run": measurement_to_dict(measured[0]),
        "comparison": comparison_to_dict(compare(measured)),
        "baseline": baseline_document.to_dict(baseline_document.from_measurement(measured[0])),
    }[kind]
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(document))

    result = invoke(*_command(kind, saved, tmp_path))

    assert result.exit_code in (0, 1), result.stderr
    assert result.stdout.strip()
