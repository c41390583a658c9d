"""The engine is a layer of its own: it imports nothing from the rest of the package.

Read from the source with ``ast``, so an import inside a function counts too; and,
since the result schema reads the mode names from the engine, importing that
schema (or the pytest plugin) must still not import numpy.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import autograd_mem.engine

ENGINE_DIR = Path(autograd_mem.engine.__file__).parent
ENGINE_MODULES = sorted(ENGINE_DIR.rglob("*.py"))


def imported_modules(path: Path, package_dir: Path = ENGINE_DIR.parent) -> list[str]:
    """Absolute names of every module ``path`` imports, relative imports resolved."""
    package = [package_dir.name, *path.relative_to(package_dir).parent.parts]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
            else:
                names.append(node.module or "")
    return names


def test_the_engine_has_modules_to_check() -> None:
    assert {"core.py", "ops.py", "modes.py"} <= {p.name for p in ENGINE_MODULES}


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: p.name)
def test_engine_module_imports_nothing_from_the_rest_of_the_package(path: Path) -> None:
    outside = [
        name
        for name in imported_modules(path)
        if name.split(".")[0] == "autograd_mem"
        and not (name == "autograd_mem.engine" or name.startswith("autograd_mem.engine."))
    ]
    assert outside == []


def test_the_check_catches_an_import_leaving_the_engine(tmp_path: Path) -> None:
    # given a module under the engine with one absolute and one relative import outside it
    probe = tmp_path / "autograd_mem" / "engine" / "probe.py"
    probe.parent.mkdir(parents=True)
    source = "from autograd_mem.schema.result import X\nfrom .. import units\nfrom . import core\n"
    probe.write_text(source)
    # when its imports are read
    names = imported_modules(probe, tmp_path / "autograd_mem")
    # then both are seen for what they are, and the engine's own import is not flagged
    assert names == ["autograd_mem.schema.result", "autograd_mem", "autograd_mem.engine"]


def test_reading_results_or_loading_the_pytest_plugin_does_not_import_numpy() -> None:
    code = (
        "import sys\n"
        "import autograd_mem.schema.run, autograd_mem.pytest_plugin.plugin\n"
        "import autograd_mem.engine\n"
        "from autograd_mem.engine import REFERENCE_MODES\n"
        "assert autograd_mem.schema.config.REFERENCE_MODES is REFERENCE_MODES\n"
        "print('numpy' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"


def test_every_engine_export_resolves() -> None:
    engine = autograd_mem.engine
    assert sorted(engine.__all__) == sorted(["REFERENCE_MODES", *engine._EXPORTS])
    for name in engine.__all__:
        assert getattr(engine, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        engine.nonexistent  # noqa: B018


def _engine_import_graph() -> dict[str, set[str]]:
    """Each engine module's name and the engine modules it imports (the package itself aside)."""
    names = {
        ".".join(p.relative_to(ENGINE_DIR.parent.parent).with_suffix("").parts): p
        for p in ENGINE_MODULES
        if p.name != "__init__.py"
    }
    graph = {}
    for name, path in names.items():
        imported = set()
        for target in imported_modules(path):
            # ``from autograd_mem.engine import ops`` is read as the package; the
            # submodule's own name is what matters, so look at both spellings.
            imported.update(n for n in names if n == target or target.startswith(n + "."))
        graph[name] = imported
    for name, path in names.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "autograd_mem.engine":
                graph[name].update(
                    f"autograd_mem.engine.{alias.name}"
                    for alias in node.names
                    if f"autograd_mem.engine.{alias.name}" in names
                )
    return graph


def test_no_two_engine_modules_import_each_other_even_through_others() -> None:
    # given the engine's import graph
    graph = _engine_import_graph()
    # when every module's reach is followed
    circles = []
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            name = stack.pop()
            if name == start:
                circles.append(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(graph[name])
    # then none reaches back to itself; Variable and its ops meet by registration
    assert circles == []
    assert "autograd_mem.engine.ops" not in graph["autograd_mem.engine.variable"]
    assert "autograd_mem.engine.core" in {
        m for m in graph if "autograd_mem.engine.ops" in graph[m]
    }
